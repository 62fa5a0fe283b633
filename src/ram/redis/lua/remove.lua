local p, name, isdir, now, sid = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4], ARGV[5]
local pk = redis.call('HMGET', key('i', p), 'k')
if not pk[1] then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
local e = redis.call('HGET', key('d', p), name)
if not e then fail('ENOENT') end
local ino = entry(e)
local c = redis.call('HMGET', key('i', ino), 'k', 'n')
if not c[1] then fail('ENOENT') end
if not isdir and c[1] == 'd' then fail('EISDIR') end
if isdir and c[1] ~= 'd' then fail('ENOTDIR') end
if isdir and redis.call('HLEN', key('d', ino)) > 0 then fail('ENOTEMPTY') end
redis.call('HDEL', key('d', p), name)
if isdir then redis.call('HINCRBY', key('i', p), 'n', -1) end
touch(p, now)
local n = 0
if not isdir then n = tonumber(c[2]) - 1 end
redis.call('HSET', key('i', ino), 'n', n, 'ct', now)
local held = 0
if n <= 0 then
  hold(ino, sid)
  held = ino
end
-- What was unlinked for good, the parent as it is now, the inode removed.
return {held, attr(p), ino}
