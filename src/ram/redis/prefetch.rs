//! Small files' bytes, read in their open's round trip.
//!
//! `cp -r`, `grep -r` or a compiler open a small file and read it whole at once; on Redis
//! that was two round trips, the open's script and the read's. An open for reading of a
//! file of at most `PREFETCH_MAX` bytes brings them back with it (one server only: a script
//! there can read every slice), and the reads that follow are answered from them until the
//! file is changed here, told changed by another mount, or released.
//!
//! What a read so answered returns is the file as the open found it, as close-to-open asks,
//! and never older than a change made on this mount: one that had started before the open
//! and had not ended keeps the open from keeping the bytes, and one that starts after it
//! takes them back (`changing`). Changes are counted per shard of inode numbers, so a
//! change to one file leaves the bytes of others alone (but for the few in its shard).

use super::*;

/// The largest file whose bytes an open brings back.
pub(super) const PREFETCH_MAX: u64 = 64 * 1024;
/// Bytes kept at most, for all files: past it an open brings none back.
const KEPT_MAX: usize = 16 << 20;
const SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    /// Changes begun and ended (equal: none under way).
    begun: AtomicU64,
    ended: AtomicU64,
}

struct Kept {
    /// `begun` of the file's shard when its open was sent.
    begun: u64,
    data: Vec<u8>,
}

#[derive(Default)]
struct Files {
    map: HashMap<Ino, Kept>,
    bytes: usize,
}

pub(super) struct Prefetch {
    shards: [Shard; SHARDS],
    files: Mutex<Files>,
}

impl Default for Prefetch {
    fn default() -> Self {
        Prefetch {
            shards: std::array::from_fn(|_| Shard::default()),
            files: Mutex::default(),
        }
    }
}

/// A change of a file's data under way (`Prefetch::changing`); ends when dropped.
pub(super) struct Changing<'a>(&'a Shard);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::AcqRel);
    }
}

/// An open that may keep what it brings back (`Prefetch::may_keep`).
pub(super) struct Ticket {
    ino: Ino,
    begun: u64,
}

impl Prefetch {
    fn shard(&self, ino: Ino) -> &Shard {
        &self.shards[(ino as usize) % SHARDS]
    }

    /// Marks a change of `ino`'s data (its size, bytes or allocation) for as long as the
    /// guard lives: bytes brought back before it are dropped now, and an open under way
    /// meanwhile keeps none.
    pub(super) fn changing(&self, ino: Ino) -> Changing<'_> {
        let s = self.shard(ino);
        s.begun.fetch_add(1, Ordering::AcqRel);
        self.drop_file(ino);
        Changing(s)
    }

    /// Before an open's script is sent: Some if what it brings back may be kept, that is no
    /// change of a file in `ino`'s shard is under way and there is room.
    pub(super) fn may_keep(&self, ino: Ino) -> Option<Ticket> {
        let s = self.shard(ino);
        let begun = s.begun.load(Ordering::Acquire);
        if s.ended.load(Ordering::Acquire) != begun {
            return None;
        }
        if self.files.lock().bytes >= KEPT_MAX {
            return None;
        }
        Some(Ticket { ino, begun })
    }

    /// Keeps what the open of `t` brought back, unless a change began since it was sent.
    pub(super) fn keep(&self, t: Ticket, data: Vec<u8>) {
        let mut f = self.files.lock();
        let s = self.shard(t.ino);
        // Under the lock: a change that begins after this check drops the bytes.
        if s.begun.load(Ordering::Acquire) != t.begun {
            return;
        }
        // Another open's bytes of the file: which of the two is newer is not known here
        // (another mount may have changed it between them), so neither is read, nor those
        // of an open still under way.
        if let Some(old) = f.map.remove(&t.ino) {
            f.bytes -= old.data.len();
            s.begun.fetch_add(1, Ordering::AcqRel);
            s.ended.fetch_add(1, Ordering::AcqRel);
            return;
        }
        if f.bytes + data.len() > KEPT_MAX {
            return;
        }
        f.bytes += data.len();
        f.map.insert(
            t.ino,
            Kept {
                begun: t.begun,
                data,
            },
        );
    }

    /// `size` bytes at `offset` of `ino` as its open found them (fewer at its end), if they
    /// are kept and no change began since.
    pub(super) fn read(&self, ino: Ino, offset: u64, size: u32) -> Option<Vec<u8>> {
        let f = self.files.lock();
        let k = f.map.get(&ino)?;
        if self.shard(ino).begun.load(Ordering::Acquire) != k.begun {
            return None;
        }
        let len = k.data.len() as u64;
        let from = offset.min(len) as usize;
        let to = offset.saturating_add(u64::from(size)).min(len) as usize;
        Some(k.data[from..to].to_vec())
    }

    pub(super) fn drop_file(&self, ino: Ino) {
        let mut f = self.files.lock();
        if let Some(k) = f.map.remove(&ino) {
            f.bytes -= k.data.len();
        }
    }

    /// Another mount changed `ino`, or an open of it brought no bytes back (its reads must
    /// not be answered from an earlier open's): its bytes go, and an open under way keeps
    /// none.
    pub(super) fn forget(&self, ino: Ino) {
        drop(self.changing(ino));
    }

    /// `forget` of every file.
    pub(super) fn forget_all(&self) {
        for s in &self.shards {
            s.begun.fetch_add(1, Ordering::AcqRel);
            s.ended.fetch_add(1, Ordering::AcqRel);
        }
        let mut f = self.files.lock();
        f.map.clear();
        f.bytes = 0;
    }
}

