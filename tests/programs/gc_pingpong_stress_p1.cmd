run --gc-stress --procs=1 programs/pingpong.gasm 1000
