-- One step of deleting the cookie-sorted sets an older format kept per directory (see
-- init.lua): the next cursor, '0' once none is left. The sets are in this script's slot.
if redis.call('HEXISTS', META, 'dc_left') == 0 then return '0' end
-- SCAN's answer decides what is written: servers before 7 must replicate the effects
if redis.replicate_commands then redis.replicate_commands() end
local pattern = string.gsub(T, '[%*%?%[%]\\]', '\\%0') .. ':dc:*'
local r = redis.call('SCAN', ARGV[1], 'MATCH', pattern, 'COUNT', 1000)
for _, k in ipairs(r[2]) do redis.call('UNLINK', k) end
if r[1] == '0' then redis.call('HDEL', META, 'dc_left') end
return r[1]
