run --procs=2 programs/sieve.gasm 25
