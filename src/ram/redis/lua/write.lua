-- KEYS[2]: this mount's set of slices sent and not yet published (`{P}:w:<session>`); a
-- slice no longer in it was given up (`abandon.lua`) and is not published.
-- KEYS[3..]: on one server, the slice strings this write sent just before (they must exist:
-- a string Redis refused for memory is not published). On a cluster they live in other
-- slots; the mount saw them stored before it runs this.
-- ARGV: ino, now, limit, error after the existence check (or ''), new end ('' for an empty
-- write), then per piece: chunk index, first byte, end byte (within the chunk), slice id.
-- Returns {attr, slices no longer used, per chunk touched (in the order first named) its
-- slice count}.
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[4])
for j = 3, #KEYS do
  if redis.call('EXISTS', KEYS[j]) == 0 then fail('ENOSPC') end
end
local n = (#ARGV - 5) / 4
for j = 1, n do
  if redis.call('SISMEMBER', KEYS[2], ARGV[5 + 4 * j]) == 0 then fail('EUNLISTED') end
end
-- The chunks touched, in the order first named; a chunk may be named by several pieces
-- (disjoint ones: a sending of writes kept back), each cut into what the ones before left.
local idxs, at = {}, {}
for j = 1, n do
  local idx = ARGV[2 + 4 * j]
  if not at[idx] then
    idxs[#idxs + 1] = idx
    at[idx] = #idxs
  end
end
local growth, lens, olds, news = 0, {}, {}, {}
if n > 0 then
  local cur = chunks_get(ino, idxs)
  for c = 1, #idxs do
    lens[c], olds[c] = chunk_parse(cur[c])
    news[c] = olds[c]
  end
  for j = 1, n do
    local c = at[ARGV[2 + 4 * j]]
    local from, to = tonumber(ARGV[3 + 4 * j]), tonumber(ARGV[4 + 4 * j])
    local len = math.max(lens[c], to)
    growth = growth + len - lens[c]
    lens[c] = len
    news[c] = chunk_cut(news[c], from, to)
    news[c][#news[c] + 1] = {ARGV[5 + 4 * j], from, to - from, 0}
  end
end
room(growth, ARGV[3])
for j = 1, n do redis.call('SREM', KEYS[2], ARGV[5 + 4 * j]) end
local gc, counts = {}, {}
for c = 1, #idxs do
  counts[c] = chunk_put(ino, idxs[c], lens[c], olds[c], news[c], gc)
end
charge(ino, growth, 'a')
if ARGV[5] ~= '' and dgt(ARGV[5], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[5])
end
touch(ino, now)
return {attr(ino), gc, counts}
