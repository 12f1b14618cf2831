run programs/panic.gasm
