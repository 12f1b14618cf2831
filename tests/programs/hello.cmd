run programs/hello.gasm
