run --procs=1 programs/pingpong.gasm 5000
