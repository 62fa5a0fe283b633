//! FUSE passthrough for `vdisk/` files: which opens get a backing id, and when it goes.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use fuser::BackingId;
use std::time::Duration;

use super::inode::{self, Target};

/// How long the kernel may keep a `vdisk/` file it just created open through passthrough,
/// its name and its attributes (`ttl` would give them nothing): it rounds a TTL up to one
/// clock tick and keeps it through the next, so 1 to 2 ticks (1 to 20 ms), and the
/// permission check that follows the create asks no round trip of its own. A write through
/// a mapping, or on the host, within that time shows in a `stat` only after it.
pub(super) const CREATED_TTL: Duration = Duration::from_nanos(1);
use log::debug;

use crate::sync::{Mutex, ShardedMap};

const SHARDS: usize = 16;

/// How the kernel does I/O on an inode's open files: all through the daemon (`Plain`), or all
/// on one shared backing file (`Shared`). The kernel refuses (EIO) an open that would mix the
/// two, so an inode stays in its mode until its last open file is released. `Shared`
/// counts the opens that may write.
pub(super) enum InodeIo {
    Plain(u32),
    Shared(Weak<BackingId>, u32),
}

/// Whether an open with these flags may write.
fn writable(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY
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
        flags: i32,
    ) -> Option<Option<Arc<BackingId>>> {
        match map.get_mut(&ino) {
            Some(InodeIo::Plain(n)) => {
                *n += 1;
                Some(None)
            }
            Some(InodeIo::Shared(w, writers)) => w.upgrade().map(|id| {
                self.by_handle.insert(fh, id.clone());
                *writers += u32::from(writable(flags));
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
        flags: i32,
        make: Option<MakeBacking<'_>>,
    ) -> Option<Arc<BackingId>> {
        {
            let mut map = self.inode_shard(ino).lock();
            if let Some(answer) = self.join(&mut map, ino, fh, flags) {
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
        if let Some(answer) = self.join(&mut map, ino, fh, flags) {
            return answer;
        }
        match made {
            Some(id) => {
                let id = Arc::new(id);
                let writers = u32::from(writable(flags));
                map.insert(ino, InodeIo::Shared(Arc::downgrade(&id), writers));
                self.by_handle.insert(fh, id.clone());
                Some(id)
            }
            None => {
                map.insert(ino, InodeIo::Plain(1));
                None
            }
        }
    }

    pub(super) fn release(&self, ino: u64, fh: u64, flags: i32) {
        let mut map = self.inode_shard(ino).lock();
        let last = match map.get_mut(&ino) {
            Some(InodeIo::Plain(n)) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            Some(InodeIo::Shared(w, writers)) => {
                drop(self.by_handle.remove(fh));
                *writers = writers.saturating_sub(u32::from(writable(flags)));
                w.upgrade().is_none()
            }
            None => false,
        };
        if last {
            map.remove(&ino);
        }
    }

    /// Whether `ino` has an open that may write through its backing file. The kernel then
    /// changes the host file (through a shared mapping too) without telling the daemon or
    /// updating its own attributes of it: they are not to be cached meanwhile.
    pub(super) fn has_writers(&self, ino: u64) -> bool {
        matches!(self.inode_shard(ino).lock().get(&ino), Some(InodeIo::Shared(_, n)) if *n > 0)
    }

    /// How long the kernel may keep an entry of `ino` otherwise kept `ttl`: not at all for a
    /// `vdisk/` file written through passthrough (see `has_writers`).
    pub(super) fn ttl(&self, ino: u64, ttl: Duration) -> Duration {
        let disk = matches!(inode::route(ino), Some(Target::Disk(_)));
        if disk && self.has_writers(ino) {
            Duration::ZERO
        } else {
            ttl
        }
    }
}
