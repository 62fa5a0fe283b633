//! `RedisStore`: the RAM tier on a Redis server, persistent and shared by every mount that
//! uses the same server and prefix.
//!
//! Key layout under the prefix `P` (default `mavfs`). Metadata keys carry the hash tag `{P}`,
//! so one prefix's metadata lives in one Redis Cluster slot and a Lua script may touch all of
//! it; slice keys carry no tag, so file data spreads over a cluster.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{P}:meta` | hash | `fmt` (`mavfs-vram-6`; formats 2 and 3 named it `format`, see `init.lua`), `next_ino`, `next_slice`, `used` (bytes), `mb` (inodes' cost), `files`, `dirs`, `next_session`; `dc_left` while an older format's directory sets are still being deleted |
//! | `{P}:i:<ino>` | hash | one inode: `k` kind (`f d l p s c b`), `m` mode bits, `n` nlink, `u` `g` `r`, `s` size, `a` bytes held, `xb` xattr bytes, `at` `mt` `ct` `bt` times (nanoseconds, see `codec::time_str`; `ct` left out while it equals `mt`, `bt` while it equals `at`), `o` open count, `v` data version, `l` chunk 0's entry while it is at most 64 bytes (as in `{P}:l:`, which then lacks it: a small file needs no other key); `u` `g` `r` `o` `a` may be absent, which reads as 0 (a new inode leaves out its zeros); a dir adds `p` parent and `c` next cookie; a symlink `t` target |
//! | `{P}:d:<ino>` | hash | a directory's entries: name → `<ino> <kind> <cookie>`; a listing reads them all at once, with the names' attributes for a small directory, and sorts them (`readdir.lua`; past `LIST_WHOLE_MAX`, in parts) |
//! | `{P}:x:<ino>` | hash | extended attributes: name → value |
//! | `{P}:l:<ino>` | hash | a file's data per 1 MiB chunk (chunk 0 there only when its entry is long): index → `<len>` then `\|<sid>:<pos>:<n>:<soff>` per slice, then (not chunk 0) up to 16 overlays `/<sid>:<pos>:<n>:<soff>`, small writes each covering what comes before it |
//! | `{P}:gc` | set | ids of slices no chunk names any more, to delete |
//! | `{P}:rc` | hash | slice id → how many chunks besides the first name it (clones share slices); a pack stands there with a count no chunk reaches (see the prelude), its names counted in `{P}:pk:` |
//! | `{P}:pk:<sid>` | hash | a pack's names: inode → bytes of the pack its chunk 0 names; `lv` their sum; `o` the `{P}:w:` key of the mount filling it |
//! | `{P}:sparse` | set | packs mostly unnamed, to pack again (`repack.lua`) |
//! | `{P}:sessions`, `{P}:alive:<sid>`, `{P}:s:<sid>` | set, string (TTL), hash | mounts, their heartbeat, their open count per inode |
//! | `{P}:w:<session>` | set | slice ids a mount took and has not published yet, and the pack it fills |
//! | `P:s:<sid>` | string | a slice: the bytes of one write (or of small writes joined) into one chunk; or, on one server, a pack: the small writes into chunk 0 of many files, appended one after the other (at most `PACK_MAX` bytes) |
//! | `P:fence:{n}` | string | on each master with replicas: the last fsync's fence (see `Inner::sync`) |
//! | `{P}:notices` | channel | mounts' changes to names and attributes, for the others' kernels (`notices.rs`) |
//!
//! Invariants:
//! - every metadata change (create, link, unlink, rmdir, rename, setattr, open, release, the
//!   publication of a write) is one Lua script: atomic and one round trip. A script checks
//!   everything before its first write, so a refusal changes nothing.
//! - file data is in slices, written once and never changed (a pack grows, but the bytes
//!   it holds never change): a chunk holds bytes `[0, len)`;
//!   bytes `[pos, pos+n)` of it are bytes `[soff, soff+n)` of slice `sid`; the slices of a
//!   chunk are disjoint, and bytes none covers read as zeros. A mount's slice ids are listed
//!   as its unpublished ones (`{P}:w:<session>`) when it takes them (`sids.lua`), before any
//!   slice goes under them. A write sends its pieces as new slices; then the write script
//!   takes them off that list and publishes them, cutting what
//!   they cover out of the older slices. On one server that is one round trip (the script
//!   runs after the slices landed and checks they did); on a cluster, where slices lie in
//!   other slots than the script's keys, the slices go to their nodes first and the script
//!   runs once all answered. So a write is atomic against every other operation on the file,
//!   from any thread or mount, and a refused write (Redis out of memory) publishes nothing.
//! - a slice sent and not published is never left behind: a refused or unanswered
//!   publication gives its slices up (`abandon.lua`: those still listed go to `{P}:gc`, so a
//!   publication that did run keeps them; so does one no chunk names and nothing lists, whose
//!   listing a failover lost), and a mount that dies at any point has its list collected with
//!   its session. A publication whose slices are no longer listed fails as a whole, and the
//!   write is sent again with new slices. On a cluster with replicas, new ids reach a replica
//!   of the metadata's master before they are used (WAIT): a failover never hands them out
//!   twice.
//! - small writes wait on the writing mount (`behind.rs`) and are published together, at
//!   the latest at the file's close, fsync or release and before any other use of it here;
//!   several pieces of one chunk in one publication are disjoint.
//! - on one server, a publication of at most 4 KiB into chunk 0 goes into the mount's pack
//!   (`pack.rs`): the write script appends the bytes and names them, in one step. A pack's
//!   names are counted in `{P}:pk:<sid>`; it is collected when the last goes, sealed (stored
//!   again at its length) when full, at each sweep and at unmount, and packed again once a
//!   quarter of it is no longer named. A mount that dies filling one has it closed by the
//!   sweep that collects its session.
//! - a read never sees half a write: a small one takes the chunk list and the slices' bytes
//!   in one script (on one server, where the slices are local to the script); a big one, and
//!   every read on a cluster (`data.rs`), takes the chunks' entries in one script, then the
//!   slices' bytes in one pipeline, and starts over if a slice has gone in between (slices
//!   never change and their ids are never used again, so bytes read whole are the ones
//!   named).
//! - a clone (`clone.lua`, one script) copies the tree's metadata; its chunks name the same
//!   slices, each extra name counted in `{P}:rc` (a pack's in `{P}:pk:<sid>`), and a slice
//!   goes to `{P}:gc` only when the last chunk naming it lets go.
//! - slice ids come from `next_slice` and are never reused; a slice no chunk names goes to
//!   `{P}:gc` in the same script that unnames it, and is deleted after (by the janitor thread,
//!   else by the sweep at mount and every minute). A chunk cut into more than `COMPACT_AT`
//!   slices, or cut by a truncate or punch, is rewritten as one slice (read with its entry in
//!   one step, published only if the entry is unchanged and the new slice landed), so what
//!   Redis holds stays near `used`.
//! - fsync waits until every master's writes have reached a replica (WAIT), where masters
//!   have replicas: a failover after it loses none of them.
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

