//! One chunk of a file's bytes. Files a clone made share their chunks, and a snapshot being
//! written holds the chunks it has yet to write: a chunk is copied on its first write while
//! anyone else holds it, so that neither ever sees the other's change.
//!
//! The space account counts a chunk once, however many files share it: `owners` counts the
//! files (a snapshot's hold is not one), and the owner that lets go last gives its bytes back.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

#[derive(Debug)]
struct Buf {
    bytes: Vec<u8>,
    owners: AtomicU32,
}

impl Drop for Buf {
    fn drop(&mut self) {
        super::pool::give(std::mem::take(&mut self.bytes));
    }
}

impl Clone for Buf {
    fn clone(&self) -> Self {
        Buf {
            bytes: self.bytes.clone(),
            owners: AtomicU32::new(1),
        }
    }
}

/// A file's reference to a chunk (an owner).
#[derive(Debug)]
pub(super) struct Chunk(Arc<Buf>);

/// A snapshot's reference to a chunk: the bytes as they were when it was taken, and whether
/// files shared them then (a snapshot keeps them shared).
#[derive(Debug, Clone)]
pub(super) struct Held(Arc<Buf>, bool);

impl Held {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    /// The same bytes, if files shared them when the snapshot was taken.
    pub(super) fn shared_id(&self) -> Option<usize> {
        self.1.then_some(Arc::as_ptr(&self.0) as usize)
    }
}

impl Chunk {
    pub(super) fn new(bytes: Vec<u8>) -> Chunk {
        Chunk(Arc::new(Buf {
            bytes,
            owners: AtomicU32::new(1),
        }))
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    pub(super) fn len(&self) -> usize {
        self.0.bytes.len()
    }

    /// Another file's share of these bytes (a clone).
    pub(super) fn share(&self) -> Chunk {
        self.0.owners.fetch_add(1, Ordering::AcqRel);
        Chunk(self.0.clone())
    }

    /// A snapshot's hold on these bytes as they are now.
    pub(super) fn hold(&self) -> Held {
        Held(self.0.clone(), self.is_shared())
    }

    /// Whether other files share these bytes: a write then copies them, at their full cost.
    pub(super) fn is_shared(&self) -> bool {
        self.0.owners.load(Ordering::Acquire) > 1
    }

    /// The bytes, to change: copied first (with room for `cap` bytes) if anyone else holds
    /// them. With a copy comes what the old bytes give back to the space account.
    pub(super) fn make_mut(&mut self, cap: usize) -> (&mut Vec<u8>, Option<u64>) {
        let mut copied = None;
        if Arc::get_mut(&mut self.0).is_none() {
            // A ready buffer only for a copy that fills it (see `FileData::each_chunk`).
            let want = cap.max(self.len());
            let mut bytes = if self.len() == super::CHUNK as usize {
                super::pool::take()
            } else {
                Vec::with_capacity(want)
            };
            bytes.extend_from_slice(&self.0.bytes);
            let old = std::mem::replace(self, Chunk::new(bytes));
            copied = Some(old.release());
        }
        // Unique by now, so this never copies.
        (&mut Arc::make_mut(&mut self.0).bytes, copied)
    }

    /// This file lets go of the chunk: its bytes, if it was the last file holding them (they
    /// go back to the space account), else 0.
    pub(super) fn release(self) -> u64 {
        let len = self.len() as u64;
        if self.0.owners.fetch_sub(1, Ordering::AcqRel) == 1 {
            len
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_bytes_are_copied_on_write_and_counted_once() {
        let mut a = Chunk::new(vec![1; 10]);
        let mut b = a.share();
        assert!(a.is_shared() && b.is_shared());
        let (bytes, freed) = b.make_mut(16);
        bytes[0] = 9;
        // The old bytes stay with `a`, so the copy gives nothing back.
        assert_eq!(freed, Some(0));
        assert_eq!(a.bytes()[0], 1);
        assert!(!a.is_shared());
        let (_, freed) = a.make_mut(0);
        assert_eq!(freed, None, "a sole owner writes in place");
        let held = a.hold();
        let (bytes, freed) = a.make_mut(0);
        bytes[1] = 7;
        // The snapshot is no owner: the file's copy gives the old bytes' charge back.
        assert_eq!(freed, Some(10));
        assert_eq!(held.bytes()[1], 1);
        assert_eq!(b.release(), 10);
        let c = a.share();
        assert_eq!(a.release(), 0);
        assert_eq!(c.release(), 10);
    }
}
