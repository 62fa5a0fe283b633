//! The kernel's references to inodes, counted by this mount.

use super::*;

/// The kernel's references to inodes, per inode: lookups not yet forgotten, and whether an
/// unlinked file is kept in Redis for them (counted as an open of this session).
pub(super) struct KernelRefs {
    pub(super) shards: Box<[Mutex<HashMap<Ino, Refs>>]>,
    /// Inodes held (`Refs::held`) now.
    pub(super) held: AtomicU64,
}

#[derive(Default)]
pub(super) struct Refs {
    pub(super) n: u64,
    pub(super) held: bool,
}

impl KernelRefs {
    pub(super) fn new() -> KernelRefs {
        KernelRefs {
            shards: (0..64).map(|_| Mutex::new(HashMap::new())).collect(),
            held: AtomicU64::new(0),
        }
    }

    pub(super) fn shard(&self, ino: Ino) -> &Mutex<HashMap<Ino, Refs>> {
        &self.shards[(ino % self.shards.len() as u64) as usize]
    }

    pub(super) fn pin(&self, ino: Ino) {
        self.shard(ino).lock().entry(ino).or_default().n += 1;
    }

    /// Whether the inode was kept for the kernel and must be given back now.
    pub(super) fn forget(&self, ino: Ino, n: u64) -> bool {
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
    pub(super) fn adopt(&self, ino: Ino) -> bool {
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
