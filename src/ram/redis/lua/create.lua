alive()
local p, name, kind, now = ARGV[1], ARGV[2], ARGV[3], ARGV[9]
local pk = redis.call('HMGET', key('i', p), 'k', 'n', 'm', 'g')
if not pk[1] then fail('ENOENT') end
if tonumber(pk[2]) == 0 then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
if redis.call('HEXISTS', key('d', p), name) == 1 then fail('EEXIST') end
local extra = 0
if kind == 'l' then extra = #ARGV[8] end
-- ARGV[12]: '' leaves the parent's default ACL alone (a copy); 'n' expects none; 'f' expects
-- ARGV[13], the node taking access ACL ARGV[14] ('' none) and, a directory, ARGV[13].
-- Another answer than expected sends the daemon back with the ACL there is.
local acls, xb = {}, 0
if ARGV[12] ~= '' then
  local d = redis.call('HGET', key('x', p), 'system.posix_acl_default')
  if d == '' then d = false end
  local want = false
  if ARGV[12] == 'f' then want = ARGV[13] end
  if d ~= want then return {'acl', d or ''} end
  if ARGV[12] == 'f' then
    if ARGV[14] ~= '' then
      acls[#acls + 1] = 'system.posix_acl_access'; acls[#acls + 1] = ARGV[14]
    end
    if kind == 'd' then
      acls[#acls + 1] = 'system.posix_acl_default'; acls[#acls + 1] = ARGV[13]
    end
  end
  for j = 1, #acls do xb = xb + #acls[j] end
end
room(extra + xb + INODE_COST, ARGV[10])
local perm = tonumber(ARGV[4])
local gid = ARGV[6]
if bit.band(tonumber(pk[3]), 1024) ~= 0 then
  gid = pk[4] or '0'
  if kind == 'd' then perm = bit.bor(perm, 1024) end
end
local ino = redis.call('HINCRBY', META, 'next_ino', 1)
-- ARGV[11]: the session that opens the new file at once (open.lua's count), or ''.
local opened = 0
if ARGV[11] ~= '' then
  opened = 1
  redis.call('HINCRBY', key('s', ARGV[11]), ino, 1)
end
-- ctime and birth time are left out while they equal mtime and atime (see `touch`)
local f = {'k', kind, 'm', perm, 'n', 1, 's', 0, 'at', now, 'mt', now}
-- owner, group, device and open count are left out when 0, as they read
if ARGV[5] ~= '0' then f[#f + 1] = 'u'; f[#f + 1] = ARGV[5] end
if gid ~= '0' then f[#f + 1] = 'g'; f[#f + 1] = gid end
if ARGV[7] ~= '0' then f[#f + 1] = 'r'; f[#f + 1] = ARGV[7] end
if opened ~= 0 then f[#f + 1] = 'o'; f[#f + 1] = opened end
if kind == 'd' then
  f[6] = 2
  f[#f + 1] = 'p'; f[#f + 1] = p; f[#f + 1] = 'c'; f[#f + 1] = 3
elseif kind == 'l' then
  f[8] = extra
  f[#f + 1] = 't'; f[#f + 1] = ARGV[8]
end
redis.call('HSET', key('i', ino), unpack(f))
if extra > 0 then redis.call('HINCRBY', META, 'used', extra) end
if xb > 0 then
  redis.call('HSET', key('x', ino), unpack(acls))
  charge(ino, xb, 'xb')
end
redis.call('HINCRBY', META, 'mb', INODE_COST)
if kind == 'd' then
  redis.call('HINCRBY', key('i', p), 'n', 1)
  redis.call('HINCRBY', META, 'dirs', 1)
else
  redis.call('HINCRBY', META, 'files', 1)
end
insert(p, name, ino, kind)
touch(p, now)
return {attr(ino), attr(p)}
