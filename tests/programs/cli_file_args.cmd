tests/programs/args.gasm --procs=3 -x
