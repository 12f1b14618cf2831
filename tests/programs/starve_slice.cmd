run --sched=deterministic --slice=1000 tests/programs/starve.gasm -v
