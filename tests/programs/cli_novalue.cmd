run --gc-stats=1 programs/hello.gasm
