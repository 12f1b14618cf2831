run tests/programs/does-not-exist.gasm
