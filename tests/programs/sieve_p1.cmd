run --procs=1 programs/sieve.gasm 25
