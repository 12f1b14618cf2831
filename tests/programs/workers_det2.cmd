run --sched=deterministic programs/workers.gasm
