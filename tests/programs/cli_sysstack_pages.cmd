run --sysstack=5000 programs/hello.gasm
