//! Open file handles of the disk tier (a RAM file's is its store's number,
//! `RamStore::handle`), and the listings of RAM directories open on a store that lists a
//! directory whole.
//!
//! Sharded by handle number so opens and closes on different files never wait on each other.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::disk::DirStream;
use crate::sync::{Mutex, ShardedMap};

#[derive(Debug)]
pub enum Handle {
    /// An open host file; reads and writes are `pread`/`pwrite` on it.
    File(File),
    /// An open host directory being listed.
    Dir(Mutex<DirStream>),
    /// An open RAM directory: the listing its pages come from, read at its first page and
    /// again at each rewind (offset 0), with the store's `changes_heard` then.
    RamDir(Mutex<Option<(crate::ram::DirPage, u64)>>),
}

const SHARDS: usize = 16;

#[derive(Debug)]
pub struct Handles {
    map: ShardedMap<Handle>,
    next: AtomicU64,
}

impl Default for Handles {
    fn default() -> Self {
        Handles {
            map: ShardedMap::new(SHARDS),
            // 0 stays free: an open without a handle of its own.
            next: AtomicU64::new(1),
        }
    }
}

impl Handles {
    pub fn insert(&self, h: Handle) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.map.insert(fh, Arc::new(h));
        fh
    }

    pub fn get(&self, fh: u64) -> Option<Arc<Handle>> {
        self.map.get(fh)
    }

    pub fn remove(&self, fh: u64) -> Option<Arc<Handle>> {
        self.map.remove(fh)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
