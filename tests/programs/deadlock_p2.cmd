run --procs=2 programs/deadlock.gasm
