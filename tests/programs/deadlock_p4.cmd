run --procs=4 programs/deadlock.gasm
