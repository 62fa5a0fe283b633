//! `RedisStore`: the RAM tier on a Redis server, persistent and shared by every mount that
//! uses the same server and prefix.
//!
//! Key layout under the prefix `P` (default `mavfs`). Metadata keys carry the hash tag `{P}`,
//! so one prefix's metadata lives in one Redis Cluster slot and a Lua script may touch all of
//! it; slice keys carry no tag, so file data spreads over a cluster.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{P}:meta` | hash | `format` (`mavfs-vram-2`), `next_ino`, `next_slice`, `used` (bytes), `files`, `dirs`, `next_session` |
//! | `{P}:i:<ino>` | hash | one inode: `k` kind (`f d l p s c b`), `m` mode bits, `n` nlink, `u` `g` `r`, `s` size, `a` bytes held, `xb` xattr bytes, `at` `mt` `ct` `bt` times (`secs.nanos`), `o` open count; a dir adds `p` parent and `c` next cookie; a symlink `t` target |
//! | `{P}:d:<ino>` | hash | a directory's entries: name → `<ino> <kind> <cookie>` |
//! | `{P}:dc:<ino>` | sorted set | the same names scored by cookie, for paged readdir |
//! | `{P}:x:<ino>` | hash | extended attributes: name → value |
//! | `{P}:l:<ino>` | hash | a file's data per 1 MiB chunk: index → `<len>` then `\|<sid>:<pos>:<n>:<soff>` per slice |
//! | `{P}:gc` | set | ids of slices no chunk names any more, to delete |
//! | `{P}:sessions`, `{P}:alive:<sid>`, `{P}:s:<sid>` | set, string (TTL), hash | mounts, their heartbeat, their open count per inode |
//! | `P:s:<sid>` | string | a slice: the bytes of one write into one chunk |
//!
//! Invariants:
//! - every metadata change (create, link, unlink, rmdir, rename, setattr, open, release, the
//!   publication of a write) is one Lua script: atomic and one round trip. A script checks
//!   everything before its first write, so a refusal changes nothing.
//! - file data is in slices, written once and never changed: a chunk holds bytes `[0, len)`;
//!   bytes `[pos, pos+n)` of it are bytes `[soff, soff+n)` of slice `sid`; the slices of a
//!   chunk are disjoint, and bytes none covers read as zeros. A write sends its pieces as new
//!   slices, then the write script (same round trip, after them) checks they landed and
//!   publishes them, cutting what they cover out of the older slices. So a write is atomic
//!   against every other operation on the file, from any thread or mount, and a refused write
//!   (Redis out of memory) publishes nothing. On a cluster the slices live in other slots than
//!   the script's keys; there they are sent first and the script publishes them after.
//! - a read takes the chunk list and the slices' bytes in one script, so it never sees half a
//!   write (on one server, where the slices are local to the script).
//! - slice ids come from `next_slice` and are never reused; a slice no chunk names goes to
//!   `{P}:gc` in the same script that unnames it, and is deleted after (by the janitor thread,
//!   else by the sweep at mount and every minute). A chunk cut into more than `COMPACT_AT`
//!   slices is rewritten as one, if it did not change meanwhile.
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

use std::collections::{HashMap, HashSet};
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
pub const FORMAT: &str = "mavfs-vram-2";
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
/// Slice ids a mount takes from `{P}:meta` at once.
const SID_BATCH: u64 = 1024;
/// A chunk in more slices than this is rewritten as one (by the janitor thread).
const COMPACT_AT: u64 = 32;

/// Certificates for a rediss:// server (PEM bytes).
#[derive(Clone, Default)]
pub struct RedisTls {
    /// The CA that signed the server's certificate; None: the system's roots.
    pub ca: Option<Vec<u8>>,
    /// A client certificate and its key, for a server that asks for one.
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RedisTls")
            .field("ca", &self.ca.is_some())
            .field("cert", &self.cert.is_some())
            .finish()
    }
}

