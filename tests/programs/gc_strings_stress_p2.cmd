run --gc-stress --procs=2 programs/strings.gasm
