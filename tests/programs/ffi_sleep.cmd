run --procs=1 programs/ffi_sleep.gasm
