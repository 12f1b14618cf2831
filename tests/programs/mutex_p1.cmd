run --procs=1 programs/mutex.gasm
