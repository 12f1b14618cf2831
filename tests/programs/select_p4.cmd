run --procs=4 programs/select.gasm
