run --gc-stress --procs=2 programs/pingpong.gasm 1000
