run --slice=5 programs/hello.gasm
