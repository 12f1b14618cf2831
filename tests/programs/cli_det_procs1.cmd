run --procs=1 --sched=deterministic programs/hello.gasm