impl RedisStore {
    /// `RamStore::open`, bringing a small file's bytes along where they may be kept.
    pub(super) fn open_bringing(&self, ino: Ino, reads: bool) -> StoreResult<bool> {
        self.send_quietly(ino);
        let i = ino.to_string();
        // Its bytes may come along (see `prefetch`): on one server, for an open that reads,
        // with no writes kept back (they are not in Redis).
        let ticket = (reads && !self.inner.cluster())
            .then(|| self.inner.prefetch.may_keep(ino))
            .flatten()
            .filter(|_| !self.inner.behind.may_hold(ino));
        let most = if ticket.is_some() { PREFETCH_MAX } else { 0 }.to_string();
        // No bytes where the kernel keeps pages of the version Redis has.
        let known = ticket
            .as_ref()
            .and_then(|_| self.inner.versions.known(ino))
            .unwrap_or_default();
        let v = self.inner.script(
            &self.inner.scripts.open,
            false,
            &[
                i.as_bytes(),
                self.inner.sid.as_bytes(),
                most.as_bytes(),
                &known,
            ],
        )?;
        let (version, brought) = match &v {
            Value::Array(a) => (a.first().and_then(bytes), a.get(1).zip(a.get(2))),
            v => (bytes(v), None),
        };
        let mut kept = false;
        if let (Some(t), Some((size, got))) = (ticket, brought) {
            // Counted open by now: bytes that do not parse are only not kept.
            match number(size).map(|n| span_of(got, 0, n)) {
                Some(Ok((_, data))) => {
                    self.inner.prefetch.keep(t, data);
                    kept = true;
                }
                _ => warn!("the open of inode {ino} brought its bytes garbled; read from Redis"),
            }
        }
        if reads && !kept {
            self.inner.prefetch.forget(ino);
        }
        Ok(self.inner.versions.opened(ino, version))
    }

    /// `RamStore::read`: from the bytes an open brought where they stand, else from Redis.
    pub(super) fn read_brought(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>> {
        // Writes kept back are read from Redis once sent (`read_data` sends them).
        if !self.inner.behind.may_hold(ino) {
            if let Some(data) = self.inner.prefetch.read(ino, offset, size) {
                return Ok(data);
            }
        }
        self.read_data(ino, offset, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_read_until_a_change_begins() {
        let p = Prefetch::default();
        let t = p.may_keep(7).unwrap();
        p.keep(t, b"hello world".to_vec());
        assert_eq!(p.read(7, 6, 100).as_deref(), Some(&b"world"[..]));
        assert_eq!(p.read(7, 20, 5).as_deref(), Some(&b""[..]));
        assert_eq!(p.read(8, 0, 5), None);
        drop(p.changing(7));
        assert_eq!(p.read(7, 0, 5), None);
    }

    #[test]
    fn a_change_under_way_or_begun_during_the_open_keeps_nothing() {
        let p = Prefetch::default();
        let g = p.changing(3);
        assert!(p.may_keep(3).is_none(), "a change under way");
        // Another shard is free.
        assert!(p.may_keep(4).is_some());
        drop(g);
        let t = p.may_keep(3).unwrap();
        drop(p.changing(3));
        p.keep(t, b"old".to_vec());
        assert_eq!(p.read(3, 0, 3), None);
        assert_eq!(p.files.lock().bytes, 0);
    }

    #[test]
    fn two_opens_bytes_of_one_file_are_not_read() {
        let p = Prefetch::default();
        let (first, second) = (p.may_keep(9).unwrap(), p.may_keep(9).unwrap());
        let third = p.may_keep(9).unwrap();
        p.keep(second, b"newer".to_vec());
        p.keep(first, b"older".to_vec());
        assert_eq!(p.read(9, 0, 5), None);
        p.keep(third, b"other".to_vec());
        assert_eq!(p.read(9, 0, 5), None);
        assert_eq!(p.files.lock().bytes, 0);
    }

    #[test]
    fn bytes_kept_are_counted_and_given_back() {
        let p = Prefetch::default();
        for ino in 1..=3 {
            let t = p.may_keep(ino).unwrap();
            p.keep(t, vec![0u8; 1000]);
        }
        assert_eq!(p.files.lock().bytes, 3000);
        p.drop_file(2);
        assert_eq!(p.files.lock().bytes, 2000);
        // A second open's bytes: neither open's are kept.
        let t = p.may_keep(1).unwrap();
        p.keep(t, vec![1u8; 10]);
        assert_eq!(p.files.lock().bytes, 1000);
        assert_eq!(p.read(1, 0, 10), None);
        p.forget_all();
        assert_eq!(p.files.lock().bytes, 0);
        assert_eq!(p.read(1, 0, 10), None);
    }
}
