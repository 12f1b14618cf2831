run --procs=4 programs/pingpong.gasm 5000
