run --gc-stress --procs=2 programs/gcstress_chan.gasm 2000
