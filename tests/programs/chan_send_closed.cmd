run tests/programs/chan_send_closed.gasm
