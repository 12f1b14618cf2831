run --gc-stress --procs=2 programs/arrays.gasm
