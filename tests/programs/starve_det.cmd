run --sched=deterministic tests/programs/starve.gasm -v
