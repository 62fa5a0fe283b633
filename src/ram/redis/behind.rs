//! Small writes kept back on this mount and sent to Redis together. `tar -x` writes a file
//! in 10 KiB pieces and random writes come 4 KiB at a time: each was a round trip to Redis
//! (a slice and its publication). A file's kept writes go as one publication at the latest
//! when it is closed (the kernel's FLUSH, so close-to-open between mounts holds), synced or
//! released, and before any other use of it on this mount (a read, its attributes, a
//! truncate, a big write): nothing here ever shows an older state than a write that
//! returned. Redis refusing them (for memory, or being down) shows at `close` or `fsync`,
//! not at `write`, and those writes are then given up, as that error says; a failure
//! elsewhere keeps them for the close.

use std::collections::BTreeMap;

use super::*;

/// Writes of at least this many bytes go at once (the kept ones before them).
pub(super) const DIRECT: usize = 64 << 10;
/// A file's kept bytes are sent once they reach this.
const FILE_MAX: usize = 1 << 20;
/// A file's kept pieces are sent once there are this many (one slice each).
const PIECES_MAX: usize = 256;
/// Bytes kept over all files: past it, a file's writes are sent as they come.
const TOTAL_MAX: usize = 64 << 20;
/// Locks that order a file's sending against everything else done to it.
const STRIPES: usize = 64;

/// One file's kept writes: disjoint, never touching, by offset.
#[derive(Default)]
struct Kept {
    pieces: BTreeMap<u64, Vec<u8>>,
    bytes: usize,
    /// Sendings of its writes under way: the entry stays until they are done.
    sending: u32,
}

pub(super) struct Behind {
    /// Files with writes kept or being sent.
    files: Mutex<HashMap<Ino, Kept>>,
    total: AtomicU64,
    /// How many files `files` holds: 0 lets every other call pass at once.
    busy: AtomicU64,
    /// Sendings done: a reply read while one ended may be of before it.
    sends: AtomicU64,
    /// Files whose kept writes were given up, and whether for want of space: the next
    /// close or fsync of the file says so too (its other descriptors).
    lost: Mutex<HashMap<Ino, bool>>,
    stripes: [Mutex<()>; STRIPES],
}

impl Default for Behind {
    fn default() -> Self {
        Behind {
            files: Mutex::default(),
            total: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            sends: AtomicU64::new(0),
            lost: Mutex::default(),
            stripes: std::array::from_fn(|_| Mutex::new(())),
        }
    }
}

/// What a file's kept writes were, to send: pieces in offset order.
pub(super) type Pieces = Vec<(u64, Vec<u8>)>;

