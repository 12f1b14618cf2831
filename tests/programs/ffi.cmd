run programs/ffi.gasm
