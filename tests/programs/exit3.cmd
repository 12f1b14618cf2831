run tests/programs/exit3.gasm
