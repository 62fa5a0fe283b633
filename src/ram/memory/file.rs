//! A file's data in the memory store: sparse 1 MiB chunks.

use super::*;

/// Growth of a chunk from which its fresh memory is mapped in one call rather than page by
/// page as the copy touches it.
const POPULATE_MIN: usize = 64 << 10;

/// Maps in the pages of `chunk`'s spare capacity up to `want` bytes (`MADV_POPULATE_WRITE`):
/// one system call instead of a page fault per 4 KiB. Only a hint: if the kernel refuses it,
/// the pages fault in as they are written.
pub(super) fn populate(chunk: &mut Vec<u8>, want: usize) {
    let page = 4096usize;
    let len = chunk.len();
    let spare = chunk.spare_capacity_mut();
    let start = spare.as_mut_ptr() as usize;
    let end = start + (want - len).min(spare.len());
    let (a, b) = (start.div_ceil(page) * page, end / page * page);
    if a < b {
        // SAFETY: [a, b) lies within the Vec's allocation; populating pages changes no bytes
        // the program can see (the range is spare capacity, not yet initialised data).
        unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_POPULATE_WRITE) };
    }
}

#[derive(Debug, Default)]
pub(super) struct FileData {
    pub(super) size: u64,
    /// Chunk `i` covers bytes `[i*CHUNK, (i+1)*CHUNK)`; bytes past a chunk's length, and
    /// missing chunks, read as zeros. A map, not a vector: a sparse file costs the chunks
    /// that hold data, whatever its size (a byte at 2^62 is one chunk).
    pub(super) chunks: BTreeMap<u64, Chunk>,
    /// Sum of the chunks' lengths: what `stat` shows as allocated (chunks shared with a
    /// clone count for each file here, once in the space account).
    pub(super) allocated: u64,
}

/// What a change did to the space account: bytes newly held, bytes given back.
#[derive(Default)]
struct Moved {
    charged: u64,
    freed: u64,
}

