local t = redis.call('TYPE', META)['ok']
if t ~= 'none' then
  if t ~= 'hash' then return {'foreign', 'a ' .. t} end
  local fmt = redis.call('HGET', META, 'format')
  -- mavfs-vram-3: the same, with slices a clone shares (`rc`)
  if fmt ~= ARGV[1] and fmt ~= 'mavfs-vram-3' then return {'foreign', fmt or 'none'} end
  return {'ok', 'existing'}
end
redis.call('HSET', META, 'format', ARGV[1], 'next_ino', ARGV[5] or 1, 'next_slice', ARGV[6] or 0, 'used', 0, 'files', 0, 'dirs', 1,
  'next_session', 0)
local now = ARGV[4]
redis.call('HSET', key('i', 1), 'k', 'd', 'm', 493, 'n', 2, 'u', ARGV[2], 'g', ARGV[3], 'r', 0,
  's', 0, 'at', now, 'mt', now, 'ct', now, 'bt', now, 'o', 0, 'p', 1, 'c', 3)
return {'ok', 'new'}
