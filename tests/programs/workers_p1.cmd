run --procs=1 programs/workers.gasm
