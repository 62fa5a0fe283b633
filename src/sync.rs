//! The lock types the whole crate uses, so that a model checker's shim can replace them
//! in one place.
pub use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use std::collections::HashMap;
use std::sync::Arc;

/// Shards of one map.
pub type Shard<V> = RwLock<HashMap<u64, Arc<V>>>;

/// A map from a number to shared values, split over shards by key so that threads working
/// on different keys rarely meet on one lock. A shard lock is a leaf: held briefly, never
/// while waiting for another lock.
#[derive(Debug)]
pub struct ShardedMap<V> {
    shards: Box<[Shard<V>]>,
}

impl<V> ShardedMap<V> {
    pub fn new(shards: usize) -> Self {
        ShardedMap {
            shards: (0..shards.max(1))
                .map(|_| RwLock::new(HashMap::new()))
                .collect(),
        }
    }

    /// The shard holding `key`, for read-modify-write steps that must be atomic.
    pub fn shard(&self, key: u64) -> &Shard<V> {
        &self.shards[(key % self.shards.len() as u64) as usize]
    }

    pub fn get(&self, key: u64) -> Option<Arc<V>> {
        self.shard(key).read().get(&key).cloned()
    }

    pub fn insert(&self, key: u64, value: Arc<V>) {
        self.shard(key).write().insert(key, value);
    }

    pub fn remove(&self, key: u64) -> Option<Arc<V>> {
        self.shard(key).write().remove(&key)
    }

    /// Every value, shard by shard (each shard read at its own moment).
    pub fn values(&self) -> Vec<Arc<V>> {
        let mut out = Vec::with_capacity(self.len());
        for s in self.shards.iter() {
            out.extend(s.read().values().cloned());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
