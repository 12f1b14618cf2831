run --trace programs/hello.gasm
