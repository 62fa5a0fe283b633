//! Ready chunk buffers: 1 MiB allocations whose pages are already mapped, so that a write
//! into a new chunk copies without stopping for page faults. Fresh memory costs this kind of
//! machine 0.3 to 0.5 s a GiB to map in, as much as the copy itself; a thread of the pool's
//! own maps buffers in ahead of need (on a CPU the writer is not using), and a whole chunk
//! that is freed comes back here first instead of going back to the system.
//!
//! The pool holds at most `KEEP` buffers (32 MiB), whatever the store holds.

use std::sync::OnceLock;

use parking_lot::Condvar;

use crate::sync::Mutex;

use super::CHUNK;

/// Buffers the pool keeps at most.
const KEEP: usize = 32;
/// Below this many, the pool's thread maps more in.
const LOW: usize = 16;

struct Pool {
    ready: Mutex<Vec<Vec<u8>>>,
    /// Told when the pool runs low.
    low: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("mavfs-chunks".into())
            .spawn(refill);
        if let Err(e) = spawned {
            // Chunks are then mapped in as they are written, as without a pool.
            log::warn!("cannot start the chunk pool's thread: {e}");
        }
        Pool {
            ready: Mutex::new(Vec::with_capacity(KEEP)),
            low: Condvar::new(),
        }
    })
}

/// An empty buffer with room for a whole chunk: mapped in already if the pool had one.
pub(super) fn take() -> Vec<u8> {
    let p = pool();
    let mut ready = p.ready.lock();
    let got = ready.pop();
    if ready.len() < LOW {
        p.low.notify_one();
    }
    drop(ready);
    got.unwrap_or_else(|| Vec::with_capacity(CHUNK as usize))
}

/// A chunk's buffer that no file needs any more: kept for the next new chunk if the pool has
/// room, else freed. Its bytes are never seen again (a buffer is handed out empty).
pub(super) fn give(mut bytes: Vec<u8>) {
    if bytes.capacity() != CHUNK as usize {
        return;
    }
    let mut ready = pool().ready.lock();
    if ready.len() < KEEP {
        bytes.clear();
        ready.push(bytes);
    }
}

/// The pool's thread: maps buffers in while the pool is below `KEEP`, then sleeps until
/// `take` finds it below `LOW`.
fn refill() {
    let p = pool();
    loop {
        {
            let mut ready = p.ready.lock();
            while ready.len() >= LOW {
                p.low.wait(&mut ready);
            }
        }
        while p.ready.lock().len() < KEEP {
            let mut bytes = Vec::with_capacity(CHUNK as usize);
            super::file::populate(&mut bytes, CHUNK as usize);
            // Freed chunks may have filled the pool while this one was mapped in.
            let mut ready = p.ready.lock();
            if ready.len() >= KEEP {
                break;
            }
            ready.push(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_only_whole_chunks_are_kept() {
        let mut a = take();
        a.extend_from_slice(b"secret");
        give(a);
        // Other tests share the pool: whichever buffers come, each is empty and whole.
        let held: Vec<Vec<u8>> = (0..KEEP + 1).map(|_| take()).collect();
        for b in &held {
            assert!(b.is_empty(), "a buffer came back holding bytes");
            assert_eq!(b.capacity(), CHUNK as usize);
        }
        held.into_iter().for_each(give);
        give(Vec::with_capacity(10));
        let ready = pool().ready.lock();
        assert!(ready.len() <= KEEP);
        assert!(ready.iter().all(|b| b.capacity() == CHUNK as usize));
    }
}
