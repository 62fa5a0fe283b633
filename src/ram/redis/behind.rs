//! Writes kept back on this mount and sent to Redis together. `tar -x` writes a file in
//! 10 KiB pieces and random writes come 4 KiB at a time: each was a round trip to Redis (a
//! slice and its publication). A file's kept writes go as one publication at the latest
//! when it is closed (the kernel's FLUSH, so close-to-open between mounts holds), synced or
//! released, and before any other use of it on this mount (a read, its attributes, a
//! truncate): nothing here ever shows an older state than a write that returned. Once a
//! file has a chunk's worth kept, they go on the sending thread while the next writes come
//! (a sequential writer's 1 MiB writes wait for Redis no more, one after another). Redis
//! refusing them (for memory, or being down) shows at `close` or `fsync`, and at the
//! file's next write once a sending failed; writes given up are said so; a failure
//! elsewhere keeps them for the close.

use std::collections::BTreeMap;

use super::losses::Losses;
use super::*;

/// A file's kept bytes are sent once they reach this; a bigger write goes at once (the kept
/// ones before it).
const FILE_MAX: usize = 1 << 20;
/// A file's kept pieces are sent once there are this many (one slice each); a sending holds
/// at most this many, and at most `BATCH_MAX` bytes (more kept while one is on its way, a
/// write waits for it: a sending of thousands of pieces held Redis past a reply's time).
const PIECES_MAX: usize = 256;
const BATCH_MAX: usize = 8 * FILE_MAX;
/// Bytes kept or being sent, over all files: past it, a file's writes are sent as they come.
const TOTAL_MAX: usize = 64 << 20;
/// A write of at least this many bytes takes a spare buffer (`Behind::spare`).
const SPARE_FROM: usize = FILE_MAX / 2;
/// Spare buffers kept at most.
const SPARES_MAX: usize = 8;
/// Locks that order a file's sending against everything else done to it.
const STRIPES: usize = 64;

/// One file's kept writes: disjoint, by offset (touching only after a piece of 1 MiB).
#[derive(Default)]
struct Kept {
    pieces: BTreeMap<u64, Vec<u8>>,
    bytes: usize,
    /// Sendings of its writes under way: the entry stays until they are done.
    sending: u32,
    /// Bytes of the sending under way (sendings of a file go one at a time, `order`).
    flying: usize,
    /// Queued for the sending thread, not yet taken up by it.
    queued: bool,
    /// Its last sending failed: its writes go at once until one succeeds, so that the
    /// writer hears the error at a write too.
    failed: bool,
    /// A setattr kept with them (`Behind::keep_set`).
    set: Option<KeptSet>,
}

/// Setattrs kept with a file's writes, to be set by their publication: the attributes the
/// kernel was told, and what is to be set (the mode with the privileges a setattr dropped
/// already dropped).
#[derive(Clone)]
pub(super) struct KeptSet {
    shown: Attr,
    mode: Option<u16>,
    uid: Option<u32>,
    gid: Option<u32>,
    atime: Option<SystemTime>,
    mtime: Option<SystemTime>,
    ctime: Option<SystemTime>,
}

/// What a setattr sets besides the size, as write.lua's trailing argument lists it
/// (setattr.lua's ARGV 4, 5, 6, 10, 11, 12 and 13): mode, owner, group, atime, mtime,
/// ctime, privileges to drop; '' where unchanged.
pub(super) type SetArgs = [String; 7];

impl KeptSet {
    pub(super) fn args(&self) -> SetArgs {
        let at = |t: Option<SystemTime>| t.map(TimeSet::At);
        let set = SetAttr {
            perm: self.mode,
            uid: self.uid,
            gid: self.gid,
            atime: at(self.atime),
            mtime: at(self.mtime),
            ctime: self.ctime,
            ..SetAttr::default()
        };
        // Every time is set already: `now` is not read.
        attr_args(&set, UNIX_EPOCH)
    }
}

/// `earlier`'s changes, then `later`'s (whose privileges to drop apply to the mode then, and
/// whose ctime, '' for the time it runs, stands).
pub(super) fn set_args_then(earlier: &SetArgs, later: &SetArgs) -> SetArgs {
    std::array::from_fn(|i| {
        if i >= 5 || !later[i].is_empty() {
            later[i].clone()
        } else {
            earlier[i].clone()
        }
    })
}

