run --gc-stress --procs=1 programs/arrays.gasm
