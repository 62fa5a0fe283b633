-- Clones the tree at ARGV[1] as entry ARGV[3] of directory ARGV[2] (ARGV[4]: now, ARGV[5]:
-- limit). Every inode is new; files name the same slices as the originals, each slice's
-- extra names counted in `rc` (a pack's in its own hash) so that none is freed while a chunk
-- still names it. Modes,
-- owners, times (ctime and birth: now), xattrs and hard links within the tree are kept.
alive()
-- Every live mount of the prefix must count shared slices: one of a build from before
-- clones (its heartbeat says 1, not 'rc') would free a slice a clone still names.
for _, sid in ipairs(redis.call('SMEMBERS', T .. ':sessions')) do
  local v = redis.call('GET', key('alive', sid))
  if v and v ~= 'rc' then fail('EOPNOTSUPP') end
end
local src, p, name, now, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local pk = redis.call('HMGET', key('i', p), 'k', 'n')
if not pk[1] then fail('ENOENT') end
if tonumber(pk[2]) == 0 then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
if redis.call('HEXISTS', key('d', p), name) == 1 then fail('EEXIST') end
-- The tree, parents first; a file met under several names is one inode of that many links.
local order, links, kinds, parent_of = {}, {}, {}, {}
local todo = {src}
local bytes, dirs = 0, 0
while #todo > 0 do
  local ino = table.remove(todo)
  if links[ino] then
    links[ino] = links[ino] + 1
  else
    local f = redis.call('HMGET', key('i', ino), 'k', 'n', 'a', 'xb', 's')
    if not f[1] or tonumber(f[2]) == 0 then fail('ENOENT') end
    links[ino] = 1
    kinds[ino] = f[1]
    order[#order + 1] = ino
    bytes = bytes + tonumber(f[3] or '0') + tonumber(f[4] or '0')
    if f[1] == 'l' then bytes = bytes + tonumber(f[5] or '0') end
    if f[1] == 'd' then
      dirs = dirs + 1
      local names = names_of(ino)
      for j = #names, 1, -1 do
        local child = entry(redis.call('HGET', key('d', ino), names[j]))
        if child then
          todo[#todo + 1] = child
          if kinds[child] == nil then parent_of[child] = ino end
        end
      end
    end
  end
end
room(bytes + #order * INODE_COST, limit)
local base = redis.call('HINCRBY', META, 'next_ino', #order) - #order
local new = {}
for j = 1, #order do new[order[j]] = tostring(base + j) end
-- a hash copied to another key, in batches (a script's call takes a bounded argument list)
local function hcopy(from, to)
  local all = redis.call('HGETALL', from)
  local i = 1
  while i <= #all do
    local j = math.min(i + 999, #all)
    redis.call('HSET', to, unpack(all, i, j))
    i = j + 1
  end
  return all
end
for j = 1, #order do
  local old = order[j]
  local ino = new[old]
  hcopy(key('i', old), key('i', ino))
  local f = {'ct', now, 'bt', now, 'n', links[old]}
  if kinds[old] == 'd' then
    f[6] = 2
    f[#f + 1] = 'p'; f[#f + 1] = (old == src) and p or new[parent_of[old]]
    f[#f + 1] = 'c'; f[#f + 1] = 3
  end
  redis.call('HSET', key('i', ino), unpack(f))
  redis.call('HDEL', key('i', ino), 'v', 'o')
  hcopy(key('x', old), key('x', ino))
  hcopy(key('l', old), key('l', ino))
  local chunks = chunks_all(old)
  for i = 2, #chunks, 2 do
    local _, list = chunk_parse(chunks[i])
    local once = {}
    for s = 1, #list do
      local sid = list[s][1]
      if not once[sid] then
        once[sid] = true
        if chunks[i - 1] == '0' and is_pack(sid) then
          local b = named_bytes(list, sid)
          redis.call('HINCRBY', key('pk', sid), 'lv', b)
          redis.call('HSET', key('pk', sid), ino, b)
        else
          redis.call('HINCRBY', T .. ':rc', sid, 1)
        end
      end
    end
    -- slices overlays hide: the entry copied names them too, until it is next stored
    for s = 1, #(list.hidden or {}) do redis.call('HINCRBY', T .. ':rc', list.hidden[s], 1) end
  end
end
-- Directories' entries, in their order, with the new numbers.
for j = 1, #order do
  local old = order[j]
  if kinds[old] == 'd' then
    local names = names_of(old)
    for i = 1, #names do
      local e = redis.call('HGET', key('d', old), names[i])
      local child, k = entry(e)
      insert(new[old], names[i], new[child], k)
      if k == 'd' then redis.call('HINCRBY', key('i', new[old]), 'n', 1) end
    end
  end
end
if bytes > 0 then redis.call('HINCRBY', META, 'used', bytes) end
redis.call('HINCRBY', META, 'mb', #order * INODE_COST)
redis.call('HINCRBY', META, 'dirs', dirs)
redis.call('HINCRBY', META, 'files', #order - dirs)
local root = new[src]
insert(p, name, root, kinds[src])
if kinds[src] == 'd' then redis.call('HINCRBY', key('i', p), 'n', 1) end
touch(p, now)
return {attr(root), attr(p)}
