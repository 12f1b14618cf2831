run --sched=deterministic --schedlog programs/pingpong.gasm 3
