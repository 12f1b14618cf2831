run --gc-stress --procs=2 programs/binarytrees.gasm 8
