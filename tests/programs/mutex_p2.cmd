run --procs=2 programs/mutex.gasm
