run --procs=4 programs/mutex.gasm
