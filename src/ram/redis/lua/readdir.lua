local d = redis.call('HMGET', key('i', ARGV[1]), 'k', 'p')
if not d[1] then fail('ENOENT') end
if d[1] ~= 'd' then fail('ENOTDIR') end
local out = {d[2]}
if tonumber(ARGV[3]) > 0 then
  local names = redis.call('ZRANGEBYSCORE', key('dc', ARGV[1]), '(' .. ARGV[2], '+inf',
    'LIMIT', 0, ARGV[3])
  if #names > 0 then
    local es = hmget(key('d', ARGV[1]), names)
    for i = 1, #names do
      if es[i] then
        out[#out + 1] = names[i]
        out[#out + 1] = es[i]
      end
    end
  end
end
return out
