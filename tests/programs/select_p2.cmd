run --procs=2 programs/select.gasm
