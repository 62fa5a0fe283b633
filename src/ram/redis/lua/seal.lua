-- Ends the filling of pack ARGV[1] by this mount (KEYS[2]: its unpublished slices; KEYS[3]:
-- the pack). The pack is stored again at its length (appending left it room to grow), and
-- collected if nothing names it. A pack this mount's list lost (a failover) is sealed all
-- the same: its hash names the mount. Returns the slices to delete.
local sid = ARGV[1]
local gc = {}
local listed = redis.call('SREM', KEYS[2], sid) == 1
if not is_pack(sid) then
  -- never filled
  if listed then
    redis.call('SADD', T .. ':gc', sid)
    gc[1] = sid
  end
  return gc
end
if redis.call('HGET', key('pk', sid), 'o') ~= KEYS[2] then return gc end
redis.call('HDEL', key('pk', sid), 'o')
local v = redis.call('GET', KEYS[3])
if v then redis.call('SET', KEYS[3], v) end
pack_check(sid, gc)
return gc
