run --gc-stress --procs=1 programs/fib.gasm 20
