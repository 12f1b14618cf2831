run tests/programs/chan_close.gasm
