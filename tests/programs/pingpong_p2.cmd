run --procs=2 programs/pingpong.gasm 5000
