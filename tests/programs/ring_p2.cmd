run --procs=2 programs/ring.gasm