pub(super) struct Behind {
    /// Files with writes kept or being sent.
    files: Mutex<HashMap<Ino, Kept>>,
    /// Bytes kept, and bytes being sent.
    total: AtomicU64,
    flying: AtomicU64,
    /// How many files `files` holds: 0 lets every other call pass at once.
    busy: AtomicU64,
    /// Sendings done: a reply read while one ended may be of before it.
    sends: AtomicU64,
    /// The files open on this mount, and what was given up of them.
    pub(super) losses: Losses,
    /// Empty files made on this mount, as their create left them, until this mount or
    /// another changes them: what a setattr kept with their first writes starts from.
    made: Mutex<HashMap<Ino, Attr>>,
    stripes: [Mutex<()>; STRIPES],
    /// Buffers of sent pieces, for big writes to come: a new one may cost a page fault per
    /// page (the allocator gives big freed blocks back to the system).
    spare: Mutex<Vec<Vec<u8>>>,
}

/// Files `made` remembers at most (forgetting one only costs a round trip).
const MADE_MAX: usize = 4096;

impl Default for Behind {
    fn default() -> Self {
        Behind {
            files: Mutex::default(),
            total: AtomicU64::new(0),
            flying: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            sends: AtomicU64::new(0),
            losses: Losses::default(),
            made: Mutex::default(),
            stripes: std::array::from_fn(|_| Mutex::new(())),
            spare: Mutex::default(),
        }
    }
}

/// What a file's kept writes were, to send: pieces in offset order.
pub(super) type Pieces = Vec<(u64, Vec<u8>)>;

/// A sending's share of a file's kept writes (`Behind::take`).
pub(super) struct Taken {
    pub(super) pieces: Pieces,
    /// The setattr kept with them, with the last share.
    pub(super) set: Option<KeptSet>,
    /// Whether nothing is left kept.
    pub(super) all: bool,
}

impl Behind {
    /// Keeps a write of `data` at `offset` (the kernel sends a file's writes one at a time);
    /// false if it must go now instead (too big, too much kept or being sent, or the file's
    /// last sending failed). True with `full`: the file's kept writes should be sent now.
    pub(super) fn keep(&self, ino: Ino, offset: u64, data: &[u8], full: &mut bool) -> bool {
        let end = match offset.checked_add(data.len() as u64) {
            Some(e) if e <= MAX_FILE_SIZE && !data.is_empty() && data.len() <= FILE_MAX => e,
            _ => return false,
        };
        let held = self.total.load(Ordering::Acquire) + self.flying.load(Ordering::Acquire);
        if held as usize + data.len() > TOTAL_MAX {
            return false;
        }
        let mut spare = (data.len() >= SPARE_FROM)
            .then(|| self.spare.lock().pop())
            .flatten();
        let mut files = self.files.lock();
        if files.get(&ino).is_some_and(|k| k.failed || k.brimful()) {
            drop(files);
            if let Some(buf) = spare {
                self.spare.lock().push(buf);
            }
            return false;
        }
        let kept = files.entry(ino).or_insert_with(|| {
            self.busy.fetch_add(1, Ordering::AcqRel);
            Kept::default()
        });
        let before = kept.bytes;
        kept.put(offset, end, data, &mut spare);
        // A write after a kept setattr moves the times again: its publication sets them.
        if let Some(set) = &mut kept.set {
            set.mtime = None;
            set.ctime = None;
        }
        self.total
            .fetch_add((kept.bytes - before) as u64, Ordering::AcqRel);
        *full = kept.bytes >= FILE_MAX || kept.pieces.len() >= PIECES_MAX;
        drop(files);
        if let Some(buf) = spare {
            self.spare.lock().push(buf);
        }
        true
    }

    /// Keeps the buffers of sent pieces that a big write can take again (`spare`).
    pub(super) fn recycle(&self, pieces: Pieces) {
        let mut spare = self.spare.lock();
        for (_, mut buf) in pieces {
            if spare.len() < SPARES_MAX && (FILE_MAX..=2 * FILE_MAX).contains(&buf.capacity()) {
                buf.clear();
                spare.push(buf);
            }
        }
    }

    /// Whether `ino`'s kept writes fill a sending: the next waits for the one under way
    /// (`order`), if any, or goes with them at once.
    pub(super) fn brimful(&self, ino: Ino) -> bool {
        self.busy.load(Ordering::Acquire) != 0
            && self.files.lock().get(&ino).is_some_and(Kept::brimful)
    }

