local p1, name, p2, newname, mode, now, sid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local k1 = redis.call('HGET', key('i', p1), 'k')
if not k1 then fail('ENOENT') end
local k2, n2 = unpack(redis.call('HMGET', key('i', p2), 'k', 'n'))
if not k2 then fail('ENOENT') end
if tonumber(n2) == 0 then fail('ENOENT') end
if k1 ~= 'd' then fail('ENOTDIR') end
local se = redis.call('HGET', key('d', p1), name)
if not se then fail('ENOENT') end
if k2 ~= 'd' then fail('ENOTDIR') end
local de = redis.call('HGET', key('d', p2), newname)
local sino, sk = entry(se)
local dino, dk
if de then dino, dk = entry(de) end
if dino == sino then return {0} end
if mode == 'x' and not de then fail('ENOENT') end
if mode == 'n' and de then fail('EEXIST') end
-- is `start` the directory `anc` or inside it?
local function inside(anc, start)
  local cur = start
  for _ = 1, 100000 do
    if cur == anc then return true end
    local up = redis.call('HGET', key('i', cur), 'p')
    if not up or up == cur then return false end
    cur = up
  end
  return false
end
if sk == 'd' and p1 ~= p2 and inside(sino, p2) then fail('EINVAL') end
if mode == 'x' and dk == 'd' and p1 ~= p2 and inside(dino, p1) then fail('EINVAL') end
if mode ~= 'x' and de then
  if sk == 'd' and dk ~= 'd' then fail('ENOTDIR') end
  if sk ~= 'd' and dk == 'd' then fail('EISDIR') end
  if dk == 'd' and redis.call('HLEN', key('d', dino)) > 0 then fail('ENOTEMPTY') end
end
local held = 0
if mode == 'x' then
  if p1 == p2 then
    repoint(p1, name, se, dino, dk)
    repoint(p2, newname, de, sino, sk)
  else
    insert(p1, name, dino, dk)
    insert(p2, newname, sino, sk)
  end
  if p1 ~= p2 and (sk == 'd') ~= (dk == 'd') then
    local from, to = p1, p2
    if dk == 'd' then from, to = p2, p1 end
    redis.call('HINCRBY', key('i', from), 'n', -1)
    redis.call('HINCRBY', key('i', to), 'n', 1)
  end
  redis.call('HSET', key('i', dino), 'ct', now)
  if dk == 'd' then redis.call('HSET', key('i', dino), 'p', p1) end
else
  if de then
    local n = 0
    if dk == 'd' then
      redis.call('HINCRBY', key('i', p2), 'n', -1)
    else
      n = tonumber(redis.call('HGET', key('i', dino), 'n') or '1') - 1
    end
    redis.call('HSET', key('i', dino), 'n', n, 'ct', now)
    if n <= 0 then
      hold(dino, sid)
      held = dino
    end
  end
  redis.call('HDEL', key('d', p1), name)
  if p1 == p2 then
    repoint(p2, newname, se, sino, sk)
  else
    insert(p2, newname, sino, sk)
  end
  if sk == 'd' and p1 ~= p2 then
    redis.call('HINCRBY', key('i', p1), 'n', -1)
    redis.call('HINCRBY', key('i', p2), 'n', 1)
  end
end
redis.call('HSET', key('i', sino), 'ct', now)
if sk == 'd' then redis.call('HSET', key('i', sino), 'p', p2) end
touch(p1, now)
if p2 ~= p1 then touch(p2, now) end
-- What was unlinked for good, then the parents as they are now, then the inodes moved or
-- replaced (whose ctime, and for a directory its parent, changed).
local a1 = attr(p1)
local a2 = a1
if p2 ~= p1 then a2 = attr(p2) end
return {held, a1, a2, sino, dino or 0}
