run tests/programs/chan_close_twice.gasm
