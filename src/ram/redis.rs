//! `RedisStore`: the RAM tier on a Redis server, persistent and shared by every mount that
//! uses the same server and prefix.
//!
//! Key layout under the prefix `P` (default `mavfs`). Metadata keys carry the hash tag `{P}`,
//! so one prefix's metadata lives in one Redis Cluster slot and a Lua script may touch all of
//! it; chunk keys carry no tag, so file data spreads over a cluster.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{P}:meta` | hash | `format` (`mavfs-vram-1`), `next_ino`, `used` (bytes), `files`, `dirs`, `next_session` |
//! | `{P}:i:<ino>` | hash | one inode: `k` kind (`f d l p s c b`), `m` mode bits, `n` nlink, `u` `g` `r`, `s` size, `a` bytes held, `xb` xattr bytes, `at` `mt` `ct` `bt` times (`secs.nanos`), `o` open count; a dir adds `p` parent and `c` next cookie; a symlink `t` target |
//! | `{P}:d:<ino>` | hash | a directory's entries: name → `<ino> <kind> <cookie>` |
//! | `{P}:dc:<ino>` | sorted set | the same names scored by cookie, for paged readdir |
//! | `{P}:x:<ino>` | hash | extended attributes: name → value |
//! | `{P}:l:<ino>` | hash | chunk index → bytes of that chunk in use (a file's allocation map) |
//! | `{P}:gc` | set | `<ino>:<idx>` of chunks to delete |
//! | `{P}:sessions`, `{P}:alive:<sid>`, `{P}:s:<sid>` | set, string (TTL), hash | mounts, their heartbeat, their open count per inode |
//! | `P:c:<ino>:<idx>` | string | bytes `[idx·1 MiB, (idx+1)·1 MiB)` of a file |
//!
//! Invariants:
//! - every metadata change (create, link, unlink, rmdir, rename, setattr, open, release, the
//!   space reservation of a write) is one Lua script: atomic and one round trip. A script
//!   checks everything before its first write, so a refusal changes nothing.
//! - `{P}:l` is the truth about file data: bytes of a chunk string past the length recorded
//!   there are garbage nobody reads. Whoever raises a chunk's recorded length from `L` makes
//!   the bytes from `L` up read as zeros (by writing them, or deleting a chunk recorded as
//!   empty), so garbage never shows.
//! - a write reserves its growth in `{P}:meta` `used` (and records the new lengths) before
//!   its bytes are sent; when the data cannot be stored (Redis OOM) the reservation is undone.
//! - scripts never delete chunks (they live outside the slot): they list them in `{P}:gc` and
//!   the caller deletes them after, so a crash leaves garbage to collect, never a half-made
//!   rename or create. Leftovers are collected at mount and every minute.
//! - inode numbers come from `next_ino`, so every mount agrees on them; they are never reused.
//!
//! Open files: `o` counts the opens of all mounts; an inode with no links lives until it is 0.
//! A file whose last link goes is also counted there as opened by the unlinking mount's
//! session; that mount gives it back once its kernel no longer holds the inode.
//! Each mount also counts its own opens under its session and refreshes a heartbeat key; when
//! a mount dies without closing (SIGKILL), its heartbeat expires and another mount (or the
//! next one) gives its opens back, within about a minute and a half.
//! Limits: a mount that loses Redis for longer than the heartbeat's lifetime may have its
//! opens given back meanwhile; a truncate racing with a write to the same file from another
//! mount may lose that write (only close-to-open consistency is promised across mounts).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ::redis::{Connection, ErrorKind, RedisError, RedisResult, Script, Value};
use log::{debug, info, warn};

use super::*;
use crate::sync::Mutex;

/// Size of one data chunk, as MemoryStore's.
pub const CHUNK: u64 = 1 << 20;
/// The data format this code reads and writes; another value under a prefix is refused.
pub const FORMAT: &str = "mavfs-vram-1";
/// Default prefix of every key.
pub const DEFAULT_PREFIX: &str = "mavfs";
/// Default connect/read/write timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// A pooled connection idle for longer than this is checked with PING before use.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// The least a reply of a pipeline may be waited for (see `Pool::run_replies`).
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(100);
const MAX_IDLE: usize = 32;
/// How often a mount refreshes its heartbeat; the heartbeat key lives four times as long.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often a hung Redis is probed (each probe waits at most the timeout).
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// Every this many heartbeats, dead mounts' opens are given back and garbage is collected.
const SWEEP_EVERY: u32 = 4;

/// Where the store lives: a validated URL, the key prefix and the timeout.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    /// `redis://[user:pass@]host:port/db` (or `unix:///path?db=N`).
    pub url: String,
    pub prefix: String,
    /// Bound on connecting and on waiting for any answer.
    pub timeout: Duration,
}

impl RedisTarget {
    pub fn new(url: &str, prefix: &str) -> Self {
        RedisTarget {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Checks a key prefix: not empty, no hash-tag braces, no whitespace.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("--redis-prefix must not be empty".into());
    }
    if prefix
        .chars()
        .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "--redis-prefix '{prefix}' may not contain '{{', '}}' or whitespace"
        ));
    }
    Ok(())
}

