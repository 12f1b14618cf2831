run --max-stack=12Q programs/hello.gasm
