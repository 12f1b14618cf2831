run --sched=deterministic --procs=2 programs/hello.gasm
