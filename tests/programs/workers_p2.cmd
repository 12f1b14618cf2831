run --procs=2 programs/workers.gasm
