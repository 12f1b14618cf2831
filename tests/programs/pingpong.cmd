run programs/pingpong.gasm 20000
