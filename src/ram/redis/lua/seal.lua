-- Ends the filling of pack ARGV[1] by this mount (KEYS[2]: its unpublished slices; KEYS[3]:
-- the pack). The pack is stored again at its length (appending left it room to grow), and
-- collected if nothing names it. Returns the slices to delete.
local sid = ARGV[1]
local gc = {}
if redis.call('SREM', KEYS[2], sid) == 0 then return gc end
if not is_pack(sid) then
  -- never filled
  redis.call('SADD', T .. ':gc', sid)
  return {sid}
end
redis.call('HDEL', key('pk', sid), 'o')
local v = redis.call('GET', KEYS[3])
if v then redis.call('SET', KEYS[3], v) end
pack_check(sid, gc)
return gc
