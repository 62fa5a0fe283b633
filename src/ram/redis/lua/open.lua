local f = redis.call('HMGET', key('i', ARGV[1]), 'n', 'o', 'v', 'ct', 'mt')
if not f[1] then fail('ENOENT') end
if tonumber(f[1]) == 0 and tonumber(f[2] or '0') <= 0 then fail('ENOENT') end
redis.call('HINCRBY', key('i', ARGV[1]), 'o', 1)
redis.call('HINCRBY', key('s', ARGV[2]), ARGV[1], 1)
-- Every change of the file's data counts up its version: what its pages are of (with the
-- ctime, which a mount of an earlier release moves without counting).
return (f[3] or '0') .. ':' .. (f[4] or f[5] or '')
