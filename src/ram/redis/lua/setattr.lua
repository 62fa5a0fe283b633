local ino, now = ARGV[1], ARGV[2]
local f = redis.call('HMGET', key('i', ino), 'k', 's')
if not f[1] then fail('ENOENT') end
if ARGV[3] ~= '' then fail(ARGV[3]) end
local before = f[1] == 'f' and version(ino) or ''
local gc, cut = {}, {}
if ARGV[7] ~= '' then
  if f[1] == 'd' then fail('EISDIR') end
  if f[1] ~= 'f' then fail('EINVAL') end
  if dgt(f[2], ARGV[7]) then
    charge(ino, -cut_from(ino, tonumber(ARGV[8]), tonumber(ARGV[9]), gc, cut), 'a')
  end
  redis.call('HSET', key('i', ino), 's', ARGV[7], 'mt', now)
  redis.call('HINCRBY', key('i', ino), 'v', 1)
end
set_attrs(ino, f[1], now, ARGV)
return {attr(ino), gc, cut, before}
