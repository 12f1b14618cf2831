run tests/programs/mismatch.gasm
