local ino, now = ARGV[1], ARGV[2]
local f = redis.call('HMGET', key('i', ino), 'k', 's')
if not f[1] then fail('ENOENT') end
if ARGV[3] ~= '' then fail(ARGV[3]) end
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
local set = {}
local fields = {[4] = 'm', [5] = 'u', [6] = 'g', [10] = 'at', [11] = 'mt'}
for i, name in pairs(fields) do
  if ARGV[i] ~= '' then set[#set + 1] = name; set[#set + 1] = ARGV[i] end
end
-- Privileges a write, truncate or chown drops: setuid, and setgid with group execute
-- (or without it: '2', the caller is outside the file's group).
if ARGV[13] ~= '' and f[1] ~= 'd' then
  local m = tonumber(ARGV[4] ~= '' and ARGV[4] or redis.call('HGET', key('i', ino), 'm'))
  local k = bit.band(m, bit.bnot(2048))
  if bit.band(k, 1032) == 1032 or ARGV[13] == '2' then k = bit.band(k, bit.bnot(1024)) end
  if k ~= m then set[#set + 1] = 'm'; set[#set + 1] = tostring(k) end
end
set[#set + 1] = 'ct'
if ARGV[12] ~= '' then set[#set + 1] = ARGV[12] else set[#set + 1] = now end
-- the birth time left out while it equaled atime (see `touch`)
if ARGV[10] ~= '' and redis.call('HEXISTS', key('i', ino), 'bt') == 0 then
  set[#set + 1] = 'bt'
  set[#set + 1] = redis.call('HGET', key('i', ino), 'at')
end
redis.call('HSET', key('i', ino), unpack(set))
-- left out while it equals mtime (see `touch`)
local t = redis.call('HMGET', key('i', ino), 'ct', 'mt')
if t[1] == t[2] then redis.call('HDEL', key('i', ino), 'ct') end
return {attr(ino), gc, cut}
