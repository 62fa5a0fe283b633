//! Telling the kernel what jobs changed behind its back.

use super::*;

/// Jobs' changes told to the kernel through the FUSE session's notifier (filled once the
/// session exists; before that there is nothing cached to drop).
pub(super) struct KernelCache {
    pub(super) notifier: Arc<OnceLock<Notifier>>,
}

impl crate::control::Invalidate for KernelCache {
    fn entries(&self, place: Place, changed: &[(u64, OsString)]) {
        let Some(n) = self.notifier.get() else { return };
        let fuse_ino = match place {
            Place::Vram => inode::from_ram,
            Place::Vdisk => inode::from_disk,
        };
        let mut parents = std::collections::BTreeSet::new();
        for (dir, name) in changed {
            let parent = INodeNo(fuse_ino(*dir));
            let _ = n.inval_entry(parent, name);
            parents.insert(parent.0);
        }
        for p in parents {
            let _ = n.inval_inode(INodeNo(p), 0, 0);
        }
    }
}
