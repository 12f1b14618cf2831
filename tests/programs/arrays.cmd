run programs/arrays.gasm
