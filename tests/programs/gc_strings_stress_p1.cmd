run --gc-stress --procs=1 programs/strings.gasm