/// The key names of one prefix.
#[derive(Debug)]
struct Keys {
    /// `{P}`: the hash tag that puts all metadata in one cluster slot.
    tag: String,
    /// `P`: chunk keys are `P:c:<ino>:<idx>`.
    plain: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Keys {
            tag: format!("{{{prefix}}}"),
            plain: prefix.to_owned(),
        }
    }
    fn meta(&self) -> String {
        format!("{}:meta", self.tag)
    }
    fn inode(&self, ino: Ino) -> String {
        format!("{}:i:{ino}", self.tag)
    }
    fn dir(&self, ino: Ino) -> String {
        format!("{}:d:{ino}", self.tag)
    }
    fn xattrs(&self, ino: Ino) -> String {
        format!("{}:x:{ino}", self.tag)
    }
    fn lens(&self, ino: Ino) -> String {
        format!("{}:l:{ino}", self.tag)
    }
    fn gc(&self) -> String {
        format!("{}:gc", self.tag)
    }
    fn alive(&self, sid: &str) -> String {
        format!("{}:alive:{sid}", self.tag)
    }
    fn sessions(&self) -> String {
        format!("{}:sessions", self.tag)
    }
    fn chunk(&self, ino: Ino, idx: u64) -> String {
        format!("{}:c:{ino}:{idx}", self.plain)
    }
    /// A chunk key from a `{P}:gc` member (`<ino>:<idx>`).
    fn gc_chunk(&self, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.plain.len() + 3 + member.len());
        k.extend_from_slice(self.plain.as_bytes());
        k.extend_from_slice(b":c:");
        k.extend_from_slice(member);
        k
    }
    /// The glob that matches `s` literally.
    fn glob_escape(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Lua. Every script gets KEYS[1] = `{P}:meta` and builds the other `{P}` keys from it.

/// Helpers prepended to every script.
const PRELUDE: &str = r#"
local META = KEYS[1]
local T = string.sub(META, 1, -6)
local CHUNK = 1048576
local function key(kind, n) return T .. ':' .. kind .. ':' .. n end
local function fail(code) error({err = code}) end
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
local function room(bytes, limit)
  if bytes > 0 then
    local used = tonumber(redis.call('HGET', META, 'used') or '0')
    if used + bytes > tonumber(limit) then fail('ENOSPC') end
  end
end
local function charge(ino, bytes, field)
  if bytes ~= 0 then
    redis.call('HINCRBY', META, 'used', bytes)
    redis.call('HINCRBY', key('i', ino), field, bytes)
  end
end
-- drops an inode without links or opens; its chunks go to the gc set and to `gc`
local function reap(ino, gc)
  local f = redis.call('HMGET', key('i', ino), 'k', 'a', 'xb', 's')
  if not f[1] then return end
  local free = tonumber(f[2] or '0') + tonumber(f[3] or '0')
  if f[1] == 'l' then free = free + tonumber(f[4] or '0') end
  if free ~= 0 then redis.call('HINCRBY', META, 'used', -free) end
  redis.call('HINCRBY', META, f[1] == 'd' and 'dirs' or 'files', -1)
  local idx = redis.call('HKEYS', key('l', ino))
  for i = 1, #idx do
    local m = ino .. ':' .. idx[i]
    redis.call('SADD', T .. ':gc', m)
    gc[#gc + 1] = m
  end
  redis.call('DEL', key('i', ino), key('l', ino), key('x', ino), key('d', ino), key('dc', ino))
end
local function entry(v)
  local ino, k = string.match(v, '^(%d+) (%a) %d+$')
  return ino, k
end
local function insert(p, name, ino, k)
  local c = redis.call('HINCRBY', key('i', p), 'c', 1) - 1
  redis.call('HSET', key('d', p), name, ino .. ' ' .. k .. ' ' .. c)
  redis.call('ZADD', key('dc', p), c, name)
end
local function touch(ino, now)
  redis.call('HSET', key('i', ino), 'mt', now, 'ct', now)
end
-- a file or directory whose last link went: kept as opened by session `sid`, which gives
-- it back once its kernel no longer holds the inode (or at once if it never did)
local function hold(ino, sid)
  redis.call('HINCRBY', key('i', ino), 'o', 1)
  redis.call('HINCRBY', key('s', sid), ino, 1)
end
"#;

/// ARGV: format, uid, gid, now.
const INIT: &str = r#"
local t = redis.call('TYPE', META)['ok']
if t ~= 'none' then
  if t ~= 'hash' then return {'foreign', 'a ' .. t} end
  local fmt = redis.call('HGET', META, 'format')
  if fmt ~= ARGV[1] then return {'foreign', fmt or 'none'} end
  return {'ok', 'existing'}
end
redis.call('HSET', META, 'format', ARGV[1], 'next_ino', 1, 'used', 0, 'files', 0, 'dirs', 1,
  'next_session', 0)
local now = ARGV[4]
redis.call('HSET', key('i', 1), 'k', 'd', 'm', 493, 'n', 2, 'u', ARGV[2], 'g', ARGV[3], 'r', 0,
  's', 0, 'at', now, 'mt', now, 'ct', now, 'bt', now, 'o', 0, 'p', 1, 'c', 3)
return {'ok', 'new'}
"#;

/// ARGV: parent, name. Returns the attributes of the entry.
const LOOKUP: &str = r#"
local p = redis.call('HMGET', key('i', ARGV[1]), 'k')
if not p[1] then fail('ENOENT') end
if p[1] ~= 'd' then fail('ENOTDIR') end
local e = redis.call('HGET', key('d', ARGV[1]), ARGV[2])
if not e then fail('ENOENT') end
local ino = entry(e)
local a = attr(ino)
if #a == 0 then fail('ENOENT') end
return a
"#;

/// ARGV: dir, after, max. Returns {parent, name, entry, name, entry, ...}.
const READDIR: &str = r#"
local d = redis.call('HMGET', key('i', ARGV[1]), 'k', 'p')
if not d[1] then fail('ENOENT') end
if d[1] ~= 'd' then fail('ENOTDIR') end
local out = {d[2]}
if tonumber(ARGV[3]) > 0 then
  local names = redis.call('ZRANGEBYSCORE', key('dc', ARGV[1]), '(' .. ARGV[2], '+inf',
    'LIMIT', 0, ARGV[3])
  if #names > 0 then
    local es = hmget(key('d', ARGV[1]), names)
    for i = 1, #names do
      if es[i] then
        out[#out + 1] = names[i]
        out[#out + 1] = es[i]
      end
    end
  end
end
return out
"#;

/// ARGV: parent, name, kind, perm, uid, gid, rdev, target, now, limit.
const CREATE: &str = r#"
local p, name, kind, now = ARGV[1], ARGV[2], ARGV[3], ARGV[9]
local pk = redis.call('HMGET', key('i', p), 'k', 'n', 'm', 'g')
if not pk[1] then fail('ENOENT') end
if tonumber(pk[2]) == 0 then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
if redis.call('HEXISTS', key('d', p), name) == 1 then fail('EEXIST') end
local extra = 0
if kind == 'l' then extra = #ARGV[8] end
room(extra, ARGV[10])
local perm = tonumber(ARGV[4])
local gid = ARGV[6]
if bit.band(tonumber(pk[3]), 1024) ~= 0 then
  gid = pk[4]
  if kind == 'd' then perm = bit.bor(perm, 1024) end
end
local ino = redis.call('HINCRBY', META, 'next_ino', 1)
local f = {'k', kind, 'm', perm, 'n', 1, 'u', ARGV[5], 'g', gid, 'r', ARGV[7], 's', 0,
  'at', now, 'mt', now, 'ct', now, 'bt', now, 'o', 0}
if kind == 'd' then
  f[6] = 2
  f[#f + 1] = 'p'; f[#f + 1] = p; f[#f + 1] = 'c'; f[#f + 1] = 3
elseif kind == 'l' then
  f[14] = extra
  f[#f + 1] = 't'; f[#f + 1] = ARGV[8]
elseif kind == 'f' then
  f[#f + 1] = 'a'; f[#f + 1] = 0
end
redis.call('HSET', key('i', ino), unpack(f))
if extra > 0 then redis.call('HINCRBY', META, 'used', extra) end
if kind == 'd' then
  redis.call('HINCRBY', key('i', p), 'n', 1)
  redis.call('HINCRBY', META, 'dirs', 1)
else
  redis.call('HINCRBY', META, 'files', 1)
end
insert(p, name, ino, kind)
touch(p, now)
return attr(ino)
"#;

/// ARGV: ino, newparent, newname, now.
const LINK: &str = r#"
local ino, p, name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local nk = redis.call('HMGET', key('i', ino), 'k', 'n')
if not nk[1] then fail('ENOENT') end
local pk = redis.call('HMGET', key('i', p), 'k', 'n')
if not pk[1] then fail('ENOENT') end
if tonumber(pk[2]) == 0 then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
if redis.call('HEXISTS', key('d', p), name) == 1 then fail('EEXIST') end
if ino == p then fail('EINVAL') end
if nk[1] == 'd' then fail('EPERM') end
if tonumber(nk[2]) == 0 then fail('ENOENT') end
if tonumber(nk[2]) >= 65000 then fail('EMLINK') end
redis.call('HINCRBY', key('i', ino), 'n', 1)
redis.call('HSET', key('i', ino), 'ct', now)
insert(p, name, ino, nk[1])
touch(p, now)
return attr(ino)
"#;

/// unlink and rmdir. ARGV: parent, name, '1' for rmdir, now, session. Returns the file or
/// directory kept for the session (its last link went), or 0.
const REMOVE: &str = r#"
local p, name, isdir, now, sid = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4], ARGV[5]
local pk = redis.call('HMGET', key('i', p), 'k')
if not pk[1] then fail('ENOENT') end
if pk[1] ~= 'd' then fail('ENOTDIR') end
local e = redis.call('HGET', key('d', p), name)
if not e then fail('ENOENT') end
local ino = entry(e)
local c = redis.call('HMGET', key('i', ino), 'k', 'n')
if not c[1] then fail('ENOENT') end
if not isdir and c[1] == 'd' then fail('EISDIR') end
if isdir and c[1] ~= 'd' then fail('ENOTDIR') end
if isdir and redis.call('HLEN', key('d', ino)) > 0 then fail('ENOTEMPTY') end
redis.call('HDEL', key('d', p), name)
redis.call('ZREM', key('dc', p), name)
if isdir then redis.call('HINCRBY', key('i', p), 'n', -1) end
touch(p, now)
local n = 0
if not isdir then n = tonumber(c[2]) - 1 end
redis.call('HSET', key('i', ino), 'n', n, 'ct', now)
local held = 0
if n <= 0 then
  hold(ino, sid)
  held = ino
end
return held
"#;

/// ARGV: parent, name, newparent, newname, mode (r n x), now, session. Returns the replaced
/// file or directory kept for the session (its last link went), or 0.
const RENAME: &str = r#"
local p1, name, p2, newname, mode, now, sid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local k1 = redis.call('HGET', key('i', p1), 'k')
if not k1 then fail('ENOENT') end
local k2, n2 = unpack(redis.call('HMGET', key('i', p2), 'k', 'n'))
if not k2 then fail('ENOENT') end
if tonumber(n2) == 0 then fail('ENOENT') end
if k1 ~= 'd' then fail('ENOTDIR') end
local se = redis.call('HGET', key('d', p1), name)
if not se then fail('ENOENT') end
if k2 ~= 'd' then fail('ENOTDIR') end
local de = redis.call('HGET', key('d', p2), newname)
local sino, sk = entry(se)
local dino, dk
if de then dino, dk = entry(de) end
if dino == sino then return 0 end
if mode == 'x' and not de then fail('ENOENT') end
if mode == 'n' and de then fail('EEXIST') end
-- is `start` the directory `anc` or inside it?
local function inside(anc, start)
  local cur = start
  for _ = 1, 100000 do
    if cur == anc then return true end
    local up = redis.call('HGET', key('i', cur), 'p')
    if not up or up == cur then return false end
    cur = up
  end
  return false
end
if sk == 'd' and p1 ~= p2 and inside(sino, p2) then fail('EINVAL') end
if mode == 'x' and dk == 'd' and p1 ~= p2 and inside(dino, p1) then fail('EINVAL') end
if mode ~= 'x' and de then
  if sk == 'd' and dk ~= 'd' then fail('ENOTDIR') end
  if sk ~= 'd' and dk == 'd' then fail('EISDIR') end
  if dk == 'd' and redis.call('HLEN', key('d', dino)) > 0 then fail('ENOTEMPTY') end
end
local held = 0
if mode == 'x' then
  insert(p1, name, dino, dk)
  insert(p2, newname, sino, sk)
  if p1 ~= p2 and (sk == 'd') ~= (dk == 'd') then
    local from, to = p1, p2
    if dk == 'd' then from, to = p2, p1 end
    redis.call('HINCRBY', key('i', from), 'n', -1)
    redis.call('HINCRBY', key('i', to), 'n', 1)
  end
  redis.call('HSET', key('i', dino), 'ct', now)
  if dk == 'd' then redis.call('HSET', key('i', dino), 'p', p1) end
else
  if de then
    local n = 0
    if dk == 'd' then
      redis.call('HINCRBY', key('i', p2), 'n', -1)
    else
      n = tonumber(redis.call('HGET', key('i', dino), 'n') or '1') - 1
    end
    redis.call('HSET', key('i', dino), 'n', n, 'ct', now)
    if n <= 0 then
      hold(dino, sid)
      held = dino
    end
  end
  redis.call('HDEL', key('d', p1), name)
  redis.call('ZREM', key('dc', p1), name)
  insert(p2, newname, sino, sk)
  if sk == 'd' and p1 ~= p2 then
    redis.call('HINCRBY', key('i', p1), 'n', -1)
    redis.call('HINCRBY', key('i', p2), 'n', 1)
  end
end
redis.call('HSET', key('i', sino), 'ct', now)
if sk == 'd' then redis.call('HSET', key('i', sino), 'p', p2) end
touch(p1, now)
if p2 ~= p1 then touch(p2, now) end
return held
"#;

/// ARGV: ino, now, error to give after the existence check (or ''), perm, uid, gid, size,
/// index of the chunk holding the new end, bytes of it kept, atime, mtime, ctime ('' = keep).
/// Returns {attr, chunks to delete}.
const SETATTR: &str = r#"
local ino, now = ARGV[1], ARGV[2]
local f = redis.call('HMGET', key('i', ino), 'k', 's')
if not f[1] then fail('ENOENT') end
if ARGV[3] ~= '' then fail(ARGV[3]) end
local gc = {}
if ARGV[7] ~= '' then
  if f[1] == 'd' then fail('EISDIR') end
  if f[1] ~= 'f' then fail('EINVAL') end
  if dgt(f[2], ARGV[7]) then
    local ki, kl = tonumber(ARGV[8]), tonumber(ARGV[9])
    local lens = redis.call('HGETALL', key('l', ino))
    local freed = 0
    for i = 1, #lens, 2 do
      local idx, len = tonumber(lens[i]), tonumber(lens[i + 1])
      if idx > ki or (idx == ki and kl == 0) then
        freed = freed + len
        redis.call('HDEL', key('l', ino), lens[i])
        local m = ino .. ':' .. lens[i]
        redis.call('SADD', T .. ':gc', m)
        gc[#gc + 1] = m
      elseif idx == ki and len > kl then
        freed = freed + len - kl
        redis.call('HSET', key('l', ino), lens[i], kl)
      end
    end
    charge(ino, -freed, 'a')
  end
  redis.call('HSET', key('i', ino), 's', ARGV[7], 'mt', now)
end
local set = {}
local fields = {[4] = 'm', [5] = 'u', [6] = 'g', [10] = 'at', [11] = 'mt'}
for i, name in pairs(fields) do
  if ARGV[i] ~= '' then set[#set + 1] = name; set[#set + 1] = ARGV[i] end
end
set[#set + 1] = 'ct'
if ARGV[12] ~= '' then set[#set + 1] = ARGV[12] else set[#set + 1] = now end
redis.call('HSET', key('i', ino), unpack(set))
return {attr(ino), gc}
"#;

/// ARGV: ino, now, limit, error to give after the existence check (or ''), new end ('' for an
/// empty write), then per chunk touched: index, first byte, end byte (within the chunk).
/// Returns {attr, the chunks' lengths before, the size before}.
const WRITE: &str = r#"
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[4])
local n = (#ARGV - 5) / 3
local idxs, olds, tos = {}, {}, {}
for j = 1, n do
  idxs[j] = ARGV[3 + 3 * j]
  tos[j] = tonumber(ARGV[5 + 3 * j])
end
local growth = 0
if n > 0 then
  local cur = hmget(key('l', ino), idxs)
  for j = 1, n do
    olds[j] = tonumber(cur[j] or '0')
    if tos[j] > olds[j] then growth = growth + tos[j] - olds[j] end
  end
end
room(growth, ARGV[3])
for j = 1, n do
  if tos[j] > olds[j] then
    redis.call('HSET', key('l', ino), idxs[j], tos[j])
    if olds[j] == 0 then redis.call('SREM', T .. ':gc', ino .. ':' .. idxs[j]) end
  end
end
charge(ino, growth, 'a')
if ARGV[5] ~= '' and dgt(ARGV[5], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[5])
end
touch(ino, now)
return {attr(ino), olds, f[2]}
"#;

/// Undoes the reservation of a write whose data Redis refused. ARGV: ino, size before, size
/// set, then per chunk grown: index, length before, length set. Returns the chunks that were
/// created by the write and are empty again.
const UNWRITE: &str = r#"
local ino = ARGV[1]
if redis.call('HEXISTS', key('i', ino), 'k') == 0 then return {} end
local back, dels = 0, {}
for j = 4, #ARGV, 3 do
  local cur = tonumber(redis.call('HGET', key('l', ino), ARGV[j]) or '0')
  local old, new = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
  if cur == new then
    if old == 0 then
      redis.call('HDEL', key('l', ino), ARGV[j])
      dels[#dels + 1] = ARGV[j]
    else
      redis.call('HSET', key('l', ino), ARGV[j], old)
    end
    back = back + new - old
  end
end
charge(ino, -back, 'a')
if redis.call('HGET', key('i', ino), 's') == ARGV[3] then
  redis.call('HSET', key('i', ino), 's', ARGV[2])
end
return dels
"#;

/// fallocate mode 0. ARGV: ino, now, limit, error after the existence check (or ''), '1' to
/// keep the size, end, first chunk, last chunk, bytes wanted in the last chunk.
/// Returns {index, length before, length after} of every chunk that grew.
const ALLOCATE: &str = r#"
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[4])
local first, last, lastlen = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local idxs = {}
for idx = first, last do idxs[#idxs + 1] = idx end
local cur = hmget(key('l', ino), idxs)
local grown, growth = {}, 0
for j = 1, #idxs do
  local want = CHUNK
  if idxs[j] == last then want = lastlen end
  local old = tonumber(cur[j] or '0')
  if old < want then
    growth = growth + want - old
    grown[#grown + 1] = idxs[j]; grown[#grown + 1] = old; grown[#grown + 1] = want
  end
end
room(growth, ARGV[3])
for j = 1, #grown, 3 do
  redis.call('HSET', key('l', ino), grown[j], grown[j + 2])
  if grown[j + 1] == 0 then redis.call('SREM', T .. ':gc', ino .. ':' .. grown[j]) end
end
charge(ino, growth, 'a')
if ARGV[5] ~= '1' and dgt(ARGV[6], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[6])
end
touch(ino, now)
return grown
"#;

/// Punch hole and zero range. ARGV: ino, now, error after the existence check (or ''),
/// '1' to grow the size to the end, offset, end. Returns {chunks to delete, and per chunk
/// whose middle must be zeroed: index, from, to}.
const ZERO: &str = r#"
local ino, now = ARGV[1], ARGV[2]
local f = file_of(ino, ARGV[3])
local off, e = ARGV[5], ARGV[6]
if dgt(e, f[2]) then e = f[2] end
local gc, mid = {}, {}
if dgt(e, off) then
  local o, en = tonumber(off), tonumber(e)
  local first, last = math.floor(o / CHUNK), math.floor((en - 1) / CHUNK)
  local fromfirst, tolast = o - first * CHUNK, en - last * CHUNK
  local lens = redis.call('HGETALL', key('l', ino))
  local freed = 0
  for i = 1, #lens, 2 do
    local idx, len = tonumber(lens[i]), tonumber(lens[i + 1])
    if idx >= first and idx <= last then
      local from, to = 0, CHUNK
      if idx == first then from = fromfirst end
      if idx == last then to = tolast end
      if to > len then to = len end
      if from == 0 and to >= len then
        freed = freed + len
        redis.call('HDEL', key('l', ino), lens[i])
        local m = ino .. ':' .. lens[i]
        redis.call('SADD', T .. ':gc', m)
        gc[#gc + 1] = m
      elseif to >= len and from < len then
        freed = freed + len - from
        redis.call('HSET', key('l', ino), lens[i], from)
      elseif from < to then
        mid[#mid + 1] = lens[i]; mid[#mid + 1] = from; mid[#mid + 1] = to
      end
    end
  end
  charge(ino, -freed, 'a')
end
if ARGV[4] == '1' and dgt(ARGV[6], f[2]) then
  redis.call('HSET', key('i', ino), 's', ARGV[6])
end
touch(ino, now)
return {gc, mid}
"#;

/// ARGV: ino, name, value, how (a c r), now, limit.
const SETXATTR: &str = r#"
local ino, name, value, how = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', key('i', ino), 'k') == 0 then fail('ENOENT') end
local had = redis.call('HEXISTS', key('x', ino), name) == 1
if how == 'c' and had then fail('EEXIST') end
if how == 'r' and not had then fail('ENODATA') end
local old = 0
if had then
  old = #name + redis.call('HSTRLEN', key('x', ino), name)
else
  -- all names must fit in one listxattr answer (XATTR_LIST_MAX)
  local listed = #name + 1
  local names = redis.call('HKEYS', key('x', ino))
  for j = 1, #names do listed = listed + #names[j] + 1 end
  if listed > 65536 then fail('ENOSPC') end
end
local delta = #name + #value - old
room(delta, ARGV[6])
redis.call('HSET', key('x', ino), name, value)
charge(ino, delta, 'xb')
redis.call('HSET', key('i', ino), 'ct', ARGV[5])
return 1
"#;

/// ARGV: ino, name, now.
const REMOVEXATTR: &str = r#"
local ino, name = ARGV[1], ARGV[2]
if redis.call('HEXISTS', key('i', ino), 'k') == 0 then fail('ENOENT') end
if redis.call('HEXISTS', key('x', ino), name) == 0 then fail('ENODATA') end
local freed = #name + redis.call('HSTRLEN', key('x', ino), name)
redis.call('HDEL', key('x', ino), name)
charge(ino, -freed, 'xb')
redis.call('HSET', key('i', ino), 'ct', ARGV[3])
return 1
"#;

/// ARGV: ino, session.
const OPEN: &str = r#"
local f = redis.call('HMGET', key('i', ARGV[1]), 'n', 'o')
if not f[1] then fail('ENOENT') end
if tonumber(f[1]) == 0 and tonumber(f[2] or '0') <= 0 then fail('ENOENT') end
redis.call('HINCRBY', key('i', ARGV[1]), 'o', 1)
redis.call('HINCRBY', key('s', ARGV[2]), ARGV[1], 1)
return 1
"#;

/// ARGV: ino, session. Returns the chunks to delete.
const RELEASE: &str = r#"
local ino = ARGV[1]
local gc = {}
if redis.call('HINCRBY', key('s', ARGV[2]), ino, -1) <= 0 then
  redis.call('HDEL', key('s', ARGV[2]), ino)
end
local f = redis.call('HMGET', key('i', ino), 'n', 'o')
if not f[1] then return gc end
local o = tonumber(f[2] or '0') - 1
if o < 0 then o = 0 end
redis.call('HSET', key('i', ino), 'o', o)
if tonumber(f[1]) == 0 and o == 0 then reap(ino, gc) end
return gc
"#;

/// Gives back the opens of mounts whose heartbeat has expired. ARGV: this mount's session.
/// Returns {sessions reaped, chunks to delete}.
const SWEEP: &str = r#"
local gc, dead = {}, 0
local sids = redis.call('SMEMBERS', T .. ':sessions')
for _, sid in ipairs(sids) do
  if sid ~= ARGV[1] and redis.call('EXISTS', key('alive', sid)) == 0 then
    local h = redis.call('HGETALL', key('s', sid))
    for i = 1, #h, 2 do
      local f = redis.call('HMGET', key('i', h[i]), 'n', 'o')
      if f[1] then
        local o = tonumber(f[2] or '0') - tonumber(h[i + 1])
        if o < 0 then o = 0 end
        redis.call('HSET', key('i', h[i]), 'o', o)
        if tonumber(f[1]) == 0 and o == 0 then reap(h[i], gc) end
      end
    end
    redis.call('DEL', key('s', sid))
    redis.call('SREM', T .. ':sessions', sid)
    dead = dead + 1
  end
end
return {dead, gc}
"#;

/// Takes up to ARGV[1] entries off the gc set and returns those whose chunk is not in use.
const GC_CLAIM: &str = r#"
local ms = redis.call('SRANDMEMBER', T .. ':gc', ARGV[1])
local out = {}
for _, m in ipairs(ms) do
  redis.call('SREM', T .. ':gc', m)
  local ino, idx = string.match(m, '^(%d+):(%d+)$')
  if ino and redis.call('HEXISTS', key('l', ino), idx) == 0 then out[#out + 1] = m end
end
return out
"#;

/// The scripts, with a Redis 7 flags line where the server knows them: read-only scripts run
/// even when Redis is out of memory, and so do those that only free (so a full store can be
/// emptied), while those that take space are refused up front.
struct Scripts {
    init: Script,
    lookup: Script,
    readdir: Script,
    create: Script,
    link: Script,
    remove: Script,
    rename: Script,
    setattr: Script,
    write: Script,
    unwrite: Script,
    allocate: Script,
    zero: Script,
    setxattr: Script,
    removexattr: Script,
    open: Script,
    release: Script,
    sweep: Script,
    gc_claim: Script,
}

#[derive(Clone, Copy)]
enum Flags {
    ReadOnly,
    Takes,
    Frees,
}

impl Scripts {
    fn new(flags_known: bool) -> Self {
        let s = |body: &str, f: Flags| {
            let head = match (flags_known, f) {
                (false, _) => "",
                (true, Flags::ReadOnly) => "#!lua flags=no-writes\n",
                (true, Flags::Takes) => "#!lua\n",
                (true, Flags::Frees) => "#!lua flags=allow-oom\n",
            };
            Script::new(&format!("{head}{PRELUDE}{body}"))
        };
        use Flags::*;
        Scripts {
            init: s(INIT, Takes),
            lookup: s(LOOKUP, ReadOnly),
            readdir: s(READDIR, ReadOnly),
            create: s(CREATE, Takes),
            link: s(LINK, Takes),
            remove: s(REMOVE, Frees),
            rename: s(RENAME, Frees),
            setattr: s(SETATTR, Frees),
            write: s(WRITE, Takes),
            unwrite: s(UNWRITE, Frees),
            allocate: s(ALLOCATE, Takes),
            zero: s(ZERO, Frees),
            setxattr: s(SETXATTR, Takes),
            removexattr: s(REMOVEXATTR, Frees),
            open: s(OPEN, Frees),
            release: s(RELEASE, Frees),
            sweep: s(SWEEP, Frees),
            gc_claim: s(GC_CLAIM, Frees),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

struct Idle {
    con: Con,
    since: Instant,
}

/// A connection and the read timeout its socket has now.
struct Con {
    con: Connection,
    read_timeout: Duration,
}

/// A few connections, each used by one call at a time. Broken ones are dropped; a new one is
/// made on demand, so the store comes back by itself once Redis answers again.
struct Pool {
    client: ::redis::Client,
    /// `host:port`, for messages (never the password).
    addr: String,
    timeout: Duration,
    idle: Mutex<Vec<Idle>>,
    /// True while Redis is unreachable: the outage is logged once, not per operation.
    down: AtomicBool,
    /// True after a call timed out (a stopped server, a black hole): calls then fail at once
    /// instead of each waiting out the timeout, until the watch thread's probe gets an
    /// answer. A refused connection does not set it: that fails fast by itself.
    hung: AtomicBool,
    /// Why changes are refused, while Redis runs an evicting memory policy.
    evicting: Mutex<Option<String>>,
}

/// What went wrong with a call: Redis could not be reached, or it answered with an error.
enum Failure {
    Unreachable(RedisError),
    /// Not tried: an earlier call timed out and no probe has had an answer since.
    Hung,
    Server(RedisError),
}

/// The replies a pipeline reads: one per command, two more for MULTI and EXEC.
fn replies(p: &::redis::Pipeline) -> usize {
    p.len() + if p.is_transaction() { 2 } else { 0 }
}

fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(e.kind(), ErrorKind::Parse)
}

/// The error code of a server reply (`OOM`, `ENOENT`, ...), also inside a pipeline's error.
fn server_code(e: &RedisError) -> Option<String> {
    if let Some(c) = e.code() {
        return Some(c.to_owned());
    }
    e.clone()
        .into_server_errors()
        .and_then(|errs| errs.first().map(|(_, s)| s.code().to_owned()))
}

impl Pool {
    fn connect(&self) -> RedisResult<Connection> {
        let con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    fn connect_con(&self) -> RedisResult<Con> {
        self.connect().map(|con| Con {
            con,
            read_timeout: self.timeout,
        })
    }

    /// A connection: an idle one (checked with PING if it idled long), else a new one.
    fn checkout(&self) -> Result<(Con, bool), RedisError> {
        loop {
            let idle = self.idle.lock().pop();
            let Some(mut idle) = idle else {
                return self.connect_con().map(|c| (c, false));
            };
            if idle.since.elapsed() < IDLE_CHECK {
                return Ok((idle.con, true));
            }
            if idle.con.read_timeout != self.timeout {
                if idle.con.con.set_read_timeout(Some(self.timeout)).is_err() {
                    continue;
                }
                idle.con.read_timeout = self.timeout;
            }
            match ::redis::cmd("PING").query::<()>(&mut idle.con.con) {
                Ok(()) => return Ok((idle.con, true)),
                // A hung server: do not wait on every idle connection in turn.
                Err(e) if e.is_timeout() => {
                    self.idle.lock().clear();
                    return Err(e);
                }
                // Closed under us (a restart): try the next one.
                Err(_) => {}
            }
        }
    }

    fn checkin(&self, con: Con) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                con,
                since: Instant::now(),
            });
        }
    }

    fn mark_down(&self, e: &RedisError) {
        if e.is_timeout() {
            self.hung.store(true, Ordering::Release);
        }
        if !self.down.swap(true, Ordering::AcqRel) {
            warn!(
                "Redis at {} is unreachable ({}); vram operations fail with EIO until it answers again",
                self.addr,
                crate::error::plain_message(e)
            );
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            info!("Redis at {} answers again; vram is back", self.addr);
        }
    }

    /// While hung: one PING on a new connection, bounded by the timeout. True once Redis
    /// answers (the pool is then open again).
    fn probe(&self) -> bool {
        let answer = self.connect_con().and_then(|mut c| {
            ::redis::cmd("PING").query::<()>(&mut c.con)?;
            Ok(c)
        });
        match answer {
            Ok(c) => {
                self.hung.store(false, Ordering::Release);
                self.checkin(c);
                self.mark_up();
                true
            }
            Err(_) => false,
        }
    }

    /// Runs `f` (one command or script: one reply) on a connection; see `run_replies`.
    fn run<T>(
        &self,
        retry: bool,
        f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        self.run_replies(retry, 1, f)
    }

    /// Runs `f`, which reads `replies` answers, on a connection. `retry`: `f` only reads, so
    /// it may run again on a fresh connection when a pooled one turns out broken. The client
    /// waits out its read timeout once per reply, even after the first timed out, so each
    /// reply gets its share of the timeout: a hung server costs one timeout in all.
    fn run_replies<T>(
        &self,
        retry: bool,
        replies: usize,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        if self.hung.load(Ordering::Acquire) {
            return Err(Failure::Hung);
        }
        let mut tries = 0;
        let t0 = Instant::now();
        loop {
            tries += 1;
            let (mut con, reused) = match self.checkout() {
                Ok(c) => c,
                Err(e) => {
                    debug!("checkout failed after {:?}: {e:?}", t0.elapsed());
                    self.mark_down(&e);
                    return Err(Failure::Unreachable(e));
                }
            };
            let share = (self.timeout / replies.max(1) as u32).max(MIN_READ_TIMEOUT);
            if con.read_timeout != share {
                if let Err(e) = con.con.set_read_timeout(Some(share)) {
                    self.mark_down(&e);
                    return Err(Failure::Unreachable(e));
                }
                con.read_timeout = share;
            }
            match f(&mut con.con) {
                Ok(v) => {
                    self.checkin(con);
                    self.mark_up();
                    return Ok(v);
                }
                Err(e) if is_connection_error(&e) => {
                    debug!(
                        "redis call failed after {:?}: {e:?} (replies {replies})",
                        t0.elapsed()
                    );
                    drop(con);
                    if retry && reused && tries == 1 && !e.is_timeout() {
                        continue;
                    }
                    self.mark_down(&e);
                    return Err(Failure::Unreachable(e));
                }
                Err(e) => {
                    self.checkin(con);
                    let busy = matches!(
                        server_code(&e).as_deref(),
                        Some("LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN")
                    );
                    if busy {
                        self.mark_down(&e);
                    } else {
                        self.mark_up();
                    }
                    return Err(Failure::Server(e));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn kind_char(k: Kind) -> &'static str {
    match k {
        Kind::File => "f",
        Kind::Dir => "d",
        Kind::Symlink => "l",
        Kind::Fifo => "p",
        Kind::Socket => "s",
        Kind::CharDev => "c",
        Kind::BlockDev => "b",
    }
}

fn kind_of(c: &[u8]) -> Option<Kind> {
    Some(match c {
        b"f" => Kind::File,
        b"d" => Kind::Dir,
        b"l" => Kind::Symlink,
        b"p" => Kind::Fifo,
        b"s" => Kind::Socket,
        b"c" => Kind::CharDev,
        b"b" => Kind::BlockDev,
        _ => return None,
    })
}

/// `secs.nanos`, with secs negative before 1970 (nanos always count forward).
fn time_str(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let mut secs = -(d.as_secs() as i128);
            let mut nanos = d.subsec_nanos();
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            format!("{secs}.{nanos:09}")
        }
    }
}

fn parse_time(s: &[u8]) -> SystemTime {
    let s = std::str::from_utf8(s).unwrap_or("0");
    let (secs, nanos) = s.split_once('.').unwrap_or((s, "0"));
    let secs: i64 = secs.parse().unwrap_or(0);
    let nanos: u32 = nanos.parse().unwrap_or(0).min(999_999_999);
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    };
    t.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        .unwrap_or(UNIX_EPOCH)
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => std::str::from_utf8(bytes(v)?).ok()?.parse().ok(),
    }
}

/// The zeros filling a chunk from offset `from` to `to` (as a script answered; bounded by a
/// chunk, so a key changed behind the mount's back cannot ask for more).
fn zeros_between(from: u64, to: u64) -> Vec<u8> {
    vec![0u8; to.saturating_sub(from).min(CHUNK) as usize]
}

fn array(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

fn text(v: &Value) -> String {
    bytes(v)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The store's answer was not what its scripts return: a bug or a foreign hand on the keys.
fn garbled(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected answer from Redis ({what})"))
}

/// Attributes from an inode hash's field/value list, plus `ne` (a directory's entry count)
/// and `ino` (the inode number, when the caller does not know it: `ino == 0`).
fn parse_attr(ino: Ino, v: &Value) -> StoreResult<Attr> {
    let a = array(v);
    if a.is_empty() {
        return Err(StoreError::NotFound);
    }
    let mut f: HashMap<&[u8], &Value> = HashMap::with_capacity(a.len() / 2);
    for pair in a.chunks_exact(2) {
        if let Some(k) = bytes(&pair[0]) {
            f.insert(k, &pair[1]);
        }
    }
    let num = |k: &[u8]| f.get(k).and_then(|v| number(v)).unwrap_or(0);
    let time = |k: &[u8]| {
        f.get(k)
            .and_then(|v| bytes(v))
            .map_or(UNIX_EPOCH, parse_time)
    };
    let kind = f
        .get(&b"k"[..])
        .and_then(|v| bytes(v))
        .and_then(kind_of)
        .ok_or_else(|| garbled("inode kind"))?;
    let (size, allocated) = match kind {
        Kind::File => (num(b"s"), num(b"a")),
        Kind::Dir => (4096.max(num(b"ne") * 32), 0),
        Kind::Symlink => (num(b"s"), num(b"s")),
        _ => (0, 0),
    };
    let ino = if ino == 0 { num(b"ino") } else { ino };
    if ino == 0 {
        return Err(garbled("inode number"));
    }
    Ok(Attr {
        ino,
        kind,
        perm: (num(b"m") & 0o7777) as u16,
        nlink: num(b"n") as u32,
        uid: num(b"u") as u32,
        gid: num(b"g") as u32,
        size,
        allocated,
        rdev: num(b"r") as u32,
        atime: time(b"at"),
        mtime: time(b"mt"),
        ctime: time(b"ct"),
        crtime: time(b"bt"),
    })
}

/// `(chunk index, first byte, end byte)` within each chunk that `[offset, end)` touches.
fn spans(offset: u64, end: u64) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    let mut pos = offset;
    while pos < end {
        let idx = pos / CHUNK;
        let base = idx * CHUNK;
        let stop = (base + CHUNK).min(end);
        out.push((idx, pos - base, stop - base));
        pos = stop;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The store

struct Inner {
    pool: Pool,
    keys: Keys,
    scripts: Scripts,
    limit: u64,
    /// This mount's session id.
    sid: String,
    /// Last usage read, served while Redis cannot be asked.
    usage: Mutex<Usage>,
}

/// The RAM store on Redis. See the module header for the key layout and its invariants.
pub struct RedisStore {
    inner: Arc<Inner>,
    refs: KernelRefs,
    warnings: Vec<String>,
    /// The URL without its password, and the prefix, for stats.
    name: String,
    /// Held inodes the kernel forgot, for the release thread: a forget must not wait for
    /// Redis on a FUSE thread. What is queued at unmount is given back with the session.
    forgotten: mpsc::Sender<Ino>,
    /// Inodes sent to the release thread and not yet given back.
    releasing: Arc<AtomicU64>,
    /// Dropping it stops the heartbeat thread.
    _stop: mpsc::Sender<()>,
}

/// The kernel's references to inodes, per inode: lookups not yet forgotten, and whether an
/// unlinked file is kept in Redis for them (counted as an open of this session).
struct KernelRefs {
    shards: Box<[Mutex<HashMap<Ino, Refs>>]>,
    /// Inodes held (`Refs::held`) now.
    held: AtomicU64,
}

#[derive(Default)]
struct Refs {
    n: u64,
    held: bool,
}

impl KernelRefs {
    fn new() -> KernelRefs {
        KernelRefs {
            shards: (0..64).map(|_| Mutex::new(HashMap::new())).collect(),
            held: AtomicU64::new(0),
        }
    }

    fn shard(&self, ino: Ino) -> &Mutex<HashMap<Ino, Refs>> {
        &self.shards[(ino % self.shards.len() as u64) as usize]
    }

    fn pin(&self, ino: Ino) {
        self.shard(ino).lock().entry(ino).or_default().n += 1;
    }

    /// Whether the inode was kept for the kernel and must be given back now.
    fn forget(&self, ino: Ino, n: u64) -> bool {
        let mut map = self.shard(ino).lock();
        let Some(r) = map.get_mut(&ino) else {
            return false;
        };
        r.n = r.n.saturating_sub(n);
        if r.n > 0 {
            return false;
        }
        let held = map.remove(&ino).is_some_and(|r| r.held);
        if held {
            self.held.fetch_sub(1, Ordering::AcqRel);
        }
        held
    }

    /// An unlinked file kept for this session: true if the kernel holds it (given back on
    /// its last forget), false if nobody does and the caller gives it back now.
    fn adopt(&self, ino: Ino) -> bool {
        match self.shard(ino).lock().get_mut(&ino) {
            Some(r) if r.n > 0 && !r.held => {
                r.held = true;
                self.held.fetch_add(1, Ordering::AcqRel);
                true
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.inner.pool.addr)
            .field("prefix", &self.inner.keys.plain)
            .finish_non_exhaustive()
    }
}

/// One line naming why connecting failed.
fn connect_error(addr: &str, db: i64, timeout: Duration, e: &RedisError) -> String {
    let code = server_code(e).unwrap_or_default();
    let detail = e.detail().unwrap_or("").trim();
    if e.is_timeout() {
        return format!(
            "cannot connect to Redis at {addr}: no answer within {}s (--redis-timeout)",
            timeout.as_secs_f64()
        );
    }
    if e.is_io_error() || e.is_connection_refusal() {
        return format!(
            "cannot connect to Redis at {addr}: {}",
            crate::error::plain_message(e)
        );
    }
    match code.as_str() {
        "NOAUTH" => format!(
            "Redis at {addr} requires a password (give it as redis://:PASSWORD@{addr}/{db} in --redis-url)"
        ),
        "WRONGPASS" => format!("Redis at {addr} refused the credentials: {detail}"),
        _ if e.kind() == ErrorKind::AuthenticationFailed => {
            format!("Redis at {addr} refused the credentials: {e}")
        }
        _ if detail.contains("DB index") || code == "ERR" && detail.contains("DB") => {
            format!("Redis at {addr} has no database {db}: {detail}")
        }
        "NOPERM" => format!("Redis at {addr} does not allow this user what mavfs needs: {detail}"),
        _ => format!("Redis at {addr}: {e}"),
    }
}

impl RedisStore {
    /// Connects, checks the server and the prefix, and creates the root directory (owned by
    /// `uid:gid`) if the prefix is new. `limit`: bytes `vram/` may hold; `None` means Redis'
    /// own `maxmemory`, or no limit if it has none. Errors are one line for the user.
    pub fn connect(
        target: &RedisTarget,
        limit: Option<u64>,
        uid: u32,
        gid: u32,
    ) -> Result<RedisStore, String> {
        check_prefix(&target.prefix)?;
        let bad_url = |e: RedisError| format!("invalid --redis-url '{}': {e}", redact(&target.url));
        let info = ::redis::IntoConnectionInfo::into_connection_info(target.url.as_str())
            .map_err(bad_url)?;
        // No CLIENT SETINFO at connect: two more replies to wait for, each up to the timeout,
        // when a server hangs (a reconnect must fail within one timeout).
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        let client = ::redis::Client::open(info.set_redis_settings(settings)).map_err(bad_url)?;
        let info = client.get_connection_info();
        let addr = info.addr().to_string();
        let db = info.redis_settings().db();
        let pool = Pool {
            client,
            addr: addr.clone(),
            timeout: target.timeout,
            idle: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            hung: AtomicBool::new(false),
            evicting: Mutex::new(None),
        };
        let fail = |e: &RedisError| connect_error(&addr, db, target.timeout, e);
        let mut con = pool.connect().map_err(|e| fail(&e))?;
        ::redis::cmd("PING")
            .query::<()>(&mut con)
            .map_err(|e| fail(&e))?;
        let server: String = ::redis::cmd("INFO")
            .arg("server")
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        let memory: String = ::redis::cmd("INFO")
            .arg("memory")
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        let major: u32 = info_field(&server, "redis_version")
            .and_then(|v| v.split('.').next()?.parse().ok())
            .unwrap_or(0);
        let number = |name: &str| -> u64 {
            info_field(&memory, name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let policy = info_field(&memory, "maxmemory_policy").unwrap_or_default();
        if let Some(why) = evicting_policy_error(&addr, &policy) {
            return Err(format!(
                "{why}; refusing to mount (fix: redis-cli -h HOST -p PORT CONFIG SET maxmemory-policy noeviction)"
            ));
        }
        let warnings = Vec::new();
        let keys = Keys::new(&target.prefix);
        let scripts = Scripts::new(major >= 7);
        // A finite size even for a Redis without maxmemory: its host's memory (what it can
        // hold at most), else this host's; tools do arithmetic on statfs and would overflow.
        let limit = limit.unwrap_or_else(|| {
            [number("maxmemory"), number("total_system_memory")]
                .into_iter()
                .find(|&n| n > 0)
                .unwrap_or_else(crate::config::physical_ram)
        });

        let meta_exists: bool = ::redis::cmd("EXISTS")
            .arg(keys.meta())
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        if !meta_exists {
            if let Some(k) = foreign_key(&mut con, &keys).map_err(|e| fail(&e))? {
                return Err(format!(
                    "Redis prefix '{}' at {addr} db {db} holds keys mavfs did not write (e.g. {k}); \
                     refusing to use it (choose another --redis-prefix)",
                    keys.plain
                ));
            }
        }
        let answer: Value = scripts
            .init
            .key(keys.meta())
            .arg(FORMAT)
            .arg(uid)
            .arg(gid)
            .arg(time_str(SystemTime::now()))
            .invoke(&mut con)
            .map_err(|e| fail(&e))?;
        let answer = array(&answer);
        if answer.first().map(text).as_deref() != Some("ok") {
            let found = answer.get(1).map(text).unwrap_or_default();
            return Err(format!(
                "Redis prefix '{}' at {addr} db {db} holds data of another format ({found}, not {FORMAT}); \
                 refusing to touch it (choose another --redis-prefix)",
                keys.plain
            ));
        }
        let sid: u64 = ::redis::cmd("HINCRBY")
            .arg(keys.meta())
            .arg("next_session")
            .arg(1)
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        let sid = sid.to_string();
        ::redis::pipe()
            .cmd("SADD")
            .arg(keys.sessions())
            .arg(&sid)
            .ignore()
            .cmd("SET")
            .arg(keys.alive(&sid))
            .arg(1)
            .arg("EX")
            .arg(4 * HEARTBEAT.as_secs())
            .ignore()
            .query::<()>(&mut con)
            .map_err(|e| fail(&e))?;
        pool.checkin(Con {
            con,
            read_timeout: target.timeout,
        });

        let inner = Arc::new(Inner {
            pool,
            keys,
            scripts,
            limit,
            sid,
            usage: Mutex::new(Usage {
                limit,
                ..Usage::default()
            }),
        });
        inner.sweep();
        let (stop, stopped) = mpsc::channel();
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("redis-watch".into())
            .spawn(move || watch(weak, stopped))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let (forgotten, to_release) = mpsc::channel::<Ino>();
        let releasing = Arc::new(AtomicU64::new(0));
        let weak = Arc::downgrade(&inner);
        let done = releasing.clone();
        std::thread::Builder::new()
            .name("redis-release".into())
            .spawn(move || {
                for ino in to_release {
                    if let Some(inner) = weak.upgrade() {
                        inner.release(ino);
                    }
                    done.fetch_sub(1, Ordering::AcqRel);
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        for w in &warnings {
            debug!("{w}");
        }
        Ok(RedisStore {
            refs: KernelRefs::new(),
            inner,
            warnings,
            name: format!("redis {} prefix {}", redact(&target.url), target.prefix),
            forgotten,
            releasing,
            _stop: stop,
        })
    }

    /// What the user should know about the server (e.g. an evicting memory policy).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// One `name:value` field of an INFO answer.
fn info_field(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// Why a memory policy is unsafe, or None for noeviction. Every other policy drops keys
/// when Redis fills up: file data (allkeys-*), or this mount's heartbeat (volatile-*).
fn evicting_policy_error(addr: &str, policy: &str) -> Option<String> {
    (!policy.is_empty() && policy != "noeviction").then(|| {
        format!(
            "Redis at {addr} has maxmemory-policy {policy}: when it fills up it evicts keys, \
             and with them file data"
        )
    })
}

/// `redis://user:secret@h` → `redis://user:***@h`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// Some key under the prefix when there is no `{P}:meta`: data of another program.
fn foreign_key(con: &mut Connection, keys: &Keys) -> RedisResult<Option<String>> {
    for pattern in [
        format!("{}:*", Keys::glob_escape(&keys.plain)),
        format!("{}:*", Keys::glob_escape(&keys.tag)),
    ] {
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<Vec<u8>>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(10_000)
                .query(con)?;
            if let Some(k) = found.first() {
                return Ok(Some(String::from_utf8_lossy(k).into_owned()));
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(None)
}

/// The mount's background duties: while Redis hangs, probe it often so that the pool opens
/// again soon after it answers; otherwise refresh the heartbeat, check the memory policy,
/// and now and then give back dead mounts' opens and collect garbage.
fn watch(inner: Weak<Inner>, stop: mpsc::Receiver<()>) {
    let mut beats = 0u32;
    let mut last_beat = Instant::now();
    loop {
        match stop.recv_timeout(PROBE_EVERY) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.pool.hung.load(Ordering::Acquire) {
            if inner.pool.probe() {
                inner.check_policy();
            }
            continue;
        }
        if last_beat.elapsed() < HEARTBEAT {
            continue;
        }
        last_beat = Instant::now();
        beats += 1;
        let alive = inner.keys.alive(&inner.sid);
        let sessions = inner.keys.sessions();
        let sid = inner.sid.clone();
        let r = inner.pool.run(false, |c| {
            ::redis::pipe()
                .cmd("SET")
                .arg(&alive)
                .arg(1)
                .arg("EX")
                .arg(4 * HEARTBEAT.as_secs())
                .ignore()
                .cmd("SADD")
                .arg(&sessions)
                .arg(&sid)
                .ignore()
                .query::<()>(c)
        });
        if r.is_ok() {
            inner.check_policy();
            if beats.is_multiple_of(SWEEP_EVERY) {
                inner.sweep();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A clean unmount: this session ends now instead of when its heartbeat expires.
        let alive = self.keys.alive(&self.sid);
        let _ = self
            .pool
            .run(false, |c| ::redis::cmd("DEL").arg(&alive).query::<()>(c));
        self.sweep_with("");
    }
}

impl Inner {
    fn now() -> String {
        time_str(SystemTime::now())
    }

    /// Refuses a change while Redis runs an evicting memory policy.
    fn writable(&self) -> StoreResult<()> {
        match &*self.pool.evicting.lock() {
            Some(why) => Err(StoreError::ReadOnly(why.clone())),
            None => Ok(()),
        }
    }

    /// Reads Redis' memory policy again (it may have been changed under the mount): an
    /// evicting one turns `vram/` read-only, with one logged error; noeviction lifts that.
    fn check_policy(&self) {
        let Ok(text) = self.pool.run(true, |c| {
            ::redis::cmd("INFO").arg("memory").query::<String>(c)
        }) else {
            return;
        };
        let policy = info_field(&text, "maxmemory_policy").unwrap_or_default();
        let mut evicting = self.pool.evicting.lock();
        match (
            evicting_policy_error(&self.pool.addr, &policy),
            evicting.is_some(),
        ) {
            (Some(why), false) => {
                log::error!("{why}; vram/ is read-only until it is noeviction again");
                *evicting = Some(why);
            }
            (None, true) => {
                info!(
                    "Redis at {} is on noeviction again; vram/ is writable",
                    self.pool.addr
                );
                *evicting = None;
            }
            _ => {}
        }
    }

    /// Gives back one open (or kernel hold) of this session.
    fn release(&self, ino: Ino) {
        let i = ino.to_string();
        match self.script(
            &self.scripts.release,
            false,
            &[i.as_bytes(), self.sid.as_bytes()],
        ) {
            Ok(v) => self.drop_chunks(array(&v)),
            // The open stays counted in this session; it is given back when the session ends.
            Err(e) => debug!("release of inode {ino}: {e}"),
        }
    }

    fn fail(&self, f: Failure) -> StoreError {
        match f {
            Failure::Hung => StoreError::Unavailable(format!(
                "Redis at {} does not answer (waiting for it to)",
                self.pool.addr
            )),
            Failure::Unreachable(e) => StoreError::Unavailable(format!(
                "Redis at {}: {}",
                self.pool.addr,
                crate::error::plain_message(&e)
            )),
            Failure::Server(e) => {
                let code = server_code(&e).unwrap_or_default();
                match code.as_str() {
                    "ENOENT" => StoreError::NotFound,
                    "EEXIST" => StoreError::Exists,
                    "ENOTDIR" => StoreError::NotDir,
                    "EISDIR" => StoreError::IsDir,
                    "ENOTEMPTY" => StoreError::NotEmpty,
                    "ENOSPC" | "OOM" => StoreError::NoSpace,
                    "EINVAL" => StoreError::Invalid,
                    "ENAMETOOLONG" => StoreError::NameTooLong,
                    "EPERM" => StoreError::NotPermitted,
                    "ENODATA" => StoreError::NoAttr,
                    "EOPNOTSUPP" => StoreError::NotSupported,
                    "EFBIG" => StoreError::TooLarge,
                    "EMLINK" => StoreError::TooManyLinks,
                    _ => StoreError::Unavailable(format!("Redis at {}: {e}", self.pool.addr)),
                }
            }
        }
    }

    /// Runs a script with `args`; `read_only` scripts may be retried on a fresh connection.
    fn script(&self, s: &Script, read_only: bool, args: &[&[u8]]) -> StoreResult<Value> {
        let meta = self.keys.meta();
        self.pool
            .run(read_only, |c| {
                let mut inv = s.key(&meta);
                for a in args {
                    inv.arg(*a);
                }
                inv.invoke::<Value>(c)
            })
            .map_err(|e| self.fail(e))
    }

    fn pipe(&self, read_only: bool, p: &::redis::Pipeline) -> StoreResult<Vec<Value>> {
        self.pool
            .run_replies(read_only, replies(p), |c| p.query::<Vec<Value>>(c))
            .map_err(|e| self.fail(e))
    }

    /// Deletes chunks a script put in the gc set, then takes them off it. A failure leaves
    /// them listed for a later sweep.
    fn drop_chunks(&self, members: &[Value]) {
        let members: Vec<&[u8]> = members.iter().filter_map(bytes).collect();
        if members.is_empty() {
            return;
        }
        for part in members.chunks(1000) {
            let mut p = ::redis::pipe();
            for m in part {
                p.cmd("DEL").arg(self.keys.gc_chunk(m)).ignore();
            }
            p.cmd("SREM").arg(self.keys.gc()).arg(part).ignore();
            if let Err(e) = self
                .pool
                .run_replies(false, replies(&p), |c| p.query::<()>(c))
            {
                debug!("deleting chunks: {}", self.fail(e));
                return;
            }
        }
    }

    fn sweep(&self) {
        self.sweep_with(&self.sid);
    }

    /// Gives back dead sessions' opens (all but `keep`'s) and collects the gc set.
    fn sweep_with(&self, keep: &str) {
        match self.script(&self.scripts.sweep, false, &[keep.as_bytes()]) {
            Ok(v) => {
                let a = array(&v);
                if let Some(n) = a.first().and_then(number).filter(|&n| n > 0) {
                    info!(
                        "gave back the open files of {n} mount(s) that ended without closing them"
                    );
                }
                if let Some(gc) = a.get(1) {
                    self.drop_chunks(array(gc));
                }
            }
            Err(e) => debug!("sweep: {e}"),
        }
        loop {
            match self.script(&self.scripts.gc_claim, false, &[b"500"]) {
                Ok(v) if !array(&v).is_empty() => {
                    let members: Vec<&[u8]> = array(&v).iter().filter_map(bytes).collect();
                    let mut p = ::redis::pipe();
                    for m in &members {
                        p.cmd("DEL").arg(self.keys.gc_chunk(m)).ignore();
                    }
                    if let Err(e) = self
                        .pool
                        .run_replies(false, replies(&p), |c| p.query::<()>(c))
                    {
                        debug!("collecting chunks: {}", self.fail(e));
                        return;
                    }
                }
                Ok(_) => return,
                Err(e) => {
                    debug!("collecting chunks: {e}");
                    return;
                }
            }
        }
    }

    /// `write` after the reservation: sends the bytes, zeroing what a grown chunk exposes.
    fn send_data(
        &self,
        ino: Ino,
        data: &[u8],
        parts: &[(u64, u64, u64)],
        olds: &[u64],
    ) -> Result<(), Failure> {
        let mut p = ::redis::pipe();
        let mut pos = 0usize;
        for (j, &(idx, from, to)) in parts.iter().enumerate() {
            let n = (to - from) as usize;
            let piece = &data[pos..pos + n];
            pos += n;
            let key = self.keys.chunk(ino, idx);
            let old = olds.get(j).copied().unwrap_or(0);
            if old == 0 && from > 0 {
                p.cmd("DEL").arg(&key).ignore();
                p.cmd("SETRANGE").arg(&key).arg(from).arg(piece).ignore();
            } else if from > old {
                let mut buf = vec![0u8; (from - old) as usize];
                buf.extend_from_slice(piece);
                p.cmd("SETRANGE").arg(&key).arg(old).arg(buf).ignore();
            } else {
                p.cmd("SETRANGE").arg(&key).arg(from).arg(piece).ignore();
            }
        }
        self.pool
            .run_replies(false, replies(&p), |c| p.query::<()>(c))
    }

    /// Undoes a write's reservation after Redis refused its bytes.
    fn unwrite(&self, ino: Ino, old_size: &[u8], new_size: &str, grown: &[(u64, u64, u64)]) {
        let ino_s = ino.to_string();
        let mut args: Vec<Vec<u8>> = vec![ino_s.into_bytes(), old_size.to_vec(), new_size.into()];
        for (idx, old, new) in grown {
            args.push(idx.to_string().into_bytes());
            args.push(old.to_string().into_bytes());
            args.push(new.to_string().into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        match self.script(&self.scripts.unwrite, false, &refs) {
            Ok(v) => {
                let mut p = ::redis::pipe();
                for idx in array(&v).iter().filter_map(number) {
                    p.cmd("DEL").arg(self.keys.chunk(ino, idx)).ignore();
                }
                let _ = self
                    .pool
                    .run_replies(false, replies(&p), |c| p.query::<()>(c));
            }
            Err(e) => warn!("undoing a refused write on inode {ino}: {e}"),
        }
    }
}

impl RamStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    /// Counted in this process only (a round trip per lookup would be too dear): an inode
    /// whose last link goes on this mount stays while the kernel holds it. Another mount's
    /// unlink does not know of it, so there the kernel may meet ESTALE, as on NFS.
    fn pin(&self, ino: Ino) -> StoreResult<()> {
        self.refs.pin(ino);
        Ok(())
    }

    fn forget(&self, ino: Ino, n: u64) {
        if self.refs.forget(ino, n) {
            // On the release thread: a forget does not wait for Redis on a FUSE thread.
            self.releasing.fetch_add(1, Ordering::AcqRel);
            if self.forgotten.send(ino).is_err() {
                self.release(ino);
                self.releasing.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn orphans(&self) -> u64 {
        self.refs.held.load(Ordering::Acquire) + self.releasing.load(Ordering::Acquire)
    }

    fn ping(&self) -> Option<Result<Duration, String>> {
        // Timed inside: taking a connection from the pool may cost a check or a reconnect.
        let r = self.inner.pool.run(false, |c| {
            let t = Instant::now();
            ::redis::cmd("PING").query::<String>(c)?;
            Ok(t.elapsed())
        });
        if r.is_ok() {
            // Stats are where a user looks: the policy is checked then too.
            self.inner.check_policy();
        }
        Some(r.map_err(|f| self.inner.fail(f).to_string()))
    }

    fn describe(&self) -> (String, Option<u64>) {
        if self.inner.pool.down.load(Ordering::Acquire) {
            return (self.name.clone(), None);
        }
        let info = self.inner.pool.run(false, |c| {
            ::redis::cmd("INFO").arg("memory").query::<String>(c)
        });
        let used = info.ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("used_memory:"))
                .and_then(|v| v.trim().parse().ok())
        });
        (self.name.clone(), used)
    }

    fn shared(&self) -> bool {
        true
    }

    fn lookup(&self, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        if name.len() > NAME_MAX {
            return Err(StoreError::NameTooLong);
        }
        let s = &self.inner.scripts.lookup;
        let p = parent.to_string();
        let v = self
            .inner
            .script(s, true, &[p.as_bytes(), name.as_bytes()])?;
        parse_attr(0, &v)
    }

    fn getattr(&self, ino: Ino) -> StoreResult<Attr> {
        let mut p = ::redis::pipe();
        p.cmd("HGETALL").arg(self.inner.keys.inode(ino));
        p.cmd("HLEN").arg(self.inner.keys.dir(ino));
        let v = self.inner.pipe(true, &p)?;
        let (fields, ne) = match v.as_slice() {
            [f, n] => (f, number(n).unwrap_or(0)),
            _ => return Err(garbled("getattr")),
        };
        let mut list = array(fields).to_vec();
        if list.is_empty() {
            return Err(StoreError::NotFound);
        }
        list.push(Value::BulkString(b"ne".to_vec()));
        list.push(Value::Int(ne as i64));
        parse_attr(ino, &Value::Array(list))
    }

    fn setattr(&self, ino: Ino, set: &SetAttr) -> StoreResult<Attr> {
        self.inner.writable()?;
        let pre = match set.size {
            Some(s) if s > MAX_FILE_SIZE => "EFBIG",
            _ => "",
        };
        let now_t = SystemTime::now();
        let time = |t: Option<TimeSet>| match t {
            None => String::new(),
            Some(TimeSet::Now) => time_str(now_t),
            Some(TimeSet::At(t)) => time_str(t),
        };
        let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        let (size, keep_idx, keep_len) = match set.size {
            Some(s) if pre.is_empty() => (
                s.to_string(),
                (s / CHUNK).to_string(),
                (s % CHUNK).to_string(),
            ),
            _ => (String::new(), String::new(), String::new()),
        };
        let args = [
            ino.to_string(),
            time_str(now_t),
            pre.to_owned(),
            opt(set.perm.map(|p| u32::from(p & 0o7777))),
            opt(set.uid),
            opt(set.gid),
            size,
            keep_idx,
            keep_len,
            time(set.atime),
            time(set.mtime),
            set.ctime.map(time_str).unwrap_or_default(),
        ];
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let v = self
            .inner
            .script(&self.inner.scripts.setattr, false, &refs)?;
        let a = array(&v);
        let attr = parse_attr(ino, a.first().ok_or_else(|| garbled("setattr"))?)?;
        if let Some(gc) = a.get(1) {
            self.inner.drop_chunks(array(gc));
        }
        Ok(attr)
    }

    fn readdir(&self, dir: Ino, after: u64, max: usize) -> StoreResult<DirPage> {
        let args = [dir.to_string(), after.to_string(), max.to_string()];
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let v = self
            .inner
            .script(&self.inner.scripts.readdir, true, &refs)?;
        let a = array(&v);
        let parent = a.first().and_then(number).unwrap_or(ROOT_INO);
        let mut entries = Vec::with_capacity(a.len() / 2);
        for pair in a[1.min(a.len())..].chunks_exact(2) {
            let name = bytes(&pair[0]).ok_or_else(|| garbled("readdir name"))?;
            let e = parse_entry(bytes(&pair[1]).ok_or_else(|| garbled("readdir entry"))?)
                .ok_or_else(|| garbled("readdir entry"))?;
            entries.push(DirEntry {
                name: OsString::from_vec(name.to_vec()),
                ino: e.0,
                kind: e.1,
                cookie: e.2,
            });
        }
        Ok(DirPage { parent, entries })
    }

    fn create(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr> {
        self.inner.writable()?;
        check_name(name)?;
        let target: &[u8] = if node.kind == Kind::Symlink {
            node.target
        } else {
            b""
        };
        let nums = [
            parent.to_string(),
            u32::from(node.perm & 0o7777).to_string(),
            node.uid.to_string(),
            node.gid.to_string(),
            node.rdev.to_string(),
            Inner::now(),
            self.inner.limit.to_string(),
        ];
        let args: [&[u8]; 10] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            kind_char(node.kind).as_bytes(),
            nums[1].as_bytes(),
            nums[2].as_bytes(),
            nums[3].as_bytes(),
            nums[4].as_bytes(),
            target,
            nums[5].as_bytes(),
            nums[6].as_bytes(),
        ];
        let v = self
            .inner
            .script(&self.inner.scripts.create, false, &args)?;
        parse_attr(0, &v)
    }

    fn link(&self, ino: Ino, newparent: Ino, newname: &OsStr) -> StoreResult<Attr> {
        self.inner.writable()?;
        check_name(newname)?;
        let nums = [ino.to_string(), newparent.to_string(), Inner::now()];
        let args: [&[u8]; 4] = [
            nums[0].as_bytes(),
            nums[1].as_bytes(),
            newname.as_bytes(),
            nums[2].as_bytes(),
        ];
        let v = self.inner.script(&self.inner.scripts.link, false, &args)?;
        parse_attr(ino, &v)
    }

    fn unlink(&self, parent: Ino, name: &OsStr) -> StoreResult<()> {
        self.inner.writable()?;
        self.remove(parent, name, false)
    }

    fn rmdir(&self, parent: Ino, name: &OsStr) -> StoreResult<()> {
        self.inner.writable()?;
        self.remove(parent, name, true)
    }

    fn rename(
        &self,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        mode: RenameMode,
    ) -> StoreResult<()> {
        self.inner.writable()?;
        check_name(name)?;
        check_name(newname)?;
        let mode = match mode {
            RenameMode::Replace => "r",
            RenameMode::NoReplace => "n",
            RenameMode::Exchange => "x",
        };
        let nums = [parent.to_string(), newparent.to_string(), Inner::now()];
        let args: [&[u8]; 7] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            nums[1].as_bytes(),
            newname.as_bytes(),
            mode.as_bytes(),
            nums[2].as_bytes(),
            self.inner.sid.as_bytes(),
        ];
        let v = self
            .inner
            .script(&self.inner.scripts.rename, false, &args)?;
        self.unlinked(&v);
        Ok(())
    }

    fn readlink(&self, ino: Ino) -> StoreResult<Vec<u8>> {
        let mut p = ::redis::pipe();
        p.cmd("HMGET")
            .arg(self.inner.keys.inode(ino))
            .arg("k")
            .arg("t");
        let v = self.inner.pipe(true, &p)?;
        let f = v.first().map(array).unwrap_or(&[]);
        match (f.first().and_then(bytes), f.get(1).and_then(bytes)) {
            (None, _) => Err(StoreError::NotFound),
            (Some(b"l"), Some(t)) => Ok(t.to_vec()),
            (Some(b"l"), None) => Ok(Vec::new()),
            _ => Err(StoreError::Invalid),
        }
    }

    fn open(&self, ino: Ino) -> StoreResult<()> {
        let i = ino.to_string();
        self.inner.script(
            &self.inner.scripts.open,
            false,
            &[i.as_bytes(), self.inner.sid.as_bytes()],
        )?;
        Ok(())
    }

    fn release(&self, ino: Ino) {
        self.inner.release(ino);
    }

    fn read(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>> {
        let end = offset.saturating_add(u64::from(size)).min(MAX_FILE_SIZE);
        let parts = spans(offset, end);
        let keys = &self.inner.keys;
        // MULTI/EXEC: size, chunk lengths and bytes are read at one instant, so a truncate or
        // write from another mount cannot land between them and tear the read (a write that
        // has reserved its length but not yet sent its bytes still reads as zeros there).
        let mut p = ::redis::pipe();
        p.atomic();
        p.cmd("HMGET").arg(keys.inode(ino)).arg("k").arg("s");
        if !parts.is_empty() {
            let c = p.cmd("HMGET").arg(keys.lens(ino));
            for (idx, _, _) in &parts {
                c.arg(*idx);
            }
        }
        for (idx, from, to) in &parts {
            p.cmd("GETRANGE")
                .arg(keys.chunk(ino, *idx))
                .arg(*from)
                .arg(*to - 1);
        }
        let v = self.inner.pipe(true, &p)?;
        let head = v.first().map(array).unwrap_or(&[]);
        match head.first().and_then(bytes) {
            None => return Err(StoreError::NotFound),
            Some(b"f") => {}
            Some(b"d") => return Err(StoreError::IsDir),
            Some(_) => return Err(StoreError::Invalid),
        }
        let file_size = head.get(1).and_then(number).unwrap_or(0);
        if offset >= file_size {
            return Ok(Vec::new());
        }
        let stop = end.min(file_size);
        let mut out = vec![0u8; (stop - offset) as usize];
        let lens = v.get(1).map(array).unwrap_or(&[]);
        for (j, (idx, from, to)) in parts.iter().enumerate() {
            let base = idx * CHUNK;
            if base + from >= stop {
                break;
            }
            let len = lens.get(j).and_then(number).unwrap_or(0);
            let valid_to = (*to).min(len).min(stop - base);
            if valid_to <= *from {
                continue;
            }
            let data = v.get(2 + j).and_then(bytes).unwrap_or(&[]);
            let n = (data.len() as u64).min(valid_to - from) as usize;
            let dst = (base + from - offset) as usize;
            out[dst..dst + n].copy_from_slice(&data[..n]);
        }
        Ok(out)
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> StoreResult<Attr> {
        self.inner.writable()?;
        let end = offset.checked_add(data.len() as u64);
        let (pre, end) = match end {
            Some(e) if e <= MAX_FILE_SIZE => ("", e),
            _ => ("EFBIG", offset),
        };
        let parts = if pre.is_empty() {
            spans(offset, end)
        } else {
            Vec::new()
        };
        let end_s = if data.is_empty() || !pre.is_empty() {
            String::new()
        } else {
            end.to_string()
        };
        let mut args: Vec<String> = vec![
            ino.to_string(),
            Inner::now(),
            self.inner.limit.to_string(),
            pre.to_owned(),
            end_s.clone(),
        ];
        for (idx, from, to) in &parts {
            args.push(idx.to_string());
            args.push(from.to_string());
            args.push(to.to_string());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let v = self.inner.script(&self.inner.scripts.write, false, &refs)?;
        let a = array(&v);
        let attr = parse_attr(ino, a.first().ok_or_else(|| garbled("write"))?)?;
        if parts.is_empty() {
            return Ok(attr);
        }
        let olds: Vec<u64> = a
            .get(1)
            .map(array)
            .unwrap_or(&[])
            .iter()
            .map(|v| number(v).unwrap_or(0))
            .collect();
        match self.inner.send_data(ino, data, &parts, &olds) {
            Ok(()) => Ok(attr),
            Err(f) => {
                let e = self.inner.fail(f);
                // Whatever stopped the data (Redis OOM, an outage), give the reservation back
                // (best effort), so a failed write does not leave the file longer with zeros.
                {
                    let grown: Vec<(u64, u64, u64)> = parts
                        .iter()
                        .zip(&olds)
                        .filter(|((_, _, to), old)| to > old)
                        .map(|((idx, _, to), old)| (*idx, *old, *to))
                        .collect();
                    let old_size = a.get(2).and_then(bytes).unwrap_or(b"0").to_vec();
                    let new_size = if attr.size.to_string() == end_s {
                        end_s
                    } else {
                        String::new()
                    };
                    self.inner.unwrite(ino, &old_size, &new_size, &grown);
                }
                Err(e)
            }
        }
    }

    fn fallocate(&self, ino: Ino, offset: u64, len: u64, mode: Falloc) -> StoreResult<()> {
        self.inner.writable()?;
        let end = offset.checked_add(len).filter(|&e| e <= MAX_FILE_SIZE);
        let pre = match (end, len) {
            (None, _) => "EFBIG",
            (_, 0) => "EINVAL",
            _ => "",
        };
        let end = end.unwrap_or(offset);
        let ino_s = ino.to_string();
        let now = Inner::now();
        let keys = &self.inner.keys;
        match mode {
            Falloc::Allocate { keep_size } => {
                // More than the whole store: refused before the script walks its chunks.
                if pre.is_empty() && len > self.inner.limit {
                    return Err(StoreError::NoSpace);
                }
                let (first, last, last_len) = if pre.is_empty() {
                    let last = (end - 1) / CHUNK;
                    (offset / CHUNK, last, end - last * CHUNK)
                } else {
                    (0, 0, 0)
                };
                let args = [
                    ino_s,
                    now,
                    self.inner.limit.to_string(),
                    pre.to_owned(),
                    if keep_size { "1" } else { "0" }.to_owned(),
                    end.to_string(),
                    first.to_string(),
                    last.to_string(),
                    last_len.to_string(),
                ];
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let v = self
                    .inner
                    .script(&self.inner.scripts.allocate, false, &refs)?;
                let grown: Vec<u64> = array(&v).iter().filter_map(number).collect();
                let mut p = ::redis::pipe();
                for g in grown.chunks_exact(3) {
                    let (idx, old, new) = (g[0], g[1], g[2]);
                    let key = keys.chunk(ino, idx);
                    if old == 0 {
                        p.cmd("DEL").arg(key).ignore();
                    } else {
                        let zeros = zeros_between(old, new);
                        p.cmd("SETRANGE").arg(key).arg(old).arg(zeros).ignore();
                    }
                }
                if !p.is_empty() {
                    self.inner.pipe(false, &p)?;
                }
                Ok(())
            }
            Falloc::PunchHole | Falloc::ZeroRange { .. } => {
                let grow = matches!(mode, Falloc::ZeroRange { keep_size: false });
                let args = [
                    ino_s,
                    now,
                    pre.to_owned(),
                    if grow { "1" } else { "0" }.to_owned(),
                    offset.to_string(),
                    end.to_string(),
                ];
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let v = self.inner.script(&self.inner.scripts.zero, false, &refs)?;
                let a = array(&v);
                let mids: Vec<u64> = a
                    .get(1)
                    .map(array)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(number)
                    .collect();
                let mut p = ::redis::pipe();
                for m in mids.chunks_exact(3) {
                    let zeros = zeros_between(m[1], m[2]);
                    p.cmd("SETRANGE")
                        .arg(keys.chunk(ino, m[0]))
                        .arg(m[1])
                        .arg(zeros)
                        .ignore();
                }
                if !p.is_empty() {
                    self.inner.pipe(false, &p)?;
                }
                if let Some(gc) = a.first() {
                    self.inner.drop_chunks(array(gc));
                }
                Ok(())
            }
        }
    }

    fn setxattr(&self, ino: Ino, name: &OsStr, value: &[u8], how: XattrSet) -> StoreResult<()> {
        self.inner.writable()?;
        if name.is_empty() {
            return Err(StoreError::Invalid);
        }
        if name.len() > NAME_MAX {
            return Err(StoreError::NameTooLong);
        }
        if value.len() > XATTR_SIZE_MAX {
            return Err(StoreError::TooLarge);
        }
        let how = match how {
            XattrSet::Any => "a",
            XattrSet::Create => "c",
            XattrSet::Replace => "r",
        };
        let nums = [ino.to_string(), Inner::now(), self.inner.limit.to_string()];
        let args: [&[u8]; 6] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            value,
            how.as_bytes(),
            nums[1].as_bytes(),
            nums[2].as_bytes(),
        ];
        self.inner
            .script(&self.inner.scripts.setxattr, false, &args)?;
        Ok(())
    }

    fn getxattr(&self, ino: Ino, name: &OsStr) -> StoreResult<Vec<u8>> {
        let mut p = ::redis::pipe();
        p.cmd("HEXISTS").arg(self.inner.keys.inode(ino)).arg("k");
        p.cmd("HGET")
            .arg(self.inner.keys.xattrs(ino))
            .arg(name.as_bytes());
        let v = self.inner.pipe(true, &p)?;
        if v.first().and_then(number) != Some(1) {
            return Err(StoreError::NotFound);
        }
        v.get(1)
            .and_then(bytes)
            .map(<[u8]>::to_vec)
            .ok_or(StoreError::NoAttr)
    }

    fn listxattr(&self, ino: Ino) -> StoreResult<Vec<OsString>> {
        let mut p = ::redis::pipe();
        p.cmd("HEXISTS").arg(self.inner.keys.inode(ino)).arg("k");
        p.cmd("HKEYS").arg(self.inner.keys.xattrs(ino));
        let v = self.inner.pipe(true, &p)?;
        if v.first().and_then(number) != Some(1) {
            return Err(StoreError::NotFound);
        }
        let mut names: Vec<OsString> = v
            .get(1)
            .map(array)
            .unwrap_or(&[])
            .iter()
            .filter_map(bytes)
            .map(|b| OsString::from_vec(b.to_vec()))
            .collect();
        names.sort();
        Ok(names)
    }

    fn removexattr(&self, ino: Ino, name: &OsStr) -> StoreResult<()> {
        self.inner.writable()?;
        let nums = [ino.to_string(), Inner::now()];
        let args: [&[u8]; 3] = [nums[0].as_bytes(), name.as_bytes(), nums[1].as_bytes()];
        self.inner
            .script(&self.inner.scripts.removexattr, false, &args)?;
        Ok(())
    }

    /// The last counts read while Redis is down (the ping that found it down had to wait
    /// already), else fresh ones.
    fn usage(&self) -> Usage {
        if self.inner.pool.down.load(Ordering::Acquire) {
            return *self.inner.usage.lock();
        }
        let mut p = ::redis::pipe();
        p.cmd("HMGET")
            .arg(self.inner.keys.meta())
            .arg("used")
            .arg("files")
            .arg("dirs");
        match self.inner.pipe(true, &p) {
            Ok(v) => {
                let f = v.first().map(array).unwrap_or(&[]);
                let n = |i: usize| f.get(i).and_then(number).unwrap_or(0);
                let u = Usage {
                    bytes: n(0),
                    limit: self.inner.limit,
                    files: n(1),
                    dirs: n(2),
                };
                *self.inner.usage.lock() = u;
                u
            }
            Err(_) => *self.inner.usage.lock(),
        }
    }
}

/// `<ino> <kind> <cookie>`.
fn parse_entry(e: &[u8]) -> Option<(Ino, Kind, u64)> {
    let s = std::str::from_utf8(e).ok()?;
    let mut it = s.split(' ');
    let ino = it.next()?.parse().ok()?;
    let kind = kind_of(it.next()?.as_bytes())?;
    let cookie = it.next()?.parse().ok()?;
    Some((ino, kind, cookie))
}

impl RedisStore {
    fn remove(&self, parent: Ino, name: &OsStr, dir: bool) -> StoreResult<()> {
        if name.as_bytes() == b"." {
            return Err(StoreError::Invalid);
        }
        if name.as_bytes() == b".." {
            return Err(StoreError::NotEmpty);
        }
        check_name(name)?;
        let nums = [parent.to_string(), Inner::now()];
        let args: [&[u8]; 5] = [
            nums[0].as_bytes(),
            name.as_bytes(),
            if dir { b"1" } else { b"0" },
            nums[1].as_bytes(),
            self.inner.sid.as_bytes(),
        ];
        let v = self
            .inner
            .script(&self.inner.scripts.remove, false, &args)?;
        self.unlinked(&v);
        Ok(())
    }

    /// After a remove or rename: keeps the inode whose last link went (the script's answer)
    /// only while this mount's kernel still holds it.
    fn unlinked(&self, v: &Value) {
        let held = number(v).unwrap_or(0);
        // Held by nobody: given back now, so the unlink's space is free when it returns.
        if held != 0 && !self.refs.adopt(held) {
            self.release(held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KernelRefs;

    #[test]
    fn a_held_inode_is_given_back_once_on_its_last_forget() {
        let r = KernelRefs::new();
        r.pin(7);
        r.pin(7);
        assert!(r.adopt(7), "the kernel holds it: kept");
        assert!(
            !r.adopt(7),
            "already kept: the caller gives the new hold back"
        );
        assert!(!r.forget(7, 1), "one reference left");
        assert!(r.forget(7, 1), "the last one: give it back");
        assert!(
            !r.forget(7, 1),
            "gone from the table: nothing more to give back"
        );
    }

    #[test]
    fn an_inode_the_kernel_no_longer_holds_is_not_kept() {
        let r = KernelRefs::new();
        assert!(!r.adopt(3), "never pinned");
        r.pin(3);
        assert!(!r.forget(3, 1), "not held: nothing to give back");
        assert!(!r.adopt(3), "forgotten before the unlink returned");
        r.pin(4);
        assert!(!r.forget(4, 5), "more forgets than pins do not underflow");
        assert!(!r.adopt(4));
    }
}
