run --sched=deterministic programs/select.gasm
