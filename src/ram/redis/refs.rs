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

    /// Every inode the kernel holds now.
    pub(super) fn inos(&self) -> Vec<Ino> {
        self.shards
            .iter()
            .flat_map(|s| s.lock().keys().copied().collect::<Vec<_>>())
            .collect()
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
