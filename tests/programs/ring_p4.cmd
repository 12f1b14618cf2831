run --procs=4 programs/ring.gasm
