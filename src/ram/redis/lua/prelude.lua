local META = KEYS[1]
local T = string.sub(META, 1, -6)
local CHUNK = 1048576
local function key(kind, n) return T .. ':' .. kind .. ':' .. n end
local function fail(code) error({err = code}) end
-- fails unless the prefix's metadata is there: an id counter must never start again from
-- nothing over data that is still stored
local function alive()
  if redis.call('HEXISTS', META, 'fmt') == 0 then fail('ELOST') end
end
-- kind and size of the regular file `ino`, or fail as a data operation on it must;
-- `err` is an error decided by the caller once the inode is known to exist ('' if none)
local function file_of(ino, err)
  local f = redis.call('HMGET', key('i', ino), 'k', 's')
  if not f[1] then fail('ENOENT') end
  if err ~= '' then fail(err) end
  if f[1] == 'd' then fail('EISDIR') end
  if f[1] ~= 'f' then fail('EINVAL') end
  return f
end
-- a > b for decimal strings without leading zeros, exact at any size
local function dgt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function hmget(k, fields)
  local out = {}
  local i = 1
  while i <= #fields do
    local j = math.min(i + 999, #fields)
    local part = redis.call('HMGET', k, unpack(fields, i, j))
    for m = 1, #part do out[i + m - 1] = part[m] end
    i = j + 1
  end
  return out
end
local function attr(ino)
  local a = redis.call('HGETALL', key('i', ino))
  if #a == 0 then return a end
  a[#a + 1] = 'ino'
  a[#a + 1] = tostring(ino)
  for j = 1, #a, 2 do
    if a[j] == 'k' then
      if a[j + 1] == 'd' then
        a[#a + 1] = 'ne'
        a[#a + 1] = tostring(redis.call('HLEN', key('d', ino)))
      end
      break
    end
  end
  return a
end
-- what an inode's metadata costs of the limit (INODE_COST in Rust), kept in META `mb`
local INODE_COST = 512
local function room(bytes, limit)
  if bytes > 0 then
    local u = redis.call('HMGET', META, 'used', 'mb')
    if tonumber(u[1] or '0') + tonumber(u[2] or '0') + bytes > tonumber(limit) then
      fail('ENOSPC')
    end
  end
end
local function charge(ino, bytes, field)
  if bytes ~= 0 then
    redis.call('HINCRBY', META, 'used', bytes)
    redis.call('HINCRBY', key('i', ino), field, bytes)
  end
end
-- A file's data: each chunk index maps to '<len>' then '|<sid>:<pos>:<n>:<soff>' per slice.
-- Chunk 0 is the inode's field `l` while its entry is short enough for Redis to keep the
-- inode hash packed (values of at most 64 bytes: a small file then needs no other key), else
-- in `{P}:l:<ino>`, which holds the other chunks. The chunk holds bytes [0, len); bytes [pos, pos + n) of it are bytes
-- [soff, soff + n) of the immutable string `P:s:<sid>`; the slices are disjoint and inside
-- [0, len) (overlays, below, aside), and bytes no slice covers read as zeros.
local INLINE_MAX = 64
-- the entries of chunks `idxs` (strings) of `ino`, false where there is none
local function chunks_get(ino, idxs)
  local out = hmget(key('l', ino), idxs)
  for j = 1, #idxs do
    if idxs[j] == '0' and not out[j] then out[j] = redis.call('HGET', key('i', ino), 'l') end
  end
  return out
end
-- every chunk of `ino`: index, entry, index, entry, ... (chunk 0 once, as `chunks_get` has it)
local function chunks_all(ino)
  local all = redis.call('HGETALL', key('l', ino))
  local z = redis.call('HGET', key('i', ino), 'l')
  if z and redis.call('HEXISTS', key('l', ino), '0') == 0 then
    all[#all + 1] = '0'
    all[#all + 1] = z
  end
  return all
end
-- sets the entry of chunk `idx` (a string) of `ino`; false drops it
local function chunk_set(ino, idx, v)
  if idx == '0' then
    if v and #v <= INLINE_MAX then
      redis.call('HSET', key('i', ino), 'l', v)
      redis.call('HDEL', key('l', ino), idx)
      return
    end
    redis.call('HDEL', key('i', ino), 'l')
  end
  if v then
    redis.call('HSET', key('l', ino), idx, v)
  else
    redis.call('HDEL', key('l', ino), idx)
  end
end
-- the slices of `list` less the chunk's bytes [a, b)
local function chunk_cut(list, a, b)
  local out = {}
  for j = 1, #list do
    local s = list[j]
    local e = s[2] + s[3]
    if e <= a or s[2] >= b then
      out[#out + 1] = s
    else
      if s[2] < a then out[#out + 1] = {s[1], s[2], a - s[2], s[4]} end
      if e > b then out[#out + 1] = {s[1], b, e - b, s[4] + b - s[2]} end
    end
  end
  return out
end
-- An entry of a chunk other than 0 may end in overlays, '/<sid>:<pos>:<n>:<soff>' each: a
-- small write appends one rather than parsing and cutting the slices before it (in Lua that
-- took some 100 us for a chunk of 40 slices, most of a random 4 KiB write). Each covers
-- what the slices and overlays before it hold of its bytes. `chunk_parse` resolves them
-- into disjoint slices; the slices they hide whole stay named by the entry (the list's
-- `hidden`) until it is next stored, which gives them up (`chunk_drop`). At most
-- OVERLAY_MAX overlays, each of at most OVERLAY_BYTES, bound the bytes hidden so.
local OVERLAY_MAX = 16
local OVERLAY_BYTES = 16384
-- the length entry `v` (or none: 0) gives its chunk
local function entry_len(v)
  return v and tonumber(string.match(v, '^(%d+)')) or 0
end
-- entry `v` (or none) with length `len`, its slices and overlays as they were
local function entry_with_len(v, len)
  local rest = v and string.sub(v, #string.match(v, '^(%d+)') + 1) or ''
  return string.format('%d', len) .. rest
end
local function chunk_parse(v)
  if not v then return 0, {} end
  local len = entry_len(v)
  local list = {}
  local o = string.find(v, '/', 1, true)
  for sid, pos, n, soff in string.gmatch(o and string.sub(v, 1, o - 1) or v,
      '|(%d+):(%d+):(%d+):(%d+)') do
    list[#list + 1] = {sid, tonumber(pos), tonumber(n), tonumber(soff)}
  end
  if o then
    local named, order = {}, {}
    for j = 1, #list do
      if not named[list[j][1]] then
        named[list[j][1]] = true
        order[#order + 1] = list[j][1]
      end
    end
    for sid, pos, n, soff in string.gmatch(string.sub(v, o), '/(%d+):(%d+):(%d+):(%d+)') do
      pos, n = tonumber(pos), tonumber(n)
      list = chunk_cut(list, pos, pos + n)
      list[#list + 1] = {sid, pos, n, tonumber(soff)}
      if not named[sid] then
        named[sid] = true
        order[#order + 1] = sid
      end
    end
    local left = {}
    for j = 1, #list do left[list[j][1]] = true end
    local hidden = {}
    for j = 1, #order do
      if not left[order[j]] then hidden[#hidden + 1] = order[j] end
    end
    list.hidden = hidden
  end
  return len, list
end
-- how many overlays entry `v` ends in
local function overlays(v)
  local o = string.find(v, '/', 1, true)
  if not o then return 0 end
  local _, k = string.gsub(string.sub(v, o), '/', '')
  return k
end
local function chunk_encode(len, list)
  local parts = {tostring(len)}
  for j = 1, #list do
    local s = list[j]
    parts[#parts + 1] = s[1] .. ':' .. s[2] .. ':' .. s[3] .. ':' .. s[4]
  end
  return table.concat(parts, '|')
end
-- Small files' bytes are packed, on one server: the chunk 0 slices of many files lie in one
-- string `P:s:<sid>` (a pack, filled by one mount), each named by its offset there. Rather
-- than `{P}:rc`, the hash `{P}:pk:<sid>` counts a pack's names: per inode whose chunk 0
-- names it, the bytes named; `lv`, their sum; `o` while its mount may fill it further: that
-- mount's `{P}:w:` key, which lists the pack's id until then. A pack nothing names is
-- collected, even while being filled (it is then unlisted: its mount fills another); one
-- mostly unnamed is listed in `{P}:sparse`, for the bytes still named to be packed again
-- (`repack.lua`). A pack is at most PACK_MAX bytes (a full one fills a 64 KiB
-- block exactly) and PACK_NAMES inodes (its hash stays packed); clones may name it more.
-- A pack also stands in `{P}:rc` with a count no chunk reaches: a mount of a build before
-- packs (which only counts there) that runs on unnoticed leaks a pack, but never frees one
-- that others still name.
local PACK_MAX = 65530
local PACK_NAMES = 100
local PACK_RC = 1000000000
local function slice_key(sid) return string.sub(T, 2, -2) .. ':s:' .. sid end
local function is_pack(sid) return redis.call('EXISTS', key('pk', sid)) == 1 end
-- The bytes chunk entry `v` holds between `from` and `to` (within the chunk): {v or false,
-- position, bytes, position, bytes, ...}; what no slice covers reads as zeros. The slice
-- strings are not declared (they are only known here): one server only.
local function span_bytes(v, from, to)
  local len, list = chunk_parse(v)
  if to > len then to = len end
  local got = {v or false}
  for _, s in ipairs(list) do
    local a, b = math.max(from, s[2]), math.min(to, s[2] + s[3])
    if a < b then
      got[#got + 1] = a
      got[#got + 1] = redis.call('GETRANGE', slice_key(s[1]), s[4] + a - s[2], s[4] + b - s[2] - 1)
    end
  end
  return got
end
-- the bytes of slice `sid` that the slices `list` of one chunk name
local function named_bytes(list, sid)
  local b = 0
  for j = 1, #list do
    if list[j][1] == sid then b = b + list[j][3] end
  end
  return b
end
-- collects pack `sid` if nothing names it; lists it sparse if most of its bytes are no
-- longer named and nobody fills it
local function pack_check(sid, gc)
  local k = key('pk', sid)
  local f = redis.call('HMGET', k, 'lv', 'o')
  local lv = tonumber(f[1] or '0')
  if f[2] then
    if lv > 0 then return end
    redis.call('SREM', f[2], sid)
  end
  if lv <= 0 then
    redis.call('DEL', k)
    redis.call('HDEL', T .. ':rc', sid)
    redis.call('SREM', T .. ':sparse', sid)
    redis.call('SADD', T .. ':gc', sid)
    gc[#gc + 1] = sid
  elseif lv * 4 < redis.call('STRLEN', slice_key(sid)) * 3 then
    redis.call('SADD', T .. ':sparse', sid)
  end
end
-- the packs that chunk `idx` of `ino` named (`old`) or names (`new`): their counts follow
local function pack_names(ino, idx, old, new, gc)
  if idx ~= '0' then return end
  local seen = {}
  for _, l in ipairs({old, new}) do
    for j = 1, #l do
      local sid = l[j][1]
      if not seen[sid] then
        seen[sid] = true
        local was, now = named_bytes(old, sid), named_bytes(new, sid)
        if was ~= now and is_pack(sid) then
          local k = key('pk', sid)
          redis.call('HINCRBY', k, 'lv', now - was)
          if now == 0 then
            redis.call('HDEL', k, ino)
          else
            redis.call('HSET', k, ino, now)
          end
          if now < was then pack_check(sid, gc) end
        end
      end
    end
  end
end
-- slices of `old` that `new` no longer names go to the gc set and to `gc`, unless another
-- chunk (a clone's) still names them: `rc` counts those other names. Packs count their
-- names themselves (`pack_names`).
local function chunk_drop(old, new, gc)
  local keep = {}
  for j = 1, #new do keep[new[j][1]] = true end
  local function drop(sid)
    if keep[sid] then return end
    keep[sid] = true
    local others = -1
    if is_pack(sid) then
      others = 0
    elseif redis.call('HEXISTS', T .. ':rc', sid) == 1 then
      others = redis.call('HINCRBY', T .. ':rc', sid, -1)
      if others == 0 then redis.call('HDEL', T .. ':rc', sid) end
    end
    if others < 0 then
      redis.call('SADD', T .. ':gc', sid)
      gc[#gc + 1] = sid
    end
  end
  for j = 1, #old do drop(old[j][1]) end
  for j = 1, #(old.hidden or {}) do drop(old.hidden[j]) end
end
-- stores chunk `idx` of `ino` (an empty one is dropped); returns its slice count
local function chunk_put(ino, idx, len, old, new, gc)
  chunk_drop(old, new, gc)
  pack_names(ino, idx, old, new, gc)
  chunk_set(ino, idx, len ~= 0 and chunk_encode(len, new))
  return #new
end
-- cuts every chunk of `ino` to the bytes below chunk `ki`'s byte `kl` (a new size, given
-- as chunk and offset: exact where a double could not hold the size); returns bytes freed.
-- A chunk kept in part is listed in `cut`: its slices still hold the bytes cut away, until
-- it is compacted.
local function cut_from(ino, ki, kl, gc, cut)
  local all = chunks_all(ino)
  local freed = 0
  for i = 1, #all, 2 do
    local idx = tonumber(all[i])
    if idx > ki or (idx == ki and kl == 0) then
      local len, list = chunk_parse(all[i + 1])
      freed = freed + len
      chunk_put(ino, all[i], 0, list, {}, gc)
    elseif idx == ki then
      local len, list = chunk_parse(all[i + 1])
      if len > kl then
        freed = freed + len - kl
        chunk_put(ino, all[i], kl, list, chunk_cut(list, kl, CHUNK), gc)
        cut[#cut + 1] = all[i]
      end
    end
  end
  return freed
end
-- drops an inode without links or opens; its slices go to the gc set and to `gc`
local function reap(ino, gc)
  local f = redis.call('HMGET', key('i', ino), 'k', 'a', 'xb', 's')
  if not f[1] then return end
  local free = tonumber(f[2] or '0') + tonumber(f[3] or '0')
  if f[1] == 'l' then free = free + tonumber(f[4] or '0') end
  if free ~= 0 then redis.call('HINCRBY', META, 'used', -free) end
  redis.call('HINCRBY', META, 'mb', -INODE_COST)
  redis.call('HINCRBY', META, f[1] == 'd' and 'dirs' or 'files', -1)
  local all = chunks_all(ino)
  for i = 2, #all, 2 do
    local _, list = chunk_parse(all[i])
    chunk_drop(list, {}, gc)
    pack_names(ino, all[i - 1], list, {}, gc)
  end
  redis.call('DEL', key('i', ino), key('l', ino), key('x', ino), key('d', ino), key('dc', ino))
end
-- the names of directory `p`, in cookie order
local function names_of(p)
  local all = redis.call('HGETALL', key('d', p))
  local list = {}
  for i = 1, #all, 2 do
    list[#list + 1] = {tonumber(string.match(all[i + 1], ' (%d+)$')), all[i]}
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  local out = {}
  for i = 1, #list do out[i] = list[i][2] end
  return out
end
local function entry(v)
  local ino, k = string.match(v, '^(%d+) (%a) %d+$')
  return ino, k
end
local function insert(p, name, ino, k)
  local c = redis.call('HINCRBY', key('i', p), 'c', 1) - 1
  redis.call('HSET', key('d', p), name, ino .. ' ' .. k .. ' ' .. c)
end
-- `name` in directory `p` (an entry `e`) now names `ino` of kind `k`, where it stands: the
-- cookie stays, so a reader part way through the directory meets it once.
local function repoint(p, name, e, ino, k)
  local c = string.match(e, ' (%d+)$')
  redis.call('HSET', key('d', p), name, ino .. ' ' .. k .. ' ' .. c)
end
-- A change of the inode's contents: new mtime and ctime, and its version `v` (a count,
-- unlike times from the mounts' clocks never the same twice) one up. An inode leaves out
-- `ct` while it equals `mt` and `bt` while it equals `at` (each takes 14 bytes): whatever
-- sets `mt` sets `ct` too or drops it, and whatever sets `at` first keeps `bt`.
-- What a file's pages are of, as open.lua names it: its version count, with its ctime
-- (which a mount of an earlier release moves without counting).
local function version(ino)
  local f = redis.call('HMGET', key('i', ino), 'v', 'ct', 'mt')
  return (f[1] or '0') .. ':' .. (f[2] or f[3] or '')
end
local function touch(ino, now)
  redis.call('HSET', key('i', ino), 'mt', now)
  redis.call('HDEL', key('i', ino), 'ct')
  redis.call('HINCRBY', key('i', ino), 'v', 1)
end
-- What a setattr sets besides the size, on inode `ino` of kind `kind`. `a` is indexed as
-- setattr.lua's ARGV: 4 mode, 5 uid, 6 gid, 10 atime, 11 mtime, 12 ctime ('' for `now`),
-- 13 privileges to drop. A write's script runs it too, for a setattr that comes while
-- writes of the file are kept back (both then cost one round trip).
local function set_attrs(ino, kind, now, a)
  local set = {}
  local fields = {[4] = 'm', [5] = 'u', [6] = 'g', [10] = 'at', [11] = 'mt'}
  for i, name in pairs(fields) do
    if a[i] ~= '' then set[#set + 1] = name; set[#set + 1] = a[i] end
  end
  -- Privileges a write, truncate or chown drops: setuid, and setgid with group execute
  -- (or without it: '2', the caller is outside the file's group).
  if a[13] ~= '' and kind ~= 'd' then
    local m = tonumber(a[4] ~= '' and a[4] or redis.call('HGET', key('i', ino), 'm'))
    local k = bit.band(m, bit.bnot(2048))
    if bit.band(k, 1032) == 1032 or a[13] == '2' then k = bit.band(k, bit.bnot(1024)) end
    if k ~= m then set[#set + 1] = 'm'; set[#set + 1] = tostring(k) end
  end
  set[#set + 1] = 'ct'
  if a[12] ~= '' then set[#set + 1] = a[12] else set[#set + 1] = now end
  -- the birth time left out while it equaled atime (see `touch`)
  if a[10] ~= '' and redis.call('HEXISTS', key('i', ino), 'bt') == 0 then
    set[#set + 1] = 'bt'
    set[#set + 1] = redis.call('HGET', key('i', ino), 'at')
  end
  redis.call('HSET', key('i', ino), unpack(set))
  -- left out while it equals mtime (see `touch`)
  local t = redis.call('HMGET', key('i', ino), 'ct', 'mt')
  if t[1] == t[2] then redis.call('HDEL', key('i', ino), 'ct') end
end
-- a file or directory whose last link went: kept as opened by session `sid`, which gives
-- it back once its kernel no longer holds the inode (or at once if it never did)
local function hold(ino, sid)
  redis.call('HINCRBY', key('i', ino), 'o', 1)
  redis.call('HINCRBY', key('s', sid), ino, 1)
end
