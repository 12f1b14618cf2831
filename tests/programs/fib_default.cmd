run programs/fib.gasm
