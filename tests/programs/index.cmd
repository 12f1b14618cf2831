run tests/programs/index.gasm