impl Behind {
    /// Keeps a write of `data` at `offset` (the caller holds `order(ino)`); false if it must
    /// go now instead (too big, or too much is kept). True with `full`: the file's kept
    /// writes should be sent now.
    pub(super) fn keep(&self, ino: Ino, offset: u64, data: &[u8], full: &mut bool) -> bool {
        let end = match offset.checked_add(data.len() as u64) {
            Some(e) if e <= MAX_FILE_SIZE && !data.is_empty() && data.len() < DIRECT => e,
            _ => return false,
        };
        if self.total.load(Ordering::Acquire) as usize + data.len() > TOTAL_MAX {
            return false;
        }
        let mut files = self.files.lock();
        let kept = files.entry(ino).or_insert_with(|| {
            self.busy.fetch_add(1, Ordering::AcqRel);
            Kept::default()
        });
        let before = kept.bytes;
        kept.put(offset, end, data);
        self.total
            .fetch_add((kept.bytes - before) as u64, Ordering::AcqRel);
        *full = kept.bytes >= FILE_MAX || kept.pieces.len() >= PIECES_MAX;
        true
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

    /// Takes a file's kept writes to send (the caller holds `order(ino)` until sent, then
    /// calls `sent`); None if none are kept.
    pub(super) fn take(&self, ino: Ino) -> Option<Pieces> {
        let mut files = self.files.lock();
        let kept = files.get_mut(&ino).filter(|k| !k.pieces.is_empty())?;
        self.total.fetch_sub(kept.bytes as u64, Ordering::AcqRel);
        kept.bytes = 0;
        kept.sending += 1;
        Some(std::mem::take(&mut kept.pieces).into_iter().collect())
    }

    /// Puts back what `take` gave, where sending it failed: writes kept since lie over it.
    pub(super) fn restore(&self, ino: Ino, pieces: Pieces) {
        let mut files = self.files.lock();
        let Some(kept) = files.get_mut(&ino) else {
            return;
        };
        let newer = std::mem::take(&mut kept.pieces);
        let before = std::mem::take(&mut kept.bytes);
        for (at, data) in pieces.into_iter().chain(newer) {
            let end = at + data.len() as u64;
            kept.put(at, end, &data);
        }
        let now = kept.bytes;
        self.total
            .fetch_add(now.saturating_sub(before) as u64, Ordering::AcqRel);
    }

    /// Gives up a file's kept writes (a close or fsync said they failed): the next close or
    /// fsync of the file fails too. Under `order(ino)`, so that a sending under way ends
    /// first (the caller must not hold it): writes it failed to send and put back are
    /// given up too, not left for a later close that would not hear of the failure.
    pub(super) fn give_up(&self, ino: Ino, no_space: bool) {
        let _order = self.order(ino);
        if self.take(ino).is_some() {
            self.sent(ino);
            self.lost.lock().insert(ino, no_space);
        }
    }

    /// The failure `give_up` recorded for the file, once.
    pub(super) fn lost(&self, ino: Ino) -> StoreResult<()> {
        match self.lost.lock().remove(&ino) {
            None => Ok(()),
            Some(true) => Err(StoreError::NoSpace),
            Some(false) => Err(StoreError::Unavailable(format!(
                "writes to inode {ino} kept for its close could not be stored"
            ))),
        }
    }

    /// Counts sendings done (see `sends`).
    pub(super) fn sends(&self) -> u64 {
        self.sends.load(Ordering::Acquire)
    }

    /// The writes `take` gave for `ino` were sent (or given up).
    pub(super) fn sent(&self, ino: Ino) {
        self.sends.fetch_add(1, Ordering::AcqRel);
        let mut files = self.files.lock();
        if let Some(k) = files.get_mut(&ino) {
            k.sending -= 1;
            if k.sending == 0 && k.pieces.is_empty() {
                files.remove(&ino);
                self.busy.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl Kept {
    /// Lays `data` over `[offset, end)`, joining the pieces it overlaps or touches.
    fn put(&mut self, offset: u64, end: u64, data: &[u8]) {
        let mut start = offset;
        let mut buf = match self.pieces.range(..=offset).next_back() {
            Some((&s, v)) if s + v.len() as u64 >= offset => {
                start = s;
                let v = self.pieces.remove(&s).unwrap_or_default();
                self.bytes -= v.len();
                v
            }
            _ => Vec::new(),
        };
        let at = (offset - start) as usize;
        if buf.len() < at + data.len() {
            buf.resize(at + data.len(), 0);
        }
        buf[at..at + data.len()].copy_from_slice(data);
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
    fn pieces_join_where_they_touch_and_later_bytes_win() {
        let mut k = Kept::default();
        k.put(0, 3, b"abc");
        k.put(3, 5, b"de");
        assert_eq!(image(&k), vec![(0, b"abcde".to_vec())], "appends join");
        k.put(10, 12, b"xy");
        assert_eq!(k.pieces.len(), 2, "a gap keeps two pieces");
        k.put(4, 11, b"1234567");
        assert_eq!(
            image(&k),
            vec![(0, b"abcd1234567y".to_vec())],
            "a write over both joins them, its bytes over theirs"
        );
        k.put(2, 3, b"Z");
        assert_eq!(image(&k), vec![(0, b"abZd1234567y".to_vec())]);
        assert_eq!(k.bytes, 12);
        k.put(20, 21, b"q");
        k.put(19, 22, b"PQR");
        assert_eq!(image(&k)[1], (19, b"PQR".to_vec()), "covered whole");
        assert_eq!(k.bytes, 15);
    }

    #[test]
    fn big_writes_and_full_files_are_not_kept() {
        let b = Behind::default();
        let mut full = false;
        assert!(!b.keep(1, 0, &vec![0; DIRECT], &mut full));
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
        let p = b.take(1).expect("kept");
        assert!(b.may_hold(1), "being sent");
        assert!(b.take(1).is_none(), "nothing more kept");
        b.sent(1);
        assert_eq!(p.len(), PIECES_MAX);
        assert!(!b.may_hold(1) && b.files().is_empty());
        assert_eq!(b.total.load(Ordering::Acquire), 0);
    }
}
