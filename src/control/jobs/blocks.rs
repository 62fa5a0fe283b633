//! A file's data as the copy engine reads it: the blocks that meet its data ranges (holes
//! are never read), the runs of them worth writing, and the checksum `--verify` compares.

use super::*;

/// Visits, in order, the `COPY_BLOCK`-aligned blocks of a file that meet its data ranges:
/// `visit(offset, bytes)`; the blocks between them are holes and read as zeros.
pub(super) fn each_block<T: Tree>(
    tree: &T,
    f: &T::File,
    size: u64,
    cancel: &AtomicBool,
    mut visit: impl FnMut(u64, &[u8]) -> JobResult<()>,
) -> Result<(), Result<JobError, io::Error>> {
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
            let data = tree.read_at(f, off, COPY_BLOCK).map_err(Err)?;
            if data.is_empty() {
                return Ok(());
            }
            visit(off, &data).map_err(Ok)?;
            off += b;
            next = off;
        }
    }
    Ok(())
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
    each_block(tree, f, size, cancel, |off, data| {
        hash_block(&mut h, off, data);
        Ok(())
    })
    .map_err(|e| e.unwrap_or_else(|e| fail(path, e)))?;
    h.update(&size.to_le_bytes());
    Ok(h.finalize())
}
