run --max-stack=1M tests/programs/overflow.gasm
