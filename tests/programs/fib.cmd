run programs/fib.gasm 20
