run --proc=2 programs/hello.gasm
