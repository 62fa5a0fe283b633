-- Replaces a chunk's slices by one that holds all its bytes (or two, cut where the first
-- fills its block: see `sizes.rs`), if the chunk has not changed since it was read and the
-- new slices are still this mount's to publish. KEYS[2]: this mount's unpublished slices
-- (see write.lua); KEYS[3..], on one server: the new slices. ARGV: ino, index, the chunk's
-- entry as read, new slice id, and for a second one its id and where it starts. Returns the
-- slices no longer used, or false when nothing was replaced (the new slices are then the
-- caller's to give up).
local ino, idx = ARGV[1], ARGV[2]
for j = 3, #KEYS do
  if redis.call('EXISTS', KEYS[j]) == 0 then return false end
end
local sids = {ARGV[4], ARGV[5]}
for _, sid in ipairs(sids) do
  if redis.call('SISMEMBER', KEYS[2], sid) == 0 then return false end
end
local cur = chunks_get(ino, {idx})[1]
if cur ~= ARGV[3] then return false end
for _, sid in ipairs(sids) do redis.call('SREM', KEYS[2], sid) end
local len, list = chunk_parse(cur)
local new = {{ARGV[4], 0, len, 0}}
if ARGV[5] then
  local at = tonumber(ARGV[6])
  new = {{ARGV[4], 0, at, 0}, {ARGV[5], at, len - at, 0}}
end
local gc = {}
chunk_put(ino, idx, len, list, new, gc)
return gc
