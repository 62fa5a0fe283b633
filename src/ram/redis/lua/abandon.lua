-- Gives up slices sent by session ARGV[1] and not published (ARGV[2..]): each still in the
-- session's set goes to the gc set, and is returned for the caller to delete. One that
-- left the set was published meanwhile (or given up before) and stays as it is, so this is
-- safe beside a publication whose answer was lost: whichever runs first wins.
local w = key('w', ARGV[1])
local out = {}
for j = 2, #ARGV do
  if redis.call('SREM', w, ARGV[j]) == 1 then
    redis.call('SADD', T .. ':gc', ARGV[j])
    out[#out + 1] = ARGV[j]
  end
end
return out
