run tests/programs/stack_release.gasm
