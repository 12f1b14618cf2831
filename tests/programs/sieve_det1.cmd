run --sched=deterministic programs/sieve.gasm 25
