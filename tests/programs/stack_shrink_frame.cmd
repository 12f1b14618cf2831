run tests/programs/stack_shrink_frame.gasm