/// Where the store lives: a validated URL, the key prefix and the timeout.
#[derive(Clone)]
pub struct RedisTarget {
    /// `redis://[user:pass@]host:port/db` (or `unix:///path?db=N`).
    pub url: String,
    pub prefix: String,
    /// Bound on connecting and on waiting for any answer.
    pub timeout: Duration,
    /// For a rediss:// URL.
    pub tls: Option<RedisTls>,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the password.
        f.debug_struct("RedisTarget")
            .field("url", &redact(&self.url))
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

impl RedisTarget {
    pub fn new(url: &str, prefix: &str) -> Self {
        RedisTarget {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            tls: None,
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
    fn slice(&self, sid: u64) -> String {
        format!("{}:s:{sid}", self.plain)
    }
    /// A slice key from a `{P}:gc` member (a slice id).
    fn gc_slice(&self, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.plain.len() + 3 + member.len());
        k.extend_from_slice(self.plain.as_bytes());
        k.extend_from_slice(b":s:");
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
const PRELUDE: &str = include_str!("lua/prelude.lua");

/// ARGV: format, uid, gid, now, and the first inode number (1 if not given).
const INIT: &str = include_str!("lua/init.lua");

/// ARGV: parent, name. Returns the attributes of the entry.
const LOOKUP: &str = include_str!("lua/lookup.lua");

/// ARGV: dir, after, max. Returns {parent, name, entry, name, entry, ...}.
const READDIR: &str = include_str!("lua/readdir.lua");

/// ARGV: parent, name, kind, perm, uid, gid, rdev, target, now, limit.
const CREATE: &str = include_str!("lua/create.lua");

/// ARGV: ino, newparent, newname, now.
const LINK: &str = include_str!("lua/link.lua");

/// unlink and rmdir. ARGV: parent, name, '1' for rmdir, now, session. Returns the file or
/// directory kept for the session (its last link went), or 0.
const REMOVE: &str = include_str!("lua/remove.lua");

/// ARGV: parent, name, newparent, newname, mode (r n x), now, session. Returns the replaced
/// file or directory kept for the session (its last link went), or 0.
const RENAME: &str = include_str!("lua/rename.lua");

/// ARGV: ino, now, error to give after the existence check (or ''), perm, uid, gid, size,
/// index of the chunk holding the new end, bytes of it kept, atime, mtime, ctime ('' = keep).
/// Returns {attr, chunks to delete}.
const SETATTR: &str = include_str!("lua/setattr.lua");

/// ARGV: ino, now, limit, error to give after the existence check (or ''), new end ('' for an
/// empty write), then per chunk touched: index, first byte, end byte (within the chunk).
/// Returns {attr, the chunks' lengths before, the size before}.
const WRITE: &str = include_str!("lua/write.lua");

/// Undoes the reservation of a write whose data Redis refused. ARGV: ino, size before, size
/// set, then per chunk grown: index, length before, length set. Returns the chunks that were
/// created by the write and are empty again.
const READ: &str = include_str!("lua/read.lua");
const SIDS: &str = include_str!("lua/sids.lua");
const COMPACT: &str = include_str!("lua/compact.lua");

/// fallocate mode 0. ARGV: ino, now, limit, error after the existence check (or ''), '1' to
/// keep the size, end, first chunk, last chunk, bytes wanted in the last chunk.
/// Returns {index, length before, length after} of every chunk that grew.
const ALLOCATE: &str = include_str!("lua/allocate.lua");

/// Punch hole and zero range. ARGV: ino, now, error after the existence check (or ''),
/// '1' to grow the size to the end, offset, end. Returns {chunks to delete, and per chunk
/// whose middle must be zeroed: index, from, to}.
const ZERO: &str = include_str!("lua/zero.lua");

/// ARGV: ino, name, value, how (a c r), now, limit.
const SETXATTR: &str = include_str!("lua/setxattr.lua");

/// ARGV: ino, name, now.
const REMOVEXATTR: &str = include_str!("lua/removexattr.lua");

/// ARGV: ino, session.
const OPEN: &str = include_str!("lua/open.lua");

/// ARGV: ino, session. Returns the chunks to delete.
const RELEASE: &str = include_str!("lua/release.lua");

/// Gives back the opens of mounts whose heartbeat has expired. ARGV: this mount's session.
/// Returns {sessions reaped, chunks to delete}.
const SWEEP: &str = include_str!("lua/sweep.lua");

/// Takes up to ARGV[1] entries off the gc set and returns those whose chunk is not in use.
const GC_CLAIM: &str = include_str!("lua/gc_claim.lua");

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
    read: Script,
    compact: Script,
    sids: Script,
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
            read: s(READ, ReadOnly),
            sids: s(SIDS, Takes),
            compact: s(COMPACT, Frees),
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

/// Whether a server error (or one inside a pipeline's errors) has this code.
fn has_code(e: &RedisError, code: &str) -> bool {
    e.code() == Some(code)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errs| errs.iter().any(|(_, s)| s.code() == code))
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
    /// Slice ids taken from `{P}:meta` and not used yet: `[next, end)`.
    sids: Mutex<(u64, u64)>,
    /// Who owns a root directory made anew (`revive`).
    root_owner: (u32, u32),
}

/// Work a write leaves for later, off the caller's round trip: deleting the slices it made
/// unused, and rewriting a fragmented chunk as one slice.
enum Chore {
    Drop(Vec<Vec<u8>>),
    Compact(Ino, u64),
}

/// Queues chores for the janitor thread.
struct Janitor {
    tx: mpsc::Sender<Chore>,
    /// Chunks queued for compaction, so that a burst of writes queues each once.
    queued: Arc<Mutex<HashSet<(Ino, u64)>>>,
}

impl Janitor {
    fn drop_slices(&self, members: &[Value]) {
        let m: Vec<Vec<u8>> = members
            .iter()
            .filter_map(bytes)
            .map(<[u8]>::to_vec)
            .collect();
        if !m.is_empty() {
            // Refused only once the thread is gone (unmount): the gc set still lists them.
            let _ = self.tx.send(Chore::Drop(m));
        }
    }

    fn compact(&self, ino: Ino, idx: u64) {
        if self.queued.lock().insert((ino, idx)) {
            let _ = self.tx.send(Chore::Compact(ino, idx));
        }
    }
}

fn janitor(inner: Weak<Inner>, rx: mpsc::Receiver<Chore>, queued: Arc<Mutex<HashSet<(Ino, u64)>>>) {
    for chore in rx {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match chore {
            Chore::Drop(m) => {
                let m: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
                inner.drop_members(&m);
            }
            Chore::Compact(ino, idx) => {
                queued.lock().remove(&(ino, idx));
                inner.compact(ino, idx);
            }
        }
    }
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
    janitor: Janitor,
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
        let info = info.set_redis_settings(settings);
        let client = match &target.tls {
            None => ::redis::Client::open(info),
            Some(t) => {
                // rustls needs a crypto provider; installing it twice is harmless.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let client_tls = match (&t.cert, &t.key) {
                    (Some(cert), Some(key)) => Some(::redis::ClientTlsConfig {
                        client_cert: cert.clone(),
                        client_key: key.clone(),
                    }),
                    _ => None,
                };
                ::redis::Client::build_with_tls(
                    info,
                    ::redis::TlsCertificates {
                        client_tls,
                        root_cert: t.ca.clone(),
                    },
                )
            }
        }
        .map_err(bad_url)?;
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
            sids: Mutex::new((0, 0)),
            root_owner: (uid, gid),
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
        let (chores, todo) = mpsc::channel();
        let queued = Arc::new(Mutex::new(HashSet::new()));
        let weak = Arc::downgrade(&inner);
        let q = queued.clone();
        std::thread::Builder::new()
            .name("redis-janitor".into())
            .spawn(move || janitor(weak, todo, q))
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
            janitor: Janitor { tx: chores, queued },
            _stop: stop,
        })
    }

    /// What the user should know about the server (e.g. an evicting memory policy).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Where inode numbers start again after Redis lost them: past any this or another mount
