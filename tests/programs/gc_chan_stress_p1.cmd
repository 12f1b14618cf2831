run --gc-stress --procs=1 programs/gcstress_chan.gasm 1000
