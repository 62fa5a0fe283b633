-- Takes ARGV[1] slice ids for session ARGV[2]: returns the last one. They are listed as the
-- session's unpublished ones (`{P}:w:<session>`) from now on, before any slice is sent
-- under them: a mount that dies at any point leaves nothing its session's end does not
-- collect.
alive()
local n = tonumber(ARGV[1])
local last = redis.call('HINCRBY', META, 'next_slice', n)
local ids = {}
for id = last - n + 1, last do ids[#ids + 1] = string.format('%.0f', id) end
redis.call('SADD', key('w', ARGV[2]), unpack(ids))
return last
