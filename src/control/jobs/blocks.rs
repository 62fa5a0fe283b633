//! A file's data as the copy engine reads it: the blocks that meet its data ranges (holes
//! are never read), the runs of them worth writing, and the checksum `--verify` compares.

use super::*;

/// Visits, in order, the `COPY_BLOCK`-aligned blocks of a file that meet its data ranges:
/// `visit(offset, bytes)`, each block read into a buffer from `take`; the blocks between
/// them are holes and read as zeros.
fn each_block<T: Tree>(
    tree: &T,
    f: &T::File,
    size: u64,
    cancel: &AtomicBool,
    mut take: impl FnMut() -> Vec<u8>,
    mut visit: impl FnMut(u64, Vec<u8>) -> JobResult<()>,
) -> Result<(), Stopped> {
    let b = u64::from(COPY_BLOCK);
    let ranges = tree.data_ranges(f, size).map_err(Err)?;
    let mut next = 0u64;
    for (start, end) in ranges {
        let mut off = (start / b * b).max(next);
        while off < end.min(size) {
            if cancel.load(Ordering::Relaxed) {
                return Err(Ok(JobError::Cancelled));
            }
            #[cfg(debug_assertions)]
            test_pause();
            let mut data = take();
            tree.read_into(f, off, COPY_BLOCK, &mut data).map_err(Err)?;
            if data.is_empty() {
                return Ok(());
            }
            visit(off, data).map_err(Ok)?;
            off += b;
            next = off;
        }
    }
    Ok(())
}

/// Why a walk over a file's blocks stopped early: the job's reason, or the source's error.
pub(super) type Stopped = Result<JobError, io::Error>;

/// Files from this size on are read a few blocks ahead, on a thread of their own, while the
/// job writes: reading the source and writing the copy then overlap.
const AHEAD_FROM: u64 = 4 * COPY_BLOCK as u64;

/// Blocks read ahead at most.
const AHEAD: usize = 2;

/// `each_block`, with the reading done ahead of `visit` on a thread of its own for a big
/// file. The buffers go back to the reader once visited: fresh memory for every block would
/// cost a page fault for each of its pages.
pub(super) fn each_block_ahead<T: Tree>(
    tree: &T,
    f: &T::File,
    size: u64,
    cancel: &AtomicBool,
    mut visit: impl FnMut(u64, &[u8]) -> JobResult<()>,
) -> Result<(), Stopped> {
    if size < AHEAD_FROM {
        let mut spare = Vec::new();
        return each_block(
            tree,
            f,
            size,
            cancel,
            || std::mem::take(&mut spare),
            |off, data| visit(off, &data),
        );
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(u64, Vec<u8>), Stopped>>(AHEAD);
        let (back, used) = std::sync::mpsc::channel::<Vec<u8>>();
        s.spawn(move || {
            let take = || used.try_recv().unwrap_or_default();
            let read = each_block(tree, f, size, cancel, take, |off, data| {
                // The writer gone (it failed): stop reading.
                tx.send(Ok((off, data))).map_err(|_| JobError::Cancelled)
            });
            if let Err(e) = read {
                let _ = tx.send(Err(e));
            }
        });
        // Ends when the reader is done; dropping `rx` early stops the reader.
        for item in rx {
            let (off, data) = item?;
            visit(off, &data).map_err(Ok)?;
            let _ = back.send(data);
        }
        Ok(())
    })
}

/// Test builds only: `MAVFS_TEST_BLOCK_PAUSE_MS` slows every block a job reads, so that a
/// test can act on a job while it runs (cancel it, kill its daemon) however fast the machine.
#[cfg(debug_assertions)]
fn test_pause() {
    static PAUSE: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        std::env::var("MAVFS_TEST_BLOCK_PAUSE_MS")
            .ok()?
            .parse()
            .ok()
            .map(std::time::Duration::from_millis)
    });
    if let Some(p) = pause {
        std::thread::sleep(*p);
    }
}

fn is_zero(data: &[u8]) -> bool {
    data.iter().all(|&b| b == 0)
}

/// The runs of a block that hold anything but zeros, in pages: only they are written, so
/// the pages of zeros stay holes at the destination.
pub(super) fn nonzero_runs(data: &[u8]) -> Vec<(u64, u64)> {
    const PAGE: usize = 4096;
    crate::ram::join_ranges(
        data.chunks(PAGE)
            .enumerate()
            .filter(|(_, page)| !is_zero(page))
            .map(|(i, page)| ((i * PAGE) as u64, (i * PAGE + page.len()) as u64)),
    )
}

/// What `--verify` compares: the blocks that hold anything but zeros, with their offsets,
/// and the size. A hole and a block of zeros hash alike, as they read alike.
pub(super) fn hash_block(h: &mut blake3::Hasher, off: u64, data: &[u8]) {
    if !is_zero(data) {
        h.update(&off.to_le_bytes());
        h.update(data);
    }
}

/// The checksum of a whole file as `--verify` takes it.
pub(super) fn digest<T: Tree>(
    tree: &T,
    f: &T::File,
    size: u64,
    cancel: &AtomicBool,
    path: &str,
) -> JobResult<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    each_block_ahead(tree, f, size, cancel, |off, data| {
        hash_block(&mut h, off, data);
        Ok(())
    })
    .map_err(|e| e.unwrap_or_else(|e| fail(path, e)))?;
    h.update(&size.to_le_bytes());
    Ok(h.finalize())
}
