run --procs=2 programs/gcstress_chan.gasm
