run --procs 2 --max-stack 1M programs/hello.gasm
