//! FUSE passthrough for `vdisk/` files: which opens get a backing id, and when it goes.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use fuser::BackingId;
use log::debug;

use crate::sync::{Mutex, ShardedMap};

const SHARDS: usize = 16;

/// How the kernel does I/O on an inode's open files: all through the daemon (`Plain`), or all
/// on one shared backing file (`Shared`). The kernel refuses (EIO) an open that would mix the
/// two, so an inode stays in its mode until its last open file is released.
pub(super) enum InodeIo {
    Plain(u32),
    Shared(Weak<BackingId>),
}

/// A way to make a backing id for an inode, called only when it has none.
pub(super) type MakeBacking<'a> = &'a dyn Fn() -> std::io::Result<BackingId>;

/// FUSE passthrough for `vdisk/` files: the kernel does their reads and writes on the host
/// file itself. A backing id is shared by all opens of an inode (weak by inode, strong by
/// handle) and closed with the last of them. A create gets one too: a new file is mostly
/// written at once.
pub(super) struct Passthrough {
    by_inode: Box<[Mutex<HashMap<u64, InodeIo>>]>,
    by_handle: ShardedMap<BackingId>,
}

impl Passthrough {
    pub(super) fn new() -> Self {
        Passthrough {
            by_inode: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            by_handle: ShardedMap::new(SHARDS),
        }
    }

    pub(super) fn inode_shard(&self, ino: u64) -> &Mutex<HashMap<u64, InodeIo>> {
        &self.by_inode[(ino % SHARDS as u64) as usize]
    }

    /// Joins the mode `ino` is in, if it has one: `Some(answer)`, else `None`.
    pub(super) fn join(
        &self,
        map: &mut HashMap<u64, InodeIo>,
        ino: u64,
        fh: u64,
    ) -> Option<Option<Arc<BackingId>>> {
        match map.get_mut(&ino) {
            Some(InodeIo::Plain(n)) => {
                *n += 1;
                Some(None)
            }
            Some(InodeIo::Shared(w)) => w.upgrade().map(|id| {
                self.by_handle.insert(fh, id.clone());
                Some(id)
            }),
            None => None,
        }
    }

    /// The backing id for a new open of `ino`, or `None` if this open goes through the
    /// daemon. `make == None` asks for a plain open. The backing file is made without the
    /// lock held (it takes syscalls); a racing open that decided first wins.
    pub(super) fn open(
        &self,
        ino: u64,
        fh: u64,
        make: Option<MakeBacking<'_>>,
    ) -> Option<Arc<BackingId>> {
        {
            let mut map = self.inode_shard(ino).lock();
            if let Some(answer) = self.join(&mut map, ino, fh) {
                return answer;
            }
            if make.is_none() {
                map.insert(ino, InodeIo::Plain(1));
                return None;
            }
        }
        let made = make.map(|m| m()).and_then(|r| {
            r.map_err(|e| debug!("passthrough refused for inode {ino:#x}: {e}"))
                .ok()
        });
        let mut map = self.inode_shard(ino).lock();
        if let Some(answer) = self.join(&mut map, ino, fh) {
            return answer;
        }
        match made {
            Some(id) => {
                let id = Arc::new(id);
                map.insert(ino, InodeIo::Shared(Arc::downgrade(&id)));
                self.by_handle.insert(fh, id.clone());
                Some(id)
            }
            None => {
                map.insert(ino, InodeIo::Plain(1));
                None
            }
        }
    }

    pub(super) fn release(&self, ino: u64, fh: u64) {
        let mut map = self.inode_shard(ino).lock();
        let last = match map.get_mut(&ino) {
            Some(InodeIo::Plain(n)) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            Some(InodeIo::Shared(w)) => {
                drop(self.by_handle.remove(fh));
                w.upgrade().is_none()
            }
            None => false,
        };
        if last {
            map.remove(&ino);
        }
    }
}