impl FileData {
    pub(super) fn read(&self, offset: u64, size: u32) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(offset, size, &mut out);
        out
    }

    /// `read` into `out`, whose memory is reused: each byte is written once (data copied,
    /// holes zeroed), never cleared first.
    pub(super) fn read_into(&self, offset: u64, size: u32, out: &mut Vec<u8>) {
        out.clear();
        if offset >= self.size {
            return;
        }
        let end = self.size.min(offset + u64::from(size));
        out.reserve((end - offset) as usize);
        let mut pos = offset;
        while pos < end {
            let idx = pos / CHUNK;
            let in_chunk = pos % CHUNK;
            let n = (CHUNK - in_chunk).min(end - pos) as usize;
            let held = self.chunks.get(&idx).map_or(&[][..], |c| {
                let c = c.bytes();
                let from = (in_chunk as usize).min(c.len());
                &c[from..(from + n).min(c.len())]
            });
            out.extend_from_slice(held);
            out.resize(out.len() + n - held.len(), 0);
            pos += n as u64;
        }
    }

    /// What `read` would return, as a slice of one chunk, if the bytes lie in one chunk
    /// and it holds them all (no hole to fill in).
    pub(super) fn held(&self, offset: u64, size: u32) -> Option<&[u8]> {
        let end = self.size.min(offset.saturating_add(u64::from(size)));
        if offset >= end {
            return Some(&[]);
        }
        let idx = offset / CHUNK;
        if (end - 1) / CHUNK != idx {
            return None;
        }
        let bytes = self.chunks.get(&idx)?.bytes();
        bytes.get((offset - idx * CHUNK) as usize..(end - idx * CHUNK) as usize)
    }

    /// The ranges the chunks hold, adjacent ones joined, within the size.
    pub(super) fn data_ranges(&self) -> Vec<(u64, u64)> {
        crate::ram::join_ranges(
            self.chunks
                .iter()
                .map(|(&idx, c)| (idx * CHUNK, (idx * CHUNK + c.len() as u64).min(self.size))),
        )
    }

    /// Bytes that writing `[offset, end)` would add to the space account. A chunk holds its
    /// bytes from its start up to its length, so each chunk the range meets would reach the
    /// range's end within it; what the existing chunks hold of that is subtracted, except
    /// for chunks other files share, which are copied whole. Counted over the chunks that
    /// exist, so a range of any length costs no more than the chunks it meets.
    fn growth(&self, offset: u64, end: u64) -> u64 {
        if offset >= end {
            return 0;
        }
        let (first, last) = (offset / CHUNK, (end - 1) / CHUNK);
        let reach = |idx: u64| (end - idx * CHUNK).min(CHUNK);
        let wanted = (last - first) * CHUNK + reach(last);
        let (mut held, mut beyond) = (0, 0);
        for (&idx, c) in self.chunks.range(first..=last) {
            let len = c.len() as u64;
            if c.is_shared() {
                beyond += len.saturating_sub(reach(idx));
            } else {
                held += len.min(reach(idx));
            }
        }
        wanted - held + beyond
    }

    /// Makes the chunks cover `[offset, end)` with zeros where they held nothing.
    pub(super) fn extend(&mut self, offset: u64, end: u64, space: &Space) -> StoreResult<()> {
        self.grow(offset, end, space, |chunk, at, n, _| {
            if chunk.len() < at + n {
                chunk.resize(at + n, 0);
            }
        })
    }

    /// Writes `data` at `offset`. Bytes the chunks did not hold yet are appended, not zeroed
    /// first and then overwritten: fresh memory is touched once.
    pub(super) fn write(&mut self, offset: u64, data: &[u8], space: &Space) -> StoreResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = offset + data.len() as u64;
        self.grow(offset, end, space, |chunk, at, n, done| {
            let src = &data[done..done + n];
            if chunk.len() < at {
                // A hole between the chunk's data and this write reads as zeros.
                chunk.resize(at, 0);
            }
            let overlap = (chunk.len() - at).min(n);
            chunk[at..at + overlap].copy_from_slice(&src[..overlap]);
            chunk.extend_from_slice(&src[overlap..]);
        })?;
        self.size = self.size.max(end);
        Ok(())
    }

    /// Reserves what changing `[offset, end)` may cost, changes it with `f`, and settles the
    /// account with what it did cost.
    fn grow(
        &mut self,
        offset: u64,
        end: u64,
        space: &Space,
        f: impl FnMut(&mut Vec<u8>, usize, usize, usize),
    ) -> StoreResult<()> {
        let reserved = self.growth(offset, end);
        space.reserve(reserved)?;
        let moved = self.each_chunk(offset, end, f);
        // A share let go meanwhile makes a copy unneeded, never the other way round.
        space.release(reserved.saturating_sub(moved.charged) + moved.freed);
        space.force(moved.charged.saturating_sub(reserved));
        Ok(())
    }

    /// Calls `f(chunk, at, n, done)` for each chunk `[offset, end)` touches, with the chunk
    /// made (copied if shared) and its capacity reserved for bytes `[at, at + n)` within it
    /// (`done` bytes of the range come before them).
    fn each_chunk(
        &mut self,
        offset: u64,
        end: u64,
        mut f: impl FnMut(&mut Vec<u8>, usize, usize, usize),
    ) -> Moved {
        let mut moved = Moved::default();
        let mut pos = offset;
        while pos < end {
            let idx = pos / CHUNK;
            let at = (pos % CHUNK) as usize;
            let chunk_end = ((idx + 1) * CHUNK).min(end);
            let n = (chunk_end - pos) as usize;
            let want = at + n;
            let chunk = self.chunks.entry(idx).or_insert_with(|| {
                // Only the first chunk grows by doubling: a file with a second chunk is big.
                // A ready buffer only for a write that fills the chunk: its pages are all
                // mapped in, and a chunk left short would hold them for nothing.
                Chunk::new(if idx == 0 {
                    Vec::new()
                } else if want == CHUNK as usize {
                    pool::take()
                } else {
                    Vec::with_capacity(CHUNK as usize)
                })
            });
            let before = chunk.len();
            let (chunk, copied) = chunk.make_mut(want);
            if chunk.capacity() < want {
                let target = want.max(chunk.capacity() * 2).min(CHUNK as usize);
                chunk.reserve_exact(target - chunk.len());
            }
            if want.saturating_sub(before) >= POPULATE_MIN {
                populate(chunk, want);
            }
            f(chunk, at, n, (pos - offset) as usize);
            let after = chunk.len();
            match copied {
                Some(freed) => {
                    moved.charged += after as u64;
                    moved.freed += freed;
                }
                None => moved.charged += (after - before) as u64,
            }
            self.allocated += (after - before) as u64;
            pos = chunk_end;
        }
        moved
    }

    /// Zeroes `[offset, end)`, freeing whole chunks and chunk tails. Visits only the chunks
    /// that hold data, so a range of any length costs what it frees. A chunk shared with
    /// another file is copied before it is changed in part, whatever the limit: making a
    /// hole never fails for want of space.
    pub(super) fn zero(&mut self, offset: u64, end: u64, space: &Space) {
        if offset >= end {
            return;
        }
        let mut moved = Moved::default();
        let mut emptied = Vec::new();
        for (&idx, chunk) in self.chunks.range_mut(offset / CHUNK..=(end - 1) / CHUNK) {
            let chunk_start = idx * CHUNK;
            let len = chunk.len();
            let from = offset.saturating_sub(chunk_start) as usize;
            let to = ((end - chunk_start).min(CHUNK) as usize).min(len);
            if from == 0 && to >= len {
                emptied.push(idx);
                continue;
            }
            if from >= to {
                continue;
            }
            let (bytes, copied) = chunk.make_mut(0);
            if to >= len {
                bytes.truncate(from);
                self.allocated -= (len - from) as u64;
            } else {
                bytes[from..to].fill(0);
            }
            match copied {
                Some(freed) => {
                    moved.charged += bytes.len() as u64;
                    moved.freed += freed;
                }
                None => moved.freed += (len - bytes.len()) as u64,
            }
        }
        for idx in emptied {
            if let Some(c) = self.chunks.remove(&idx) {
                self.allocated -= c.len() as u64;
                moved.freed += c.release();
            }
        }
        space.release(moved.freed);
        space.force(moved.charged);
    }

    /// Sets the size; shrinking frees the bytes past it.
    pub(super) fn truncate(&mut self, size: u64, space: &Space) {
        if size < self.size {
            // Chunks may hold data past the size (fallocate with KEEP_SIZE).
            self.zero(size, u64::MAX, space);
        }
        self.size = size;
    }

    /// Lets go of every chunk (the file is gone), giving back what no other file shares.
    pub(super) fn release_all(&mut self, space: &Space) {
        let freed: u64 = std::mem::take(&mut self.chunks)
            .into_values()
            .map(Chunk::release)
            .sum();
        space.release(freed);
        *self = FileData::default();
    }

    /// Another file with these bytes, sharing every chunk.
    pub(super) fn share(&self) -> FileData {
        FileData {
            size: self.size,
            chunks: self.chunks.iter().map(|(&i, c)| (i, c.share())).collect(),
            allocated: self.allocated,
        }
    }
}
