local ino, p, name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local nk = redis.call('HMGET', key('i', ino), 'k', 'n')
if not nk[1] then fail('ENOENT') end
local pk = redis.call('HMGET', key('i', p), 'k', 'n')
if not pk[1] then fail('ENOENT') end
if tonumber(pk[2]) == 0 then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
if redis.call('HEXISTS', key('d', p), name) == 1 then fail('EEXIST') end
if ino == p then fail('EINVAL') end
if nk[1] == 'd' then fail('EPERM') end
if tonumber(nk[2]) == 0 then fail('ENOENT') end
if tonumber(nk[2]) >= 65000 then fail('EMLINK') end
redis.call('HINCRBY', key('i', ino), 'n', 1)
redis.call('HSET', key('i', ino), 'ct', now)
insert(p, name, ino, nk[1])
touch(p, now)
return {attr(ino), attr(p)}
