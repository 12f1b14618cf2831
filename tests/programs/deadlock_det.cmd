run --sched=deterministic programs/deadlock.gasm
