run --procs=2 programs/spawn_test.gasm
