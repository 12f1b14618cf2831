run tests/programs/select_fair.gasm
