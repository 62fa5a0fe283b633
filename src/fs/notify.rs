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

/// Another mount's changes in `vram/`: the kernel drops the names and attributes it holds
/// of them (a directory's cached listing with its names).
pub(super) fn foreign(notifier: &OnceLock<Notifier>, changed: &[ram::Foreign]) {
    let Some(n) = notifier.get() else { return };
    for f in changed {
        match f {
            ram::Foreign::Name(p, name) => {
                let parent = INodeNo(inode::from_ram(*p));
                let _ = n.inval_entry(parent, name);
                let _ = n.inval_inode(parent, 0, 0);
            }
            ram::Foreign::Attrs(i) => {
                let _ = n.inval_inode(INodeNo(inode::from_ram(*i)), -1, 0);
            }
            ram::Foreign::Everything => {
                if let Err(e) = n.inc_epoch() {
                    log::debug!("the kernel drops no names at once ({e}): they age out");
                }
            }
        }
    }
}
