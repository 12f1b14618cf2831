run --procs
