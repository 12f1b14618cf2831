run tests/programs/ffi_badarg.gasm
