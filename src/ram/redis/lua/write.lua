-- KEYS[2]: this mount's set of slices sent and not yet published (`{P}:w:<session>`); a
-- slice no longer in it was given up (`abandon.lua`) and is not published.
-- KEYS[3..]: on one server, the slice strings this write sent just before (they must exist:
-- a string Redis refused for memory is not published). On a cluster they live in other
-- slots; the mount saw them stored before it runs this.
-- ARGV: ino, now, limit, error after the existence check (or ''), new end ('' for an empty
-- write), pack ('' for none), the pieces' bytes for the pack, then per piece: chunk index,
-- first byte, end byte (within the chunk), slice id; last, for a setattr that came while
-- the writes were kept back, what it sets (setattr.lua's ARGV 4, 5, 6, 10, 11, 12 and 13,
-- each followed by a comma), set after the write.
-- With a pack (one server only; see the prelude), every piece is of chunk 0 and names it;
-- their bytes are appended to it here (KEYS[3]), in piece order. It must be this mount's
-- still (else EUNLISTED) and have room (else EFULL): the caller then writes without it.
-- Returns {attr, slices no longer used, per chunk touched (in the order first named) its
-- slice count, the pack's length and names, the file's version before (as open.lua names it)}.
local ino, now = ARGV[1], ARGV[2]
local pack, blob = ARGV[6], ARGV[7]
local f = file_of(ino, ARGV[4])
local before = version(ino)
local n = math.floor((#ARGV - 7) / 4)
local then_set = (#ARGV - 7) % 4 == 1 and ARGV[#ARGV]
if pack ~= '' then
  if redis.call('SISMEMBER', KEYS[2], pack) == 0 then fail('EUNLISTED') end
  if redis.call('STRLEN', KEYS[3]) + #blob > PACK_MAX
      or redis.call('HLEN', key('pk', pack)) >= PACK_NAMES + 2 then
    fail('EFULL')
  end
  for j = 1, n do
    if ARGV[4 + 4 * j] ~= '0' or ARGV[7 + 4 * j] ~= pack then fail('EINVAL') end
  end
else
  for j = 3, #KEYS do
    if redis.call('EXISTS', KEYS[j]) == 0 then fail('ENOSPC') end
  end
  for j = 1, n do
    if redis.call('SISMEMBER', KEYS[2], ARGV[7 + 4 * j]) == 0 then fail('EUNLISTED') end
  end
end
-- The chunks touched, in the order first named; a chunk may be named by several pieces
-- (disjoint ones: a sending of writes kept back), each cut into what the ones before left.
local idxs, at = {}, {}
for j = 1, n do
  local idx = ARGV[4 + 4 * j]
  if not at[idx] then
    idxs[#idxs + 1] = idx
    at[idx] = #idxs
  end
end
local growth, lens, olds, news = 0, {}, {}, {}
-- where the pieces' bytes will lie in the pack: appended after what it holds
local off = pack ~= '' and redis.call('STRLEN', KEYS[3]) or 0
-- Chunks whose pieces are appended as overlays (see the prelude), and those overlays.
local cur, adds = {}, {}
if n > 0 then
  cur = chunks_get(ino, idxs)
  local cnt, small = {}, {}
  for j = 1, n do
    local c = at[ARGV[4 + 4 * j]]
    cnt[c] = (cnt[c] or 0) + 1
    local ok = tonumber(ARGV[6 + 4 * j]) - tonumber(ARGV[5 + 4 * j]) <= OVERLAY_BYTES
    small[c] = ok and small[c] ~= false
  end
  for c = 1, #idxs do
    if pack == '' and idxs[c] ~= '0' and small[c] and cur[c]
        and overlays(cur[c]) + cnt[c] <= OVERLAY_MAX then
      lens[c] = entry_len(cur[c])
      adds[c] = {}
    else
      lens[c], olds[c] = chunk_parse(cur[c])
      news[c] = olds[c]
    end
  end
  for j = 1, n do
    local c = at[ARGV[4 + 4 * j]]
    local from, to = tonumber(ARGV[5 + 4 * j]), tonumber(ARGV[6 + 4 * j])
    local len = math.max(lens[c], to)
    growth = growth + len - lens[c]
    lens[c] = len
    if adds[c] then
      local a = adds[c]
      a[#a + 1] = '/' .. ARGV[7 + 4 * j] .. ':' .. ARGV[5 + 4 * j] .. ':'
        .. string.format('%d', to - from) .. ':0'
    else
      news[c] = chunk_cut(news[c], from, to)
      local s = {ARGV[7 + 4 * j], from, to - from, 0}
      if pack ~= '' then
        s[4] = off
        off = off + to - from
      end
      news[c][#news[c] + 1] = s
    end
  end
end
room(growth, ARGV[3])
local packlen, names = 0, 0
if pack ~= '' then
  if off - redis.call('STRLEN', KEYS[3]) ~= #blob then fail('EINVAL') end
  -- the first change: refused for memory, it leaves everything as it was
  packlen = redis.call('APPEND', KEYS[3], blob)
  if not is_pack(pack) then
    redis.call('HSET', key('pk', pack), 'o', KEYS[2], 'lv', 0)
    redis.call('HSET', T .. ':rc', pack, PACK_RC)
  end
else
  for j = 1, n do redis.call('SREM', KEYS[2], ARGV[7 + 4 * j]) end
end
local gc, counts = {}, {}
for c = 1, #idxs do
  if adds[c] then
    local v = entry_with_len(cur[c], lens[c]) .. table.concat(adds[c])
    chunk_set(ino, idxs[c], v)
    -- slices and overlays: what compaction counts
    local _, k = string.gsub(v, '[|/]', '')
    counts[c] = k
  else
    counts[c] = chunk_put(ino, idxs[c], lens[c], olds[c], news[c], gc)
  end
end
charge(ino, growth, 'a')
if ARGV[5] ~= '' and dgt(ARGV[5], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[5])
end
touch(ino, now)
if then_set then
  local v = {}
  for x in string.gmatch(then_set, '([^,]*),') do v[#v + 1] = x end
  set_attrs(ino, f[1], now,
    {[4] = v[1], [5] = v[2], [6] = v[3], [10] = v[4], [11] = v[5], [12] = v[6], [13] = v[7]})
end
if pack ~= '' then names = redis.call('HLEN', key('pk', pack)) - 2 end
return {attr(ino), gc, counts, packlen, names, before}
