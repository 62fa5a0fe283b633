//! The janitor thread: work a write leaves for later, off the caller's round trip
//! (deleting slices it made unused, rewriting a fragmented chunk as one, sealing a full
//! pack).

use super::*;

/// Work a write leaves for later, off the caller's round trip: deleting the slices it made
/// unused, rewriting a fragmented chunk as one slice, and sealing a full pack.
pub(super) enum Chore {
    Drop(Vec<Vec<u8>>),
    Compact(Ino, u64),
    Seal(u64),
}

/// Queues chores for the janitor thread.
pub(super) struct Janitor {
    pub(super) tx: mpsc::Sender<Chore>,
    /// Chunks queued for compaction, so that a burst of writes queues each once.
    pub(super) queued: Arc<Mutex<HashSet<(Ino, u64)>>>,
}

impl Janitor {
    pub(super) fn drop_slices(&self, members: &[Value]) {
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

    pub(super) fn compact(&self, ino: Ino, idx: u64) {
        if self.queued.lock().insert((ino, idx)) {
            let _ = self.tx.send(Chore::Compact(ino, idx));
        }
    }

    /// False once the thread is gone (unmount).
    pub(super) fn seal(&self, sid: u64) -> bool {
        self.tx.send(Chore::Seal(sid)).is_ok()
    }
}

pub(super) fn janitor(
    inner: Weak<Inner>,
    rx: mpsc::Receiver<Chore>,
    queued: Arc<Mutex<HashSet<(Ino, u64)>>>,
) {
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
            Chore::Seal(sid) => inner.seal_pack(sid),
        }
    }
}

impl Inner {
    /// Rewrites a chunk split in many slices as one, unless it changed meanwhile. Run on
    /// the janitor thread, after the write that found it fragmented.
    pub(super) fn compact(&self, ino: Ino, idx: u64) {
        // The entry and its bytes in one read: the swap below then compares against exactly
        // what was copied (an entry changed and changed back in between cannot pass).
        let got = match self.read_spans(ino, &[(idx, 0, CHUNK)]) {
            Ok(g) => g,
            Err(e) => {
                debug!("compacting chunk {idx} of inode {ino}: {e}");
                return;
            }
        };
        let (Some(Some(entry)), Some(Some(mut data))) = (
            got.entries.into_iter().next(),
            got.chunks.into_iter().next(),
        ) else {
            return;
        };
        let len = entry
            .split(|&b| b == b'|' || b == b'/')
            .next()
            .and_then(|l| std::str::from_utf8(l).ok()?.parse::<u64>().ok())
            .unwrap_or(0)
            .min(CHUNK);
        if len == 0 {
            return;
        }
        data.truncate(len as usize);
        // One slice, or two where one would waste much of its block (`sizes.rs`).
        let at = sizes::cut(len);
        let Ok(sids) = self.take_sids(1 + usize::from(at.is_some())) else {
            return;
        };
        let (ino_s, idx_s) = (ino.to_string(), idx.to_string());
        let nums: Vec<String> = sids
            .iter()
            .map(|s| s.to_string())
            .chain(at.map(|a| a.to_string()))
            .collect();
        let mut args: Vec<&[u8]> = vec![ino_s.as_bytes(), idx_s.as_bytes(), entry.as_slice()];
        args.extend(nums.iter().map(|n| n.as_bytes()));
        let bounds = [0, at.unwrap_or(len) as usize, len as usize];
        let sets: Vec<(String, &[u8])> = sids
            .iter()
            .enumerate()
            .map(|(k, &sid)| (self.keys.slice(sid), &data[bounds[k]..bounds[k + 1]]))
            .collect();
        match self.publish(&self.scripts.compact, &sets, None, &args) {
            Ok(Value::Array(gc)) => {
                self.drop_chunks(&gc);
                return;
            }
            Ok(_) => debug!("chunk {idx} of inode {ino} changed while it was compacted"),
            Err(f) => debug!("compacting chunk {idx} of inode {ino}: {}", self.fail(f)),
        }
        // Not published, or not known to be: given up unless it was.
        let sent: Vec<(u64, u64)> = sids.iter().map(|&s| (idx, s)).collect();
        self.abandon(ino, &sent);
    }
}
