local ino, name, value, how = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', key('i', ino), 'k') == 0 then fail('ENOENT') end
local had = redis.call('HEXISTS', key('x', ino), name) == 1
if how == 'c' and had then fail('EEXIST') end
if how == 'r' and not had then fail('ENODATA') end
local old = 0
if had then
  old = #name + redis.call('HSTRLEN', key('x', ino), name)
else
  -- all names must fit in one listxattr answer (XATTR_LIST_MAX)
  local listed = #name + 1
  local names = redis.call('HKEYS', key('x', ino))
  for j = 1, #names do listed = listed + #names[j] + 1 end
  if listed > 65536 then fail('ENOSPC') end
end
local delta = #name + #value - old
room(delta, ARGV[6])
redis.call('HSET', key('x', ino), name, value)
charge(ino, delta, 'xb')
redis.call('HSET', key('i', ino), 'ct', ARGV[5])
return 1
