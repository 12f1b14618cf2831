run --sysstack=4K programs/hello.gasm