mod bare;
mod behind;
mod codec;
mod connect;
mod data;
mod dircache;
mod inner;
mod janitor;
mod keys;
mod known;
mod link;
mod list;
mod losses;
mod notices;
mod ops;
mod pack;
mod pool;
mod prefetch;
mod refs;
mod scripts;
mod servers;
mod sizes;
mod sweep;
mod target;
mod versions;

use bare::Bare;
use behind::{set_args_then, Behind, KeptSet, SetArgs};
use codec::*;
use dircache::DirCache;
pub use dircache::ATTR_TTL;
pub use inner::redact;
use inner::*;
use janitor::*;
use keys::Keys;
use known::Known;
use link::{Batch, Dialer, Link};
use notices::noticed_ttl;
use notices::Notices;
use pack::{pack_full, PACK_PIECE_MAX};
use pool::*;
use prefetch::Prefetch;
use refs::KernelRefs;
use scripts::*;
pub use target::{check_prefix, RedisTarget, RedisTls};
use versions::Versions;

/// Size of one data chunk, as MemoryStore's.
pub const CHUNK: u64 = 1 << 20;
/// The data format this code reads and writes; another value under a prefix is refused.
pub const FORMAT: &str = "mavfs-vram-6";
/// What a mount's heartbeat key holds: `rc`, "this mount counts slices shared by clones"
/// (builds from before clones write 1, and a clone is refused while one of them is live).
pub(super) const ALIVE: &str = "rc";
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

