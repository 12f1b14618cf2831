programs/deep_stack.gasm
