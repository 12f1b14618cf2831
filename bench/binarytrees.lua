-- binarytrees.lua DEPTH: the twin of bench/binarytrees.gasm (same algorithm,
-- same output).  A node is a table {left, right}; a leaf is an empty table,
-- as in the benchmarks game's Lua programs (greenvm's leaf is [nil, nil]).
local function bottomup(d)
  if d == 0 then return {} end
  d = d - 1
  return { bottomup(d), bottomup(d) }
end

local function check(t)
  if t[1] == nil then return 1 end
  return 1 + check(t[1]) + check(t[2])
end

local n = tonumber(arg and arg[1]) or 10
local maxd = n < 6 and 6 or n
local stretch = maxd + 1
io.write("stretch tree of depth ", stretch, "\t check: ", check(bottomup(stretch)), "\n")
local long = bottomup(maxd)
for d = 4, maxd, 2 do
  local iters = 1 << (maxd - d + 4)
  local chk = 0
  for _ = 1, iters do
    chk = chk + check(bottomup(d))
  end
  io.write(iters, "\t trees of depth ", d, "\t check: ", chk, "\n")
end
io.write("long lived tree of depth ", maxd, "\t check: ", check(long), "\n")
