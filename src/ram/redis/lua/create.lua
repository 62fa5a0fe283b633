-- One read and one write of the prefix's counters and of the parent: each `redis.call` from
-- Lua costs more than the command it runs (what `alive`, `room`, `insert` and `touch` do,
-- done here in fewer calls).
local p, name, kind, now = ARGV[1], ARGV[2], ARGV[3], ARGV[9]
local count = kind == 'd' and 'dirs' or 'files'
local mc = redis.call('HMGET', META, 'fmt', 'used', 'mb', 'next_ino', count)
if not mc[1] then fail('ELOST') end
local pk = redis.call('HMGET', key('i', p), 'k', 'n', 'm', 'g', 'c', 'v', 'ct')
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
-- as `room` does
local used, mb = tonumber(mc[2] or '0'), tonumber(mc[3] or '0')
if used + mb + extra + xb + INODE_COST > tonumber(ARGV[10]) then fail('ENOSPC') end
local perm = tonumber(ARGV[4])
local gid = ARGV[6]
if bit.band(tonumber(pk[3]), 1024) ~= 0 then
  gid = pk[4] or '0'
  if kind == 'd' then perm = bit.bor(perm, 1024) end
end
local ino = tonumber(mc[4] or '0') + 1
local function int(n) return string.format('%d', n) end
-- ARGV[11]: the session that opens the new file at once (open.lua's count), or ''.
local opened = 0
if ARGV[11] ~= '' then
  opened = 1
  redis.call('HINCRBY', key('s', ARGV[11]), ino, 1)
end
-- ctime and birth time are left out while they equal mtime and atime (see `touch`)
local f = {'k', kind, 'm', int(perm), 'n', '1', 's', '0', 'at', now, 'mt', now}
-- owner, group, device and open count are left out when 0, as they read
if ARGV[5] ~= '0' then f[#f + 1] = 'u'; f[#f + 1] = ARGV[5] end
if gid ~= '0' then f[#f + 1] = 'g'; f[#f + 1] = gid end
if ARGV[7] ~= '0' then f[#f + 1] = 'r'; f[#f + 1] = ARGV[7] end
if opened ~= 0 then f[#f + 1] = 'o'; f[#f + 1] = '1' end
if kind == 'd' then
  f[6] = '2'
  f[#f + 1] = 'p'; f[#f + 1] = p; f[#f + 1] = 'c'; f[#f + 1] = '3'
elseif kind == 'l' then
  f[8] = int(extra)
  f[#f + 1] = 't'; f[#f + 1] = ARGV[8]
end
-- the xattrs' bytes (`charge`), held by the inode and the prefix
if xb > 0 then f[#f + 1] = 'xb'; f[#f + 1] = int(xb) end
redis.call('HSET', key('i', ino), unpack(f))
if xb > 0 then redis.call('HSET', key('x', ino), unpack(acls)) end
redis.call('HSET', META, 'next_ino', int(ino), 'mb', int(mb + INODE_COST),
  count, int(tonumber(mc[5] or '0') + 1), 'used', int(used + extra + xb))
-- the name (`insert`), and the parent's change (`touch`)
local c = tonumber(pk[5] or '0')
redis.call('HSET', key('d', p), name, ino .. ' ' .. kind .. ' ' .. c)
local pf = {'c', int(c + 1), 'mt', now, 'v', int(tonumber(pk[6] or '0') + 1)}
if kind == 'd' then pf[#pf + 1] = 'n'; pf[#pf + 1] = int(tonumber(pk[2]) + 1) end
redis.call('HSET', key('i', p), unpack(pf))
if pk[7] then redis.call('HDEL', key('i', p), 'ct') end
-- the new inode's attributes as `attr` reads them, from what was just written
f[#f + 1] = 'ino'
f[#f + 1] = int(ino)
if kind == 'd' then f[#f + 1] = 'ne'; f[#f + 1] = '0' end
return {f, attr(p)}
