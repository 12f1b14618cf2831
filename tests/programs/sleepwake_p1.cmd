run --procs=1 tests/programs/sleepwake.gasm
