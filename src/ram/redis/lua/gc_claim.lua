-- Takes up to ARGV[1] slice ids off the gc set: no chunk names them any more.
local ms = redis.call('SRANDMEMBER', T .. ':gc', ARGV[1])
if #ms > 0 then redis.call('SREM', T .. ':gc', unpack(ms)) end
return ms
