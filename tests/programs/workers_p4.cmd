run --procs=4 programs/workers.gasm
