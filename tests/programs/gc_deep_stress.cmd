run --gc-stress --procs=2 tests/programs/gc_deep.gasm