/// `HEARTBEAT`; in test builds `MAVFS_TEST_HEARTBEAT_MS` shortens it, so that a test sees a
/// killed mount's session collected in seconds.
fn heartbeat() -> Duration {
    #[cfg(debug_assertions)]
    {
        static BEAT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
        *BEAT.get_or_init(|| {
            std::env::var("MAVFS_TEST_HEARTBEAT_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(HEARTBEAT, Duration::from_millis)
        })
    }
    #[cfg(not(debug_assertions))]
    HEARTBEAT
}
/// How often a hung Redis is probed (each probe waits at most the timeout).
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// Every this many heartbeats, dead mounts' opens are given back and garbage is collected.
const SWEEP_EVERY: u32 = 4;
/// How long a call on a cluster keeps trying through a failover before it fails.
const FAILOVER_WAIT: Duration = Duration::from_secs(30);
/// How long "no master has a replica" spares fsync its round trips.
const REPLICAS_EVERY: Duration = Duration::from_secs(1);
/// How long a count of the cluster's masters (`Inner::nodes`) serves stats.
const NODES_EVERY: Duration = Duration::from_secs(10);
/// Slice ids a mount takes from `{P}:meta` at once (listed as its own until used: at most
/// 512 keeps that list a compact set of integers in Redis).
const SID_BATCH: u64 = 512;
/// A chunk in more slices than this is rewritten as one (by the janitor thread). A write's
/// part may be two slices (`sizes.rs`): 64 KiB writes not aligned to 64 KiB come to 34.
const COMPACT_AT: u64 = 40;

/// The RAM store on Redis. See the module header for the key layout and its invariants.
pub struct RedisStore {
    inner: Arc<Inner>,
    refs: Arc<KernelRefs>,
    /// The URL without its password, and the prefix, for stats.
    name: String,
    /// Opens closed and held inodes the kernel forgot, for the release thread: neither
    /// waits for Redis on a FUSE thread (the kernel does not wait for them either). What is
    /// queued at unmount is given back before the session ends (`settle`), or with it
    /// where Redis does not answer.
    to_release: mpsc::Sender<Ino>,
    /// Inodes sent to the release thread and not yet given back.
    releasing: Arc<AtomicU64>,
    /// Files whose kept writes the sending thread is to send (`behind.rs`).
    to_send: mpsc::Sender<Ino>,
    janitor: Janitor,
    /// Dropping it stops the heartbeat thread.
    _stop: mpsc::Sender<()>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        // The release thread holds `inner` while it gives opens back: the session must end
        // after them, where this drop lets go of it, not on that thread as the process exits.
        RamStore::settle(self);
        self.inner.seal_open_pack();
        self.inner.repack_sparse();
        self.inner.notices.close(&self.inner.pool);
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
        // Counted as on its way back before it stops counting as held: `orphans` never
        // dips below what is still to come back (a write short of space waits on it).
        self.releasing.fetch_add(1, Ordering::AcqRel);
        if self.refs.forget(ino, n) {
            self.send_release(ino);
        } else {
            self.releasing.fetch_sub(1, Ordering::AcqRel);
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
        Some(r.map_err(|f| self.inner.fail(f).to_string()))
    }

    fn sync(&self) -> StoreResult<()> {
        self.inner.sync()
    }

    fn nodes(&self) -> Vec<NodeStats> {
        self.inner.nodes()
    }

    fn describe(&self) -> (String, Option<u64>) {
        if self.inner.pool.down.load(Ordering::Acquire) {
            return (self.name.clone(), None);
        }
        let used = self.inner.info_all("memory").ok().map(|info| {
            // Stats are where a user looks: the memory policy is checked then too.
            self.inner.check_policy_in(&info);
            info.iter()
                .filter_map(|(_, text)| info_field(text, "used_memory")?.parse::<u64>().ok())
                .sum()
        });
        (self.name.clone(), used)
    }

    fn shared(&self) -> bool {
        true
    }

    fn watch_others(&self, tell: TellKernel) {
        let refs = self.refs.clone();
        self.inner.notices.set_tell(Box::new(move |changed| {
            tell(changed);
            // The kernel's new epoch drops names only: what it reaches without a lookup (an
            // open file's attributes, the size a read stops at) is dropped inode by inode.
            if changed.iter().any(|f| matches!(f, Foreign::Everything)) {
                let held: Vec<Foreign> = refs.inos().into_iter().map(Foreign::Attrs).collect();
                tell(&held);
            }
        }));
    }

    fn changes_heard(&self) -> u64 {
        self.inner.notices.heard()
    }

    fn kernel_ttl(&self, heard_before: u64) -> Option<Duration> {
        let pool = &self.inner.pool;
        let n = &self.inner.notices;
        let sure = n.hearing()
            && n.heard() == heard_before
            && !pool.down.load(Ordering::Acquire)
            && !pool.hung.load(Ordering::Acquire)
            && !pool.unsure.load(Ordering::Acquire);
        Some(if sure { noticed_ttl() } else { ATTR_TTL })
    }

    fn lookup(&self, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        if name.len() > NAME_MAX {
            return Err(StoreError::NameTooLong);
        }
        if self.inner.known.lacks(parent, name) && self.inner.notices.hearing() {
            return Err(StoreError::NotFound);
        }
        let s = &self.inner.scripts.lookup;
        let p = parent.to_string();
        let epoch = self.inner.bare.epoch();
        let sends = self.inner.behind.sends();
        let v = self
            .inner
            .script(s, true, &[p.as_bytes(), name.as_bytes()])?;
        let a = self.inner.attr(0, &v, epoch)?;
        // Kept writes, or a sending that ended meanwhile: the size read may be older than a
        // write that returned.
        let b = &self.inner.behind;
        if a.kind == Kind::File && (b.may_hold(a.ino) || b.sends() != sends) {
            self.send_quietly(a.ino);
            return self.fetch_attr(a.ino);
        }
        Ok(a)
    }

    fn getattr(&self, ino: Ino) -> StoreResult<Attr> {
        self.send_quietly(ino);
        // The root's is always asked: its absence is how a lost prefix shows.
        if let Some(a) = (ino != ROOT_INO)
            .then(|| self.inner.dirs.get(ino))
            .flatten()
        {
            return Ok(a);
        }
        let r = self.fetch_attr(ino);
        if ino == ROOT_INO && matches!(r, Err(StoreError::NotFound)) {
            // The root is never removed: Redis lost the data. The watch thread makes the
            // tier usable again, within a probe period.
            self.inner.lost.store(true, Ordering::Release);
        }
        r
    }

    fn getattr_many(&self, inos: &[Ino]) -> StoreResult<Vec<StoreResult<Attr>>> {
        for &ino in inos {
            if self.inner.behind.may_hold(ino) {
                self.send_quietly(ino);
            }
        }
        self.fetch_attrs(inos)
    }

    fn setattr(&self, ino: Ino, set: &SetAttr) -> StoreResult<Attr> {
        let _c = self.inner.prefetch.changing(ino);
        self.inner.writable()?;
        let now_t = SystemTime::now();
        let sets = attr_args(set, now_t);
        if set.size.is_none() {
            // With writes kept back (`tar -x` sets times, owner and mode before the close),
            // the setattr waits with them where what it leaves can be told now, else one
            // script publishes them and sets the rest: one round trip, not two.
            if let Some(attr) = self.keep_set(ino, set, now_t) {
                return Ok(attr);
            }
            if let Some(attr) = self.send_kept_then(ino, Some(&sets))? {
                return Ok(attr);
            }
        } else {
            self.send_kept(ino)?;
        }
        let [perm, uid, gid, atime, mtime, ctime, kill] = sets;
        let pre = match set.size {
            Some(s) if s > MAX_FILE_SIZE => "EFBIG",
            _ => "",
        };
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
            perm,
            uid,
            gid,
            size,
            keep_idx,
            keep_len,
            atime,
            mtime,
            ctime,
            kill,
        ];
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut change = self.inner.dirs.change(&[ino]);
        let epoch = self.inner.bare.epoch();
        let v = self
            .inner
            .script(&self.inner.scripts.setattr, false, &refs)?;
        let a = array(&v);
        let fields = a.first().ok_or_else(|| garbled("setattr"))?;
        let attr = self.inner.attr(ino, fields, epoch)?;
        // Times, mode or owner: the kernel's pages stay what they were.
        if let (None, Some(before)) = (set.size, a.get(3).and_then(bytes)) {
            self.inner.versions.moved(ino, before, fields, false);
        }
        change.answer(attr.clone());
        self.tell(&[Foreign::Attrs(ino)]);
        if let Some(gc) = a.get(1) {
            self.janitor.drop_slices(array(gc));
        }
        self.compact_cut(ino, a.get(2));
        Ok(attr)
    }

    fn readdir(&self, dir: Ino, after: u64, max: usize) -> StoreResult<DirPage> {
        let (mut all, _) = self.listing(dir, max > 0, 0)?;
        let from = all.entries.partition_point(|e| e.cookie <= after);
        all.entries.truncate(from.saturating_add(max));
        all.entries.drain(..from);
        Ok(all)
    }

    fn readdir_all(&self, dir: Ino) -> StoreResult<DirPage> {
        Ok(self.listing(dir, true, 0)?.0)
    }

    fn readdir_all_plus(&self, dir: Ino, attrs_max: usize) -> StoreResult<ListingPlus> {
        let b = &self.inner.behind;
        let sends = b.sends();
        let (all, mut attrs) = self.listing(dir, true, attrs_max)?;
        // A file with writes kept back here, or any file if a sending ended meanwhile (the
        // size read may be older than a write that returned): as `getattr_many` gives it,
        // after the writes are sent.
        if let Some(attrs) = &mut attrs {
            let any_file = b.sends() != sends;
            let held: Vec<usize> = (all.entries.iter().enumerate())
                .filter(|(_, e)| (any_file && e.kind == Kind::File) || b.may_hold(e.ino))
                .map(|(i, _)| i)
                .collect();
            if !held.is_empty() {
                let inos: Vec<Ino> = held.iter().map(|&i| all.entries[i].ino).collect();
                for (i, a) in held.into_iter().zip(self.getattr_many(&inos)?) {
                    attrs[i] = a;
                }
            }
        }
        Ok((all, attrs))
    }

    fn lists_whole(&self) -> bool {
        true
    }

    fn create(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr> {
        self.create_as(parent, name, node, false)
    }

    fn create_open(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr> {
        self.create_as(parent, name, node, true)
    }

    fn link(&self, ino: Ino, newparent: Ino, newname: &OsStr) -> StoreResult<Attr> {
        let r = self.link_script(ino, newparent, newname);
        self.inner
            .known
            .noted(&r, &[newparent], |k| k.add(newparent, newname));
        r
    }

    fn clone_tree(&self, src: Ino, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        let r = self.clone_script(src, parent, name);
        self.inner
            .known
            .noted(&r, &[parent], |k| k.add(parent, name));
        r
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
        let r = self.rename_script(parent, name, newparent, newname, mode);
        self.inner.known.noted(&r, &[parent, newparent], |k| {
            if mode != RenameMode::Exchange {
                k.remove(parent, name);
            }
            k.add(newparent, newname);
        });
        r
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

    fn open(&self, ino: Ino, reads: bool) -> StoreResult<bool> {
        self.open_bringing(ino, reads)
    }

    fn release(&self, ino: Ino) {
        self.inner.prefetch.drop_file(ino);
        self.inner.behind.unmade(Some(ino));
        // Writes kept for the close normally went at its flush; mapped pages written back
        // after it come here.
        if self.inner.behind.may_hold(ino) {
            if let Err(e) = self.send_kept(ino) {
                RamStore::give_up(self, ino, &e);
                warn!("writes to inode {ino} kept back were lost at its release: {e}");
            }
        }
        self.inner.behind.losses.closed(ino);
        self.release_later(ino);
    }

    fn settle(&self) {
        self.send_or_warn();
        // Each release ends, given back or given up after --redis-timeout (the bound is
        // for a release thread that is gone).
        let end = Instant::now() + FAILOVER_WAIT;
        while self.releasing.load(Ordering::Acquire) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn read(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>> {
        self.read_brought(ino, offset, size)
    }

    fn data_ranges(&self, ino: Ino) -> StoreResult<Vec<(u64, u64)>> {
        self.held_ranges(ino)
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> StoreResult<Attr> {
        let _c = self.inner.prefetch.changing(ino);
        self.write_data(ino, offset, data, false)
    }

    fn write_behind(
        &self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        privs: bool,
    ) -> StoreResult<Option<Attr>> {
        let _c = self.inner.prefetch.changing(ino);
        self.keep_or_write(ino, offset, data, privs)
    }

    fn flush(&self, ino: Ino) -> StoreResult<()> {
        self.send_kept(ino).map(drop)
    }

    fn handle(&self, ino: Ino) -> u64 {
        self.inner.behind.losses.opened(ino)
    }

    fn lost(&self, ino: Ino, fh: u64) -> StoreResult<()> {
        self.inner.behind.losses.lost(ino, fh)
    }

    fn give_up(&self, ino: Ino, why: &StoreError) {
        if self
            .inner
            .behind
            .give_up(ino, matches!(why, StoreError::NoSpace))
        {
            // The kernel's pages hold what was given up: they go at the next open.
            self.inner.versions.forget(ino);
            // The kernel drops what it was told of them (a kept setattr's attributes).
            self.inner.heard(&[Foreign::Attrs(ino)]);
        }
    }

    fn keeps_writes(&self) -> bool {
        true
    }

    fn fallocate(&self, ino: Ino, offset: u64, len: u64, mode: Falloc) -> StoreResult<()> {
        let _c = self.inner.prefetch.changing(ino);
        self.fallocate_data(ino, offset, len, mode)
    }

    fn setxattr(&self, ino: Ino, name: &OsStr, value: &[u8], how: XattrSet) -> StoreResult<()> {
        self.inner.writable()?;
        self.send_kept_set(ino)?;
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
        // Nothing kept of it once this ends (its ctime moves).
        let _change = self.inner.dirs.change(&[ino]);
        let _xattrs = self.inner.bare.change(ino);
        self.inner
            .script(&self.inner.scripts.setxattr, false, &args)?;
        self.tell(&[Foreign::Attrs(ino)]);
        Ok(())
    }

    fn getxattr(&self, ino: Ino, name: &OsStr) -> StoreResult<Vec<u8>> {
        if self.inner.bare.is_bare(ino) {
            return Err(StoreError::NoAttr);
        }
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
        self.send_kept_set(ino)?;
        let nums = [ino.to_string(), Inner::now()];
        let args: [&[u8]; 3] = [nums[0].as_bytes(), name.as_bytes(), nums[1].as_bytes()];
        // Nothing kept of it once this ends (its ctime moves).
        let _change = self.inner.dirs.change(&[ino]);
        let _xattrs = self.inner.bare.change(ino);
        self.inner
            .script(&self.inner.scripts.removexattr, false, &args)?;
        self.tell(&[Foreign::Attrs(ino)]);
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

/// What a setattr sets besides the size (see `SetArgs`).
pub(super) fn attr_args(set: &SetAttr, now: SystemTime) -> SetArgs {
    let time = |t: Option<TimeSet>| match t {
        None => String::new(),
        Some(TimeSet::Now) => time_str(now),
        Some(TimeSet::At(t)) => time_str(t),
    };
    let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        opt(set.perm.map(|p| u32::from(p & 0o7777))),
        opt(set.uid),
        opt(set.gid),
        time(set.atime),
        time(set.mtime),
        set.ctime.map(time_str).unwrap_or_default(),
        match (set.kill_privs, set.kill_sgid) {
            (false, _) => "",
            (true, false) => "1",
            (true, true) => "2",
        }
        .to_owned(),
    ]
}
