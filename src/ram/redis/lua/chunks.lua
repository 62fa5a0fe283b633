-- ARGV: ino, then the indexes of the chunks wanted. Returns {kind, size, then per index its
-- entry or false}: one consistent view of the file, from which the daemon reads the slices
-- itself (slices never change, so bytes read whole are those the entries name).
local ino = ARGV[1]
local f = redis.call('HMGET', key('i', ino), 'k', 's')
if not f[1] then return {false, false} end
local out = {f[1], f[2] or '0'}
if f[1] ~= 'f' then return out end
local idxs = {}
for j = 2, #ARGV do idxs[j - 1] = ARGV[j] end
local cur = chunks_get(ino, idxs)
for j = 1, #idxs do out[#out + 1] = cur[j] or false end
return out
