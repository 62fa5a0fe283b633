-- Gives up slices of a write (or compaction) of inode ARGV[2] by session ARGV[1] that was
-- refused or not answered: ARGV[3..] are pairs of chunk index and slice id. Each goes to the
-- gc set and is returned, for the caller to delete:
-- - if it is still listed as the session's: never published. One that left the list was
--   published meanwhile (whichever of the publication and this runs first wins);
-- - if it is not listed and no chunk names it (not the chunk it was for, nor a clone's,
--   which `{P}:rc` would count) and it is not waiting in the gc set already: its listing
--   was lost (a failover dropped it) and it was never published.
local w = key('w', ARGV[1])
local ino = ARGV[2]
local gc = T .. ':gc'
local out = {}
for j = 3, #ARGV, 2 do
  local idx, sid = ARGV[j], ARGV[j + 1]
  local give = redis.call('SREM', w, sid) == 1
  if not give and redis.call('SISMEMBER', gc, sid) == 0
      and redis.call('HEXISTS', T .. ':rc', sid) == 0 then
    local e = chunks_get(ino, {idx})[1]
    -- named as a slice, or as an overlay (see the prelude), even one hidden whole
    give = not (e and (string.find(e, '|' .. sid .. ':', 1, true)
      or string.find(e, '/' .. sid .. ':', 1, true)))
  end
  if give then
    redis.call('SADD', gc, sid)
    out[#out + 1] = sid
  end
end
return out
