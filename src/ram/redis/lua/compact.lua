-- Replaces a chunk's slices by one that holds all its bytes, if the chunk has not changed
-- since it was read and the new slice is still this mount's to publish. KEYS[2]: this
-- mount's unpublished slices (see write.lua); KEYS[3], on one server: the new slice. ARGV:
-- ino, index, the chunk's entry as read, new slice id. Returns the slices no longer used, or
-- false when nothing was replaced (the new slice is then the caller's to give up).
local ino, idx = ARGV[1], ARGV[2]
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 0 then return false end
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 0 then return false end
local cur = chunks_get(ino, {idx})[1]
if cur ~= ARGV[3] then return false end
redis.call('SREM', KEYS[2], ARGV[4])
local len, list = chunk_parse(cur)
local gc = {}
chunk_put(ino, idx, len, list, {{ARGV[4], 0, len, 0}}, gc)
return gc
