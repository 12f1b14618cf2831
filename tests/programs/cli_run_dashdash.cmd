run --procs=1 -- tests/programs/args.gasm -y
