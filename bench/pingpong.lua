-- pingpong.lua N: the Lua 5.4 twin of bench/pingpong.gasm, with a coroutine
-- for the echo goroutine: resume hands it v, its yield hands back v + 1.
local n = tonumber(arg[1]) or 1000000
local echo = coroutine.wrap(function(v)
  while true do
    v = coroutine.yield(v + 1)
  end
end)
local v = 0
for _ = 1, n do
  v = echo(v)
end
print(v)
