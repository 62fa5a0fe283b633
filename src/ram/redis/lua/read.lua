-- ARGV: ino, then per chunk read: index, first byte, end byte (within the chunk).
-- Returns {kind, size, then per chunk: {its entry, position, bytes, position, bytes, ...}} with the
-- slices' bytes inside the range; what they leave out reads as zeros. Atomic: the slices
-- are read in the same step as the chunk list that names them. The slice strings are not
-- declared (they are only known here): this holds on one server, where every key is local.
local ino = ARGV[1]
local f = redis.call('HMGET', key('i', ino), 'k', 's')
if not f[1] then return {false, false} end
local out = {f[1], f[2] or '0'}
if f[1] ~= 'f' then return out end
local n = (#ARGV - 1) / 3
local idxs = {}
for j = 1, n do idxs[j] = ARGV[3 * j - 1] end
local cur = chunks_get(ino, idxs)
for j = 1, n do
  out[#out + 1] = span_bytes(cur[j], tonumber(ARGV[3 * j]), tonumber(ARGV[3 * j + 1]))
end
return out
