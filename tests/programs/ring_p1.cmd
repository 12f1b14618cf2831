run --procs=1 programs/ring.gasm
