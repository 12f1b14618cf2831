run --procs=1 tests/programs/yield_many.gasm
