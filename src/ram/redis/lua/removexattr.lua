local ino, name = ARGV[1], ARGV[2]
if redis.call('HEXISTS', key('i', ino), 'k') == 0 then fail('ENOENT') end
if redis.call('HEXISTS', key('x', ino), name) == 0 then fail('ENODATA') end
local freed = #name + redis.call('HSTRLEN', key('x', ino), name)
redis.call('HDEL', key('x', ino), name)
charge(ino, -freed, 'xb')
redis.call('HSET', key('i', ino), 'ct', ARGV[3])
return 1
