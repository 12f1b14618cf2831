run --procs=1 programs/select.gasm
