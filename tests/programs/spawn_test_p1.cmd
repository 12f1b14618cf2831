run --procs=1 programs/spawn_test.gasm