    /// Whether `ino` may have writes kept or being sent.
    pub(super) fn may_hold(&self, ino: Ino) -> bool {
        self.busy.load(Ordering::Acquire) != 0 && self.files.lock().contains_key(&ino)
    }

    /// Files with writes kept or being sent.
    pub(super) fn files(&self) -> Vec<Ino> {
        if self.busy.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.files.lock().keys().copied().collect()
    }

    /// Whether nothing is kept nor being sent, of any file.
    pub(super) fn idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }

    /// The lock a file's sending holds: what must see its kept writes sent takes it too.
    pub(super) fn order(&self, ino: Ino) -> crate::sync::MutexGuard<'_, ()> {
        self.stripes[(ino as usize) % STRIPES].lock()
    }

    /// Takes a file's kept writes to send, in offset order, at most a sending's worth (256
    /// pieces, or the piece that reaches 8 MiB), and with the last of them the setattr kept
    /// with them (the caller holds `order(ino)` until sent, then calls `sent`, and takes
    /// again while `Taken::all` is false); None if none are kept.
    pub(super) fn take(&self, ino: Ino) -> Option<Taken> {
        let mut files = self.files.lock();
        let kept = files.get_mut(&ino).filter(|k| !k.pieces.is_empty())?;
        let mut pieces = Vec::new();
        let mut bytes = 0;
        while pieces.len() < PIECES_MAX && bytes < BATCH_MAX {
            let Some(p) = kept.pieces.pop_first() else {
                break;
            };
            bytes += p.1.len();
            pieces.push(p);
        }
        self.total.fetch_sub(bytes as u64, Ordering::AcqRel);
        self.flying.fetch_add(bytes as u64, Ordering::AcqRel);
        kept.flying += bytes;
        kept.bytes -= bytes;
        kept.sending += 1;
        let all = kept.pieces.is_empty();
        Some(Taken {
            pieces,
            set: if all { kept.set.take() } else { None },
            all,
        })
    }

    /// Puts back what `take` gave, where sending it failed: writes kept since lie over it.
    pub(super) fn restore(&self, ino: Ino, Taken { pieces, set, .. }: Taken) {
        let mut files = self.files.lock();
        let Some(kept) = files.get_mut(&ino) else {
            return;
        };
        kept.failed = true;
        let newer = std::mem::take(&mut kept.pieces);
        let mut set = set;
        if let (Some(s), false) = (&mut set, newer.is_empty()) {
            // Writes kept while it was being sent: their publication sets the times.
            s.mtime = None;
            s.ctime = None;
        }
        // None is kept meanwhile: `keep_set` waits for the sending, under `order`.
        kept.set = set;
        let before = std::mem::take(&mut kept.bytes);
        for (at, data) in pieces.into_iter().chain(newer) {
            let end = at + data.len() as u64;
            kept.put(at, end, &data, &mut None);
        }
        let now = kept.bytes;
        self.total
            .fetch_add(now.saturating_sub(before) as u64, Ordering::AcqRel);
    }

    /// Gives up a file's kept writes (a close or fsync said they failed): each descriptor
    /// open now hears of it at its next close or fsync (`lost`); true if there were any.
    /// Under `order(ino)`, so that a sending under way ends first (the caller must not hold
    /// it): writes it failed to send and put back are given up too, not left for a later
    /// close that would not hear of it.
    pub(super) fn give_up(&self, ino: Ino, no_space: bool) -> bool {
        let _order = self.order(ino);
        let mut any = false;
        while let Some(t) = self.take(ino) {
            self.sent(ino, true);
            any = true;
            if t.all {
                break;
            }
        }
        if any {
            self.losses.given_up(ino, no_space);
        }
        any
    }

    /// Whether a setattr is kept with the file's writes.
    pub(super) fn has_set(&self, ino: Ino) -> bool {
        self.busy.load(Ordering::Acquire) != 0
            && self.files.lock().get(&ino).is_some_and(|k| k.set.is_some())
    }

    /// Remembers a file just made on this mount, empty (see `made`).
    pub(super) fn made(&self, attr: &Attr) {
        if attr.kind != Kind::File || attr.size != 0 || attr.allocated != 0 {
            return;
        }
        let mut made = self.made.lock();
        if made.len() >= MADE_MAX {
            made.clear();
        }
        made.insert(attr.ino, attr.clone());
    }

    /// The file changed, here or elsewhere, or is no longer open here (None: every file).
    pub(super) fn unmade(&self, ino: Option<Ino>) {
        let mut made = self.made.lock();
        match ino {
            Some(ino) => made.remove(&ino),
            None => {
                made.clear();
                None
            }
        };
    }

    /// Keeps a setattr that leaves the size alone with the file's kept writes, where the
    /// attributes their publication will leave can be told now: the file was made empty on
    /// this mount and changed only by what is kept, and the mtime is set (by this setattr
    /// or one kept before, since the last write). The caller holds `order(ino)`. Returns the
    /// attributes to tell the kernel; None if it must be sent.
    pub(super) fn keep_set(&self, ino: Ino, set: &SetAttr, now: SystemTime) -> Option<Attr> {
        if set.size.is_some() {
            return None;
        }
        let mut files = self.files.lock();
        let kept = files
            .get_mut(&ino)
            .filter(|k| !k.pieces.is_empty() && k.sending == 0)?;
        // Forgotten at any change told or heard of the file: what was shown before may be
        // out of date too (an unlink's link count), and this one must go.
        let made = self.made.lock().get(&ino)?.clone();
        let mut s = kept.set.clone().unwrap_or(KeptSet {
            shown: made,
            mode: None,
            uid: None,
            gid: None,
            atime: None,
            mtime: None,
            ctime: None,
        });
        let at = |t: TimeSet| match t {
            TimeSet::Now => now,
            TimeSet::At(t) => t,
        };
        s.mtime = set.mtime.map(at).or(s.mtime);
        let mtime = s.mtime?;
        s.atime = set.atime.map(at).or(s.atime);
        s.uid = set.uid.or(s.uid);
        s.gid = set.gid.or(s.gid);
        // As setattr.lua drops them, against the mode as it is then.
        let mut mode = set.perm.map_or(s.shown.perm, |p| p & 0o7777);
        if set.kill_privs {
            mode &= !0o4000;
            if mode & 0o2010 == 0o2010 || set.kill_sgid {
                mode &= !0o2000;
            }
        }
        if mode != s.shown.perm || set.perm.is_some() {
            s.mode = Some(mode);
        }
        let ctime = set.ctime.unwrap_or(now);
        s.ctime = Some(ctime);
        let (size, allocated) = kept.extent();
        s.shown = Attr {
            perm: mode,
            uid: s.uid.unwrap_or(s.shown.uid),
            gid: s.gid.unwrap_or(s.shown.gid),
            size,
            allocated,
            atime: s.atime.unwrap_or(s.shown.atime),
            mtime,
            ctime,
            ..s.shown
        };
        let shown = s.shown.clone();
        kept.set = Some(s);
        Some(shown)
    }

    /// Counts sendings done (see `sends`).
    pub(super) fn sends(&self) -> u64 {
        self.sends.load(Ordering::Acquire)
    }

    /// Marks `ino` queued for the sending thread; false if it was already.
    pub(super) fn queue(&self, ino: Ino) -> bool {
        let mut files = self.files.lock();
        files
            .get_mut(&ino)
            .is_some_and(|k| !std::mem::replace(&mut k.queued, true))
    }

    /// The sending thread takes `ino` up: a later `queue` queues it again.
    pub(super) fn dequeued(&self, ino: Ino) {
        if let Some(k) = self.files.lock().get_mut(&ino) {
            k.queued = false;
        }
    }

    /// The writes `take` gave for `ino` were sent (`ok`), or put back or given up.
    pub(super) fn sent(&self, ino: Ino, ok: bool) {
        self.sends.fetch_add(1, Ordering::AcqRel);
        let mut files = self.files.lock();
        if let Some(k) = files.get_mut(&ino) {
            self.flying
                .fetch_sub(std::mem::take(&mut k.flying) as u64, Ordering::AcqRel);
            if ok {
                k.failed = false;
            }
            k.sending -= 1;
            if k.sending == 0 && k.pieces.is_empty() {
                files.remove(&ino);
                self.busy.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl Kept {
    fn brimful(&self) -> bool {
        self.pieces.len() >= PIECES_MAX || self.bytes >= BATCH_MAX
    }

    /// The size and the bytes held of a file made empty once these pieces are published:
    /// each chunk holds up to the last byte written in it (as write.lua counts).
    fn extent(&self) -> (u64, u64) {
        let mut lens: BTreeMap<u64, u64> = BTreeMap::new();
        let mut size = 0;
        for (&at, data) in &self.pieces {
            let end = at + data.len() as u64;
            size = size.max(end);
            for (idx, _, to) in spans(at, end) {
                let len = lens.entry(idx).or_default();
                *len = (*len).max(to);
            }
        }
        (size, lens.values().sum())
    }

    /// Lays `data` over `[offset, end)`, joining the pieces it overlaps or touches (but for
    /// a write that follows a piece of `FILE_MAX` bytes or more: a sequential writer's
    /// pieces are not copied again into one ever longer). A new piece takes `spare`'s buffer
    /// if given.
    fn put(&mut self, offset: u64, end: u64, data: &[u8], spare: &mut Option<Vec<u8>>) {
        let mut start = offset;
        let mut buf = match self.pieces.range(..=offset).next_back() {
            Some((&s, v))
                if s + v.len() as u64 > offset
                    || (s + v.len() as u64 == offset && v.len() < FILE_MAX) =>
            {
                start = s;
                let v = self.pieces.remove(&s).unwrap_or_default();
                self.bytes -= v.len();
                v
            }
            _ => spare.take().unwrap_or_default(),
        };
        let at = (offset - start) as usize;
        if buf.len() == at {
            // Appended (a new piece, or a writer's next write): copied once.
            buf.extend_from_slice(data);
        } else {
            if buf.len() < at + data.len() {
                buf.resize(at + data.len(), 0);
            }
            buf[at..at + data.len()].copy_from_slice(data);
        }
        // Later pieces the write reaches: what lies past its end is kept.
        let later: Vec<u64> = self.pieces.range(offset..=end).map(|(&s, _)| s).collect();
        for s in later {
            let v = self.pieces.remove(&s).unwrap_or_default();
            self.bytes -= v.len();
            let tail_from = (end - s) as usize;
            if tail_from < v.len() {
                buf.extend_from_slice(&v[tail_from..]);
            }
        }
        self.bytes += buf.len();
        self.pieces.insert(start, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(k: &Kept) -> Vec<(u64, Vec<u8>)> {
        k.pieces.iter().map(|(&s, v)| (s, v.clone())).collect()
    }

    #[test]
    fn a_setattr_waits_only_where_what_it_leaves_is_known() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let (b, now, mut full) = (Behind::default(), t(100), false);
        let made = Attr {
            ino: 5,
            kind: Kind::File,
            perm: 0o6755,
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 0,
            allocated: 0,
            rdev: 0,
            atime: t(1),
            mtime: t(1),
            ctime: t(1),
            crtime: t(1),
        };
        let times = SetAttr {
            mtime: Some(TimeSet::At(t(7))),
            ..SetAttr::default()
        };
        assert!(b.keep_set(5, &times, now).is_none(), "no writes kept");
        assert!(b.keep(5, 0, b"abc", &mut full));
        assert!(b.keep(5, CHUNK + 10, b"de", &mut full));
        assert!(b.keep_set(5, &times, now).is_none(), "not made here");
        b.made(&made);
        let shown = b.keep_set(5, &times, now).expect("kept");
        assert_eq!((shown.size, shown.allocated), (CHUNK + 12, 3 + 12));
        assert_eq!((shown.mtime, shown.ctime, shown.atime), (t(7), now, t(1)));
        let chown = SetAttr {
            uid: Some(1),
            kill_privs: true,
            ..SetAttr::default()
        };
        let shown = b.keep_set(5, &chown, now).expect("kept: the mtime is set");
        assert_eq!(
            (shown.uid, shown.perm),
            (1, 0o755),
            "setuid and setgid dropped"
        );
        b.unmade(Some(5));
        assert!(b.keep_set(5, &times, now).is_none(), "told of a change");
        b.made(&made);
        assert!(b.keep(5, 3, b"f", &mut full));
        let chmod = SetAttr {
            perm: Some(0o600),
            ..SetAttr::default()
        };
        assert!(
            b.keep_set(5, &chmod, now).is_none(),
            "a write since: its publication sets the mtime"
        );
        let Taken { pieces, set, .. } = b.take(5).expect("kept");
        assert_eq!(pieces.len(), 2);
        let args = set.expect("the setattrs kept").args();
        assert_eq!(args[..3], ["493", "1", ""], "mode, owner, group");
        assert_eq!(
            args[4..],
            ["", "", ""],
            "the write's publication sets the times"
        );
        let then = set_args_then(
            &args,
            &std::array::from_fn(|i| ["384", "", "", "", "", "", "1"][i].into()),
        );
        assert_eq!(
            then[..3],
            ["384", "1", ""],
            "the later mode over the earlier"
        );
        assert_eq!(then[6], "1", "the later privileges to drop");
        assert_eq!(then[5], "", "the later ctime: the time it runs");

        // A sending that fails while a write is kept: the set comes back without its times.
        let mut made = made;
        made.ino = 6;
        b.made(&made);
        assert!(b.keep(6, 0, b"abc", &mut full));
        assert!(b.keep_set(6, &times, now).is_some());
        assert!(b.has_set(6));
        let sending = b.take(6).expect("kept");
        assert!(b.keep(6, 3, b"d", &mut full));
        b.restore(6, sending);
        b.sent(6, false);
        let Taken { pieces, set, .. } = b.take(6).expect("kept");
        assert_eq!(pieces, vec![(0, b"abcd".to_vec())]);
        assert_eq!(
            set.expect("kept").args()[4..6],
            ["", ""],
            "the write's times"
        );
    }

    #[test]
    fn pieces_join_where_they_touch_and_later_bytes_win() {
        let mut k = Kept::default();
        k.put(0, 3, b"abc", &mut None);
        k.put(3, 5, b"de", &mut None);
        assert_eq!(image(&k), vec![(0, b"abcde".to_vec())], "appends join");
        k.put(10, 12, b"xy", &mut None);
        assert_eq!(k.pieces.len(), 2, "a gap keeps two pieces");
        k.put(4, 11, b"1234567", &mut None);
        assert_eq!(
            image(&k),
            vec![(0, b"abcd1234567y".to_vec())],
            "a write over both joins them, its bytes over theirs"
        );
        k.put(2, 3, b"Z", &mut None);
        assert_eq!(image(&k), vec![(0, b"abZd1234567y".to_vec())]);
        assert_eq!(k.bytes, 12);
        k.put(20, 21, b"q", &mut None);
        k.put(19, 22, b"PQR", &mut None);
        assert_eq!(image(&k)[1], (19, b"PQR".to_vec()), "covered whole");
        assert_eq!(k.bytes, 15);
    }

    #[test]
    fn big_writes_and_full_files_are_not_kept() {
        let b = Behind::default();
        let mut full = false;
        assert!(!b.keep(1, 0, &vec![0; FILE_MAX + 1], &mut full));
        assert!(
            !b.keep(1, MAX_FILE_SIZE, b"x", &mut full),
            "past the largest file"
        );
        assert!(!b.keep(1, 0, b"", &mut full));
        assert!(!b.may_hold(1));
        for j in 0..PIECES_MAX as u64 {
            assert!(b.keep(1, j * 2, b"x", &mut full));
        }
        assert!(full, "{PIECES_MAX} pieces");
        assert!(b.may_hold(1));
        let p = b.take(1).expect("kept").pieces;
        assert!(b.may_hold(1), "being sent");
        assert!(b.take(1).is_none(), "nothing more kept");
        b.sent(1, true);
        assert_eq!(p.len(), PIECES_MAX);
        assert!(!b.may_hold(1) && b.files().is_empty());
        assert_eq!(b.total.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_chunk_of_writes_is_queued_once_for_the_sending_thread() {
        let b = Behind::default();
        let mut full = false;
        assert!(b.keep(1, 0, &vec![1; FILE_MAX], &mut full), "a 1 MiB write");
        assert!(full);
        assert!(b.queue(1), "queued");
        assert!(!b.queue(1), "once, until the thread takes it up");
        assert!(!b.queue(2), "nothing kept of that file");
        b.dequeued(1);
        let sending = b.take(1).expect("kept");
        assert!(
            b.keep(1, FILE_MAX as u64, &vec![2; FILE_MAX], &mut full),
            "the next write, while the first is sent"
        );
        assert!(b.queue(1), "queued again");
        b.sent(1, true);
        b.recycle(sending.pieces);
        assert_eq!(b.spare.lock().len(), 1, "its buffer kept for the next");
        let pieces = b.take(1).expect("kept").pieces;
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].0, FILE_MAX as u64);
        b.sent(1, true);
        assert!(b.idle());
    }

    #[test]
    fn after_a_failed_sending_a_files_writes_go_at_once() {
        let b = Behind::default();
        let mut full = false;
        assert!(b.keep(1, 0, b"abc", &mut full));
        let sending = b.take(1).expect("kept");
        b.restore(1, sending);
        b.sent(1, false);
        assert!(!b.keep(1, 3, b"d", &mut full), "the writer hears of it");
        assert!(b.keep(2, 0, b"x", &mut full), "other files keep theirs");
        let pieces = b.take(1).expect("still kept").pieces;
        assert_eq!(pieces, vec![(0, b"abc".to_vec())]);
        b.sent(1, true);
        assert!(
            b.keep(1, 3, b"d", &mut full),
            "kept again once one succeeded"
        );
    }

    #[test]
    fn bytes_being_sent_count_against_the_total() {
        let b = Behind::default();
        let mut full = false;
        let mib = vec![0; FILE_MAX];
        let files = (TOTAL_MAX / FILE_MAX) as u64;
        for ino in 0..files {
            assert!(b.keep(ino, 0, &mib, &mut full));
        }
        assert!(!b.keep(files, 0, &mib, &mut full), "all kept");
        let sending = b.take(0).expect("kept");
        assert!(!b.keep(files, 0, &mib, &mut full), "being sent");
        b.sent(0, true);
        drop(sending);
        assert!(b.keep(files, 0, &mib, &mut full), "sent");
    }

    #[test]
    fn a_sequential_writers_pieces_stay_apart_past_a_chunk() {
        let mut k = Kept::default();
        k.put(0, 10, &[1; 10], &mut None);
        k.put(10, 20, &[2; 10], &mut None);
        assert_eq!(k.pieces.len(), 1, "small pieces join");
        let mib = FILE_MAX as u64;
        let mut k = Kept::default();
        k.put(0, mib, &vec![1; FILE_MAX], &mut None);
        k.put(mib, 2 * mib, &vec![2; FILE_MAX], &mut None);
        assert_eq!(k.pieces.len(), 2, "not copied into one");
        k.put(mib - 1, mib + 1, &[3, 3], &mut None);
        assert_eq!(k.pieces.len(), 1, "a write over both joins them");
        let v = &k.pieces[&0];
        assert_eq!(
            (v.len(), v[FILE_MAX - 2], v[FILE_MAX - 1], v[FILE_MAX]),
            (2 * FILE_MAX, 1, 3, 3)
        );
        assert_eq!(v[FILE_MAX + 1], 2);
        assert_eq!(k.bytes, 2 * FILE_MAX);
    }

    #[test]
    fn a_sending_holds_a_bounded_batch() {
        let b = Behind::default();
        let mut full = false;
        for j in 0..PIECES_MAX as u64 {
            assert!(b.keep(1, j * 2, b"x", &mut full));
        }
        assert!(b.brimful(1));
        assert!(!b.keep(1, 1_000_000, b"y", &mut full), "the next waits");
        let sending = b.take(1).expect("kept");
        assert!(!b.brimful(1) && b.keep(1, 1_000_000, b"y", &mut full));
        b.sent(1, true);
        drop(sending);
        let mib = vec![0; FILE_MAX];
        for j in 0..(BATCH_MAX / FILE_MAX) as u64 {
            assert!(b.keep(2, j * FILE_MAX as u64, &mib, &mut full));
        }
        assert!(b.brimful(2), "{BATCH_MAX} bytes");

        // Put back under what was kept meanwhile: sent again in shares.
        let b = Behind::default();
        for j in 0..PIECES_MAX as u64 {
            assert!(b.keep(3, j * 2, b"x", &mut full));
        }
        let first = b.take(3).expect("kept");
        assert!(first.all);
        for j in 0..PIECES_MAX as u64 {
            assert!(b.keep(3, 10_000 + j * 2, b"y", &mut full));
        }
        b.restore(3, first);
        b.sent(3, false);
        let one = b.take(3).expect("kept");
        assert_eq!((one.pieces.len(), one.all), (PIECES_MAX, false));
        b.sent(3, true);
        let two = b.take(3).expect("kept");
        assert_eq!((two.pieces.len(), two.all), (PIECES_MAX, true));
        assert_eq!(two.pieces[0].0, 10_000, "in offset order");
        b.sent(3, true);
        assert!(b.take(3).is_none() && b.idle());
    }
}
