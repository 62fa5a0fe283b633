-- ARGV[1]: the session; ARGV[2..]: inodes it gives an open (or kernel hold) of back, one
-- each (an inode may come more than once)
local sid = ARGV[1]
local gc = {}
for a = 2, #ARGV do
  local ino = ARGV[a]
  if redis.call('HINCRBY', key('s', sid), ino, -1) <= 0 then
    redis.call('HDEL', key('s', sid), ino)
  end
  local f = redis.call('HMGET', key('i', ino), 'n', 'o')
  if f[1] then
    local o = tonumber(f[2] or '0') - 1
    if o > 0 then redis.call('HSET', key('i', ino), 'o', o) else redis.call('HDEL', key('i', ino), 'o') end
    if tonumber(f[1]) == 0 and o <= 0 then reap(ino, gc) end
  end
end
return gc
