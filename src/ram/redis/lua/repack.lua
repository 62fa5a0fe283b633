-- Packs the bytes still named in the sparse packs ARGV[2..] again, into the new pack ARGV[1]
-- (KEYS[3]; this mount's: KEYS[2] lists it): each chunk naming an old pack names the new
-- one instead, at the same bytes, and the old pack, unnamed now, is collected. Bytes two
-- names share (a clone's) are copied once, so a pack goes alone into the new one whatever
-- its counts (clones may count its bytes many times); another that would take the new one
-- past its limits stays listed, for a later round. Returns the slices to delete.
local new = ARGV[1]
if redis.call('SREM', KEYS[2], new) == 0 then return {} end
local npk = key('pk', new)
local gc, lv, names = {}, 0, 0
for j = 2, #ARGV do
  local old = ARGV[j]
  local opk = key('pk', old)
  local f = redis.call('HMGET', opk, 'lv', 'o')
  local h = f[1] and not f[2] and redis.call('HGETALL', opk) or {}
  if not f[1] or f[2] then
    -- gone meanwhile, or filled still (listed by mistake)
    redis.call('SREM', T .. ':sparse', old)
  elseif names == 0
      or (lv + tonumber(f[1]) <= PACK_MAX and names + #h / 2 - 1 <= PACK_NAMES) then
    local okey = slice_key(old)
    local copied = {}
    for i = 1, #h, 2 do
      local ino = h[i]
      if ino ~= 'lv' and ino ~= 'o' then
        local len, list = chunk_parse(chunks_get(ino, {'0'})[1])
        local moved = 0
        for s = 1, #list do
          local x = list[s]
          if x[1] == old then
            local span = x[4] .. ':' .. x[3]
            local at = copied[span]
            if not at then
              local b = redis.call('GETRANGE', okey, x[4], x[4] + x[3] - 1)
              at = redis.call('APPEND', KEYS[3], b) - #b
              copied[span] = at
            end
            list[s] = {new, x[2], x[3], at}
            moved = moved + x[3]
          end
        end
        if moved > 0 then
          chunk_set(ino, '0', chunk_encode(len, list))
          redis.call('HINCRBY', npk, ino, moved)
          lv = lv + moved
          names = names + 1
        end
      end
    end
    redis.call('DEL', opk)
    redis.call('HDEL', T .. ':rc', old)
    redis.call('SREM', T .. ':sparse', old)
    redis.call('SADD', T .. ':gc', old)
    gc[#gc + 1] = old
  end
end
if lv == 0 then
  redis.call('DEL', npk)
  redis.call('SADD', T .. ':gc', new)
  gc[#gc + 1] = new
else
  redis.call('HSET', npk, 'lv', lv)
  redis.call('HSET', T .. ':rc', new, PACK_RC)
  redis.call('SET', KEYS[3], redis.call('GET', KEYS[3]))
end
return gc
