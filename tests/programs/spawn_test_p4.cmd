run --procs=4 programs/spawn_test.gasm
