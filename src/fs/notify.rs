//! Telling the kernel what jobs changed behind its back.

use super::*;

/// Jobs' changes told to the kernel through the FUSE session's notifier (filled once the
/// session exists; before that there is nothing cached to drop).
pub(super) struct KernelCache {
    pub(super) notifier: Arc<OnceLock<Notifier>>,
}

impl crate::control::Invalidate for KernelCache {
    fn ram_entries(&self, changed: &[(u64, OsString)]) {
        let Some(n) = self.notifier.get() else { return };
        let mut parents = std::collections::BTreeSet::new();
        for (dir, name) in changed {
            let parent = INodeNo(inode::from_ram(*dir));
            let _ = n.inval_entry(parent, name);
            parents.insert(parent.0);
        }
        for p in parents {
            let _ = n.inval_inode(INodeNo(p), 0, 0);
        }
    }
}
