run --max-stack=1K tests/programs/go_frame_limit.gasm
