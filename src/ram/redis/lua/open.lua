local f = redis.call('HMGET', key('i', ARGV[1]), 'n', 'o', 'v', 'ct', 'mt', 'k', 's')
if not f[1] then fail('ENOENT') end
if tonumber(f[1]) == 0 and tonumber(f[2] or '0') <= 0 then fail('ENOENT') end
redis.call('HINCRBY', key('i', ARGV[1]), 'o', 1)
redis.call('HINCRBY', key('s', ARGV[2]), ARGV[1], 1)
-- Every change of the file's data counts up its version: what its pages are of (with the
-- ctime, which a mount of an earlier release moves without counting).
local version = (f[3] or '0') .. ':' .. (f[4] or f[5] or '')
-- A small file's bytes come along for an open that reads, unless the mount's pages are of
-- this version already.
local most = tonumber(ARGV[3] or '0')
local size = tonumber(f[7] or '0')
if most > 0 and f[6] == 'f' and size > 0 and size <= most and version ~= ARGV[4] then
  return {version, size, span_bytes(chunks_get(ARGV[1], {'0'})[1], 0, size)}
end
return version
