programs/pingpong.gasm 50
