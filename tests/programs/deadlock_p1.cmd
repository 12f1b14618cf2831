run --procs=1 programs/deadlock.gasm
