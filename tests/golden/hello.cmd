programs/hello.gasm
