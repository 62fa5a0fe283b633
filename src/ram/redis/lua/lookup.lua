local p = redis.call('HMGET', key('i', ARGV[1]), 'k')
if not p[1] then fail('ENOENT') end
if p[1] ~= 'd' then fail('ENOTDIR') end
local e = redis.call('HGET', key('d', ARGV[1]), ARGV[2])
if not e then fail('ENOENT') end
local ino = entry(e)
local a = attr(ino)
if #a == 0 then fail('ENOENT') end
return a
