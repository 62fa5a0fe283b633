local gc, dead = {}, 0
local sids = redis.call('SMEMBERS', T .. ':sessions')
for _, sid in ipairs(sids) do
  if sid ~= ARGV[1] and redis.call('EXISTS', key('alive', sid)) == 0 then
    local h = redis.call('HGETALL', key('s', sid))
    for i = 1, #h, 2 do
      local f = redis.call('HMGET', key('i', h[i]), 'n', 'o')
      if f[1] then
        local o = tonumber(f[2] or '0') - tonumber(h[i + 1])
        if o > 0 then
          redis.call('HSET', key('i', h[i]), 'o', o)
        else
          redis.call('HDEL', key('i', h[i]), 'o')
        end
        if tonumber(f[1]) == 0 and o <= 0 then reap(h[i], gc) end
      end
    end
    -- slices it sent and never published; a pack it was filling is filled no more (it
    -- goes to be packed again, at its length, unless nothing names it)
    local w = redis.call('SMEMBERS', key('w', sid))
    for _, s in ipairs(w) do
      if is_pack(s) then
        redis.call('HDEL', key('pk', s), 'o')
        pack_check(s, gc)
        if is_pack(s) then redis.call('SADD', T .. ':sparse', s) end
      else
        redis.call('SADD', T .. ':gc', s)
        gc[#gc + 1] = s
      end
    end
    redis.call('DEL', key('s', sid), key('w', sid))
    redis.call('SREM', T .. ':sessions', sid)
    dead = dead + 1
  end
end
return {dead, gc}
