run --procs=2 --gc-stress=10 tests/programs/ffi_eintr.gasm
