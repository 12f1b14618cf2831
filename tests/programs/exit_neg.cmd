run tests/programs/exit_arg.gasm -1
