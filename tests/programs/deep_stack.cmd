run programs/deep_stack.gasm
