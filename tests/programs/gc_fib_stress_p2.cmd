run --gc-stress --procs=2 programs/fib.gasm 20
