run --procs=4 programs/sieve.gasm 25
