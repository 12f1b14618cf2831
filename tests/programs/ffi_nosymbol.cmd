run tests/programs/ffi_nosymbol.gasm
