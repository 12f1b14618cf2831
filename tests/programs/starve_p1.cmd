run --procs=1 tests/programs/starve.gasm