/// handed out before (a kernel may still hold those), by starting from the clock (16,384 a
/// second since 1970). Below 10^14: the scripts' numbers print exactly only up to there.
fn fresh_inodes() -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    (secs << 14).min(99_999_999_999_999)
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
pub fn redact(url: &str) -> String {
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
    first_key(
        con,
        &[
            format!("{}:*", Keys::glob_escape(&keys.plain)),
            format!("{}:*", Keys::glob_escape(&keys.tag)),
        ],
    )
}

/// The first key found that matches one of `patterns`.
fn first_key(con: &mut Connection, patterns: &[String]) -> RedisResult<Option<String>> {
    for pattern in patterns {
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<Vec<u8>>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
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
            inner.revive();
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

    /// After Redis lost the prefix's data under the mount (FLUSHALL, a restart without
    /// persistence): with no inode or slice left, `vram/` starts again empty, said in one
    /// logged error; with some left (someone deleted keys by hand), `vram/` turns read-only
    /// rather than build on half a tree.
    fn revive(&self) {
        let meta = self.keys.meta();
        let root = self.keys.inode(ROOT_INO);
        let Ok(n) = self.pool.run(true, |c| {
            ::redis::cmd("EXISTS").arg(&meta).arg(&root).query::<u64>(c)
        }) else {
            return;
        };
        if n == 2 {
            return;
        }
        let patterns = [
            format!("{}:i:*", Keys::glob_escape(&self.keys.tag)),
            format!("{}:l:*", Keys::glob_escape(&self.keys.tag)),
            format!("{}:s:*", Keys::glob_escape(&self.keys.plain)),
        ];
        match self.pool.run(true, |c| first_key(c, &patterns)) {
            Ok(None) if n == 0 => {
                let (uid, gid) = self.root_owner;
                let answer = self.pool.run(false, |c| {
                    self.scripts
                        .init
                        .key(&meta)
                        .arg(FORMAT)
                        .arg(uid)
                        .arg(gid)
                        .arg(Self::now())
                        .arg(fresh_inodes())
                        .invoke::<Value>(c)
                });
                if answer.is_ok() {
                    *self.sids.lock() = (0, 0);
                    log::error!(
                        "Redis at {} lost all of vram/ (prefix {}: FLUSHALL, or a restart \
                         without persistence); vram/ starts again, empty",
                        self.pool.addr,
                        self.keys.plain
                    );
                }
            }
            Ok(_) => {
                let why = format!(
                    "Redis at {} lost part of prefix {} (its {} is gone)",
                    self.pool.addr,
                    self.keys.plain,
                    if n == 0 {
                        "meta and root"
                    } else {
                        "meta or root"
                    }
                );
                let mut ro = self.pool.evicting.lock();
                if ro.is_none() {
                    log::error!("{why}; vram/ is read-only, remount once it is repaired");
                    *ro = Some(why);
                }
            }
            Err(_) => {}
        }
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
                    "ELOST" => {
                        // An id counter would start again over live data: never.
                        self.revive();
                        StoreError::Unavailable(format!(
                            "Redis at {} lost prefix {}'s metadata",
                            self.pool.addr, self.keys.plain
                        ))
                    }
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
        self.drop_members(&members);
    }

    fn drop_members(&self, members: &[&[u8]]) {
        if members.is_empty() {
            return;
        }
        for part in members.chunks(1000) {
            let mut p = ::redis::pipe();
            for m in part {
                p.cmd("DEL").arg(self.keys.gc_slice(m)).ignore();
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
                        p.cmd("DEL").arg(self.keys.gc_slice(m)).ignore();
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

    /// `n` fresh slice ids. Ids are never reused, so a reader holding a chunk list never
    /// meets another slice under an id it names. This mount takes them from `{P}:meta`
    /// `next_slice` a batch at a time.
    fn take_sids(&self, n: usize) -> StoreResult<Vec<u64>> {
        let mut ids = self.sids.lock();
        if ids.1 - ids.0 < n as u64 {
            let want = SID_BATCH.max(n as u64);
            let end = self.script(&self.scripts.sids, false, &[want.to_string().as_bytes()])?;
            let end = number(&end).ok_or_else(|| garbled("slice ids"))?;
            *ids = (end - want + 1, end + 1);
        }
        let first = ids.0;
        ids.0 += n as u64;
        Ok((first..first + n as u64).collect())
    }

    /// Sends each piece as a new slice and publishes them with the write script, in one
    /// round trip. The script runs after the slices landed and checks they did (Redis may
    /// refuse a string for memory): a write is published whole or not at all, atomically
    /// against every other operation on the file, whatever the number of writers.
    fn commit_write(&self, args: &[String], slices: &[(String, &[u8])]) -> StoreResult<Value> {
        let meta = self.keys.meta();
        let mut inv = self.scripts.write.key(&meta);
        for (key, _) in slices {
            inv.key(key);
        }
        for a in args {
            inv.arg(a.as_str());
        }
        let answer = self.set_then_script(slices, &inv).map_err(|f| self.fail(f));
        if answer.is_err() {
            // Not published: the slices are nobody's (best effort; a crash leaves them to
            // the collector of unpublished slices).
            let mut p = ::redis::pipe();
            for (key, _) in slices {
                p.cmd("DEL").arg(key).ignore();
            }
            let _ = self
                .pool
                .run_replies(false, replies(&p), |c| p.query::<()>(c));
        }
        answer
    }

    /// SETs each `(key, bytes)`, then runs `inv`, in one round trip; the script's answer.
    fn set_then_script(
        &self,
        sets: &[(String, &[u8])],
        inv: &::redis::ScriptInvocation<'_>,
    ) -> Result<Value, Failure> {
        let mut p = ::redis::pipe();
        for (key, bytes) in sets {
            p.cmd("SET").arg(key).arg(*bytes).ignore();
        }
        p.invoke_script(inv);
        match self
            .pool
            .run_replies(false, replies(&p), |c| p.query::<Vec<Value>>(c))
        {
            Ok(mut v) => Ok(v.pop().unwrap_or(Value::Nil)),
            // A pipeline does not load a script Redis does not know yet (a new server, a
            // restart): the SETs landed, so only the script runs again (invoke loads it).
            Err(Failure::Server(e)) if has_code(&e, "NOSCRIPT") => {
                self.pool.run(false, |c| inv.invoke::<Value>(c))
            }
            Err(f) => Err(f),
        }
    }

    /// Rewrites a chunk split in many slices as one, unless it changed meanwhile. Run on
    /// the janitor thread, after the write that found it fragmented.
    fn compact(&self, ino: Ino, idx: u64) {
        let entry = self.pool.run(true, |c| {
            ::redis::cmd("HGET")
                .arg(self.keys.lens(ino))
                .arg(idx)
                .query::<Option<Vec<u8>>>(c)
        });
        let entry = match entry {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(f) => {
                debug!("compacting chunk {idx} of inode {ino}: {}", self.fail(f));
                return;
            }
        };
        let len = entry
            .split(|&b| b == b'|')
            .next()
            .and_then(|l| std::str::from_utf8(l).ok()?.parse::<u64>().ok())
            .unwrap_or(0)
            .min(CHUNK);
        if len == 0 {
            return;
        }
        let bytes = match self.read_spans(ino, &[(idx, 0, len)]) {
            Ok(b) => b,
            Err(e) => {
                debug!("compacting chunk {idx} of inode {ino}: {e}");
                return;
            }
        };
        let Some(Some(data)) = bytes.chunks.into_iter().next() else {
            return;
        };
        let Ok(sid) = self.take_sids(1).map(|v| v[0]) else {
            return;
        };
        let key = self.keys.slice(sid);
        let meta = self.keys.meta();
        let (ino_s, idx_s, sid_s) = (ino.to_string(), idx.to_string(), sid.to_string());
        let mut inv = self.scripts.compact.key(&meta);
        inv.arg(&ino_s)
            .arg(&idx_s)
            .arg(entry.as_slice())
            .arg(&sid_s);
        match self.set_then_script(&[(key.clone(), data.as_slice())], &inv) {
            Ok(Value::Array(gc)) => self.drop_chunks(&gc),
            other => {
                match other {
                    Ok(_) => debug!("chunk {idx} of inode {ino} changed while it was compacted"),
                    Err(f) => debug!("compacting chunk {idx} of inode {ino}: {}", self.fail(f)),
                }
                // Not published: the new slice is nobody's.
                let _ = self
                    .pool
                    .run(false, |c| ::redis::cmd("DEL").arg(&key).query::<()>(c));
            }
        }
    }

    /// Reads the chunk spans `(index, first, end)` of a file in one atomic step.
    fn read_spans(&self, ino: Ino, parts: &[(u64, u64, u64)]) -> StoreResult<ReadOut> {
        let mut args: Vec<String> = Vec::with_capacity(1 + 3 * parts.len());
        args.push(ino.to_string());
        for (idx, from, to) in parts {
            args.push(idx.to_string());
            args.push(from.to_string());
            args.push(to.to_string());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let v = self.script(&self.scripts.read, true, &refs)?;
        let a = array(&v);
        let kind = a.first().and_then(bytes).ok_or(StoreError::NotFound)?;
        let kind = kind_of(kind).ok_or_else(|| garbled("inode kind"))?;
        let size = a.get(1).and_then(number).unwrap_or(0);
        let mut chunks = Vec::with_capacity(parts.len());
        for (j, (_, from, to)) in parts.iter().enumerate() {
            let Some(got) = a.get(2 + j) else {
                chunks.push(None);
                continue;
            };
            // The span's bytes, zeros where no slice lies.
            let mut buf = vec![0u8; (to - from) as usize];
            let got = array(got);
            for pair in got.chunks_exact(2) {
                let (Some(at), Some(data)) = (number(&pair[0]), bytes(&pair[1])) else {
                    return Err(garbled("read"));
                };
                let Some(dst) = at.checked_sub(*from).map(|d| d as usize) else {
                    return Err(garbled("read"));
                };
                if dst + data.len() > buf.len() {
                    return Err(garbled("read"));
                }
                buf[dst..dst + data.len()].copy_from_slice(data);
            }
            chunks.push(Some(buf));
        }
        Ok(ReadOut { kind, size, chunks })
    }
}

/// What `read_spans` found: the inode's kind and size, and each span's bytes.
struct ReadOut {
    kind: Kind,
    size: u64,
    chunks: Vec<Option<Vec<u8>>>,
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
        match self.getattr_once(ino) {
            // The root is never removed: Redis lost the data. Make the tier usable again.
            Err(StoreError::NotFound) if ino == ROOT_INO => {
                self.inner.revive();
                self.getattr_once(ino)
            }
            r => r,
        }
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
        let got = self.inner.read_spans(ino, &parts)?;
        match got.kind {
            Kind::File => {}
            Kind::Dir => return Err(StoreError::IsDir),
            _ => return Err(StoreError::Invalid),
        }
        if offset >= got.size {
            return Ok(Vec::new());
        }
        let stop = end.min(got.size);
        let mut out = Vec::with_capacity((stop - offset) as usize);
        for ((idx, from, _), chunk) in parts.iter().zip(got.chunks) {
            let base = idx * CHUNK + from;
            if base >= stop {
                break;
            }
            let chunk = chunk.unwrap_or_default();
            let n = (stop - base).min(chunk.len() as u64) as usize;
            out.extend_from_slice(&chunk[..n]);
        }
        out.resize((stop - offset) as usize, 0);
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
        let sids = self.inner.take_sids(parts.len())?;
        let mut args: Vec<String> = vec![
            ino.to_string(),
            Inner::now(),
            self.inner.limit.to_string(),
            pre.to_owned(),
            end_s,
        ];
        let mut slices: Vec<(String, &[u8])> = Vec::with_capacity(parts.len());
        let mut pos = 0usize;
        for ((idx, from, to), sid) in parts.iter().zip(&sids) {
            args.push(idx.to_string());
            args.push(from.to_string());
            args.push(to.to_string());
            args.push(sid.to_string());
            let n = (to - from) as usize;
            slices.push((self.inner.keys.slice(*sid), &data[pos..pos + n]));
            pos += n;
        }
        let v = self.inner.commit_write(&args, &slices)?;
        let a = array(&v);
        let attr = parse_attr(ino, a.first().ok_or_else(|| garbled("write"))?)?;
        if let Some(gc) = a.get(1) {
            self.janitor.drop_slices(array(gc));
        }
        let counts = a.get(2).map(array).unwrap_or(&[]);
        for ((idx, _, _), n) in parts.iter().zip(counts) {
            if number(n).unwrap_or(0) > COMPACT_AT {
                self.janitor.compact(ino, *idx);
            }
        }
        Ok(attr)
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
                self.inner
                    .script(&self.inner.scripts.allocate, false, &refs)?;
                Ok(())
            }
            Falloc::PunchHole | Falloc::ZeroRange { .. } => {
                let grow = matches!(mode, Falloc::ZeroRange { keep_size: false });
                let last = end.saturating_sub(1) / CHUNK;
                let args = [
                    ino_s,
                    now,
                    pre.to_owned(),
                    if grow { "1" } else { "0" }.to_owned(),
                    offset.to_string(),
                    end.to_string(),
                    (offset / CHUNK).to_string(),
                    (offset % CHUNK).to_string(),
                    last.to_string(),
                    (end - last * CHUNK).to_string(),
                ];
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                let v = self.inner.script(&self.inner.scripts.zero, false, &refs)?;
                self.janitor.drop_slices(array(&v));
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
            .arg("dirs")
            .arg("mb");
        match self.inner.pipe(true, &p) {
            Ok(v) => {
                let f = v.first().map(array).unwrap_or(&[]);
                let n = |i: usize| f.get(i).and_then(number).unwrap_or(0);
                let u = Usage {
                    bytes: n(0),
                    meta: n(3),
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
    /// `getattr` as Redis answers it.
    fn getattr_once(&self, ino: Ino) -> StoreResult<Attr> {
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
