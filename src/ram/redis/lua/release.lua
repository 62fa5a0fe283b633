local ino = ARGV[1]
local gc = {}
if redis.call('HINCRBY', key('s', ARGV[2]), ino, -1) <= 0 then
  redis.call('HDEL', key('s', ARGV[2]), ino)
end
local f = redis.call('HMGET', key('i', ino), 'n', 'o')
if not f[1] then return gc end
local o = tonumber(f[2] or '0') - 1
if o > 0 then redis.call('HSET', key('i', ino), 'o', o) else redis.call('HDEL', key('i', ino), 'o') end
if tonumber(f[1]) == 0 and o <= 0 then reap(ino, gc) end
return gc
