local t = redis.call('TYPE', META)['ok']
if t ~= 'none' then
  if t ~= 'hash' then return {'foreign', 'a ' .. t} end
  local f = redis.call('HMGET', META, 'fmt', 'format')
  if f[1] == ARGV[1] then return {'ok', 'existing'} end
  -- Older formats move on to this one, once no mount of theirs is alive (their heartbeat
  -- says so): such a mount would not know what this format adds.
  -- - mavfs-vram-2 and -3 (-3: slices a clone shares, `rc`) named the format `format` and
  --   kept a cookie-sorted set per directory beside its entries; -4 lists a directory from
  --   its entries alone and keeps a small file's chunk in its inode. The field's new name
  --   makes their mounts refuse the prefix afterwards, and their creates stop (ELOST). The
  --   sets left are deleted afterwards (`dc_sweep.lua`).
  -- - mavfs-vram-4 did not pack small files (see the prelude): its mounts would free a pack
  --   that other files still name. Nothing needs changing.
  -- - mavfs-vram-5 did not know overlays (see the prelude): its mounts would read an entry
  --   that ends in them as garbled. Nothing needs changing.
  local fmt = f[1] or f[2]
  if fmt ~= 'mavfs-vram-2' and fmt ~= 'mavfs-vram-3' and fmt ~= 'mavfs-vram-4'
      and fmt ~= 'mavfs-vram-5' then
    return {'foreign', fmt or 'none'}
  end
  for _, sid in ipairs(redis.call('SMEMBERS', T .. ':sessions')) do
    if redis.call('EXISTS', key('alive', sid)) == 1 then return {'busy', fmt} end
  end
  if f[2] then
    redis.call('HDEL', META, 'format')
    redis.call('HSET', META, 'dc_left', 1)
  end
  redis.call('HSET', META, 'fmt', ARGV[1])
  return {'ok', 'upgraded'}
end
redis.call('HSET', META, 'fmt', ARGV[1], 'next_ino', ARGV[5] or 1, 'next_slice', ARGV[6] or 0, 'used', 0, 'files', 0, 'dirs', 1,
  'next_session', 0)
local now = ARGV[4]
redis.call('HSET', key('i', 1), 'k', 'd', 'm', 493, 'n', 2, 'u', ARGV[2], 'g', ARGV[3], 'r', 0,
  's', 0, 'at', now, 'mt', now, 'ct', now, 'bt', now, 'o', 0, 'p', 1, 'c', 3)
return {'ok', 'new'}
