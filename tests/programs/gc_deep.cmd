run tests/programs/gc_deep.gasm
