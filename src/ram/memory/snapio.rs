//! Snapshot files' bytes: written and read in 1 MiB blocks, every byte handed in order to a
//! hashing thread (BLAKE3 runs beside the copying, on the other core).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::chunk::{Chunk, Held};
use super::image::LoadError;

pub(super) const IO_BUF: usize = 1 << 20;
/// Chunks from this size on are written without a copy into the buffer.
const DIRECT: usize = 256 << 10;
/// How far ahead of the loader the disk is asked to read.
const AHEAD: u64 = 64 << 20;

/// Runs `work` with a hashing thread fed through the sender it is given (and the receiver of
/// the buffers the thread is done with); the hash of all it was fed.
pub(super) fn hashing<T>(
    work: impl FnOnce(SyncSender<Piece>, Receiver<Vec<u8>>) -> T,
) -> (T, Option<blake3::Hash>) {
    let (tx, rx) = sync_channel::<Piece>(8);
    let (give_back, spare) = sync_channel::<Vec<u8>>(8);
    std::thread::scope(|scope| {
        let thread = scope.spawn(move || {
            let mut hash = blake3::Hasher::new();
            for piece in rx {
                match piece {
                    Piece::Owned(mut b) => {
                        hash.update(&b);
                        b.clear();
                        let _ = give_back.try_send(b);
                    }
                    Piece::Chunk(c, from) => {
                        hash.update(&c.bytes()[from..]);
                    }
                    Piece::Prefix(b, n) => {
                        hash.update(&b[..n]);
                    }
                }
            }
            hash.finalize()
        });
        let out = work(tx, spare);
        (out, thread.join().ok())
    })
}

/// The next buffer: one the hashing thread gave back, or a new one.
fn next_buf(spare: &Receiver<Vec<u8>>) -> Vec<u8> {
    spare
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(IO_BUF))
}

/// What the hashing thread is given, in the file's order.
pub(super) enum Piece {
    Owned(Vec<u8>),
    /// A chunk's bytes from this offset on.
    Chunk(Held, usize),
    /// A block's first bytes.
    Prefix(Vec<u8>, usize),
}

/// Bytes written between two requests to start writing back (`sync_file_range`), so that the
/// disk works while the image is still being written and the last sync has little left.
const KICK: u64 = 32 << 20;

/// Writes, and hands every byte to the hashing thread: hashing runs beside the copying.
pub(super) struct Out<'f> {
    file: &'f File,
    buf: Vec<u8>,
    tx: SyncSender<Piece>,
    /// Buffers the hashing thread is done with, for reuse (fresh memory is slow to fault in).
    spare: Receiver<Vec<u8>>,
    bytes: u64,
    kicked: u64,
}

impl<'f> Out<'f> {
    pub(super) fn new(file: &'f File, tx: SyncSender<Piece>, spare: Receiver<Vec<u8>>) -> Self {
        Out {
            file,
            buf: Vec::with_capacity(IO_BUF),
            tx,
            spare,
            bytes: 0,
            kicked: 0,
        }
    }

    /// Bytes written so far.
    pub(super) fn written(&self) -> u64 {
        self.bytes
    }

    pub(super) fn put(&mut self, b: &[u8]) -> io::Result<()> {
        if self.buf.len() + b.len() > IO_BUF {
            self.flush()?;
        }
        self.buf.extend_from_slice(b);
        Ok(())
    }

    fn send(&mut self, p: Piece) -> io::Result<()> {
        self.tx
            .send(p)
            .map_err(|_| io::Error::other("the hashing thread stopped"))
    }

    /// Writes out what is buffered.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        (&*self.file).write_all(&self.buf)?;
        self.wrote(self.buf.len());
        let next = next_buf(&self.spare);
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Piece::Owned(full))
    }

    /// A chunk's bytes: a big one written straight from the store, a small one buffered
    /// with what surrounds it.
    pub(super) fn chunk(&mut self, c: &Held) -> io::Result<()> {
        let b = c.bytes();
        self.u32(b.len() as u32)?;
        if b.len() < DIRECT {
            return self.put(b);
        }
        self.flush()?;
        (&*self.file).write_all(b)?;
        self.wrote(b.len());
        self.send(Piece::Chunk(c.clone(), 0))
    }

    fn wrote(&mut self, n: usize) {
        self.bytes += n as u64;
        if self.bytes - self.kicked >= KICK {
            // SAFETY: a hint on an fd we hold; failure only means the last sync does it all.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.kicked as i64,
                    (self.bytes - self.kicked) as i64,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
            self.kicked = self.bytes;
        }
    }

    pub(super) fn u8(&mut self, v: u8) -> io::Result<()> {
        self.put(&[v])
    }
    pub(super) fn u16(&mut self, v: u16) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    pub(super) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    pub(super) fn u64(&mut self, v: u64) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    pub(super) fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.u32(b.len() as u32)?;
        self.put(b)
    }
    pub(super) fn time(&mut self, t: SystemTime) -> io::Result<()> {
        let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                // Before 1970: whole seconds down, nanoseconds up, as stat shows it.
                let d = e.duration();
                let up = u32::from(d.subsec_nanos() > 0);
                (
                    -(d.as_secs() as i64) - i64::from(up),
                    (1_000_000_000 - d.subsec_nanos()) % 1_000_000_000,
                )
            }
        };
        self.u64(secs as u64)?;
        self.u32(nanos)
    }
}

/// Reads in blocks, and hands every block to the hashing thread once it is read through.
pub(super) struct In {
    file: File,
    block: Vec<u8>,
    pos: usize,
    /// Bytes of the file read so far, and asked of the disk ahead of them.
    read: u64,
    asked: u64,
    tx: Option<SyncSender<Piece>>,
    spare: Receiver<Vec<u8>>,
}

fn torn_or(e: io::Error) -> LoadError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => LoadError::Torn,
        _ => LoadError::Io(e),
    }
}

impl In {
    pub(super) fn new(file: File, tx: SyncSender<Piece>, spare: Receiver<Vec<u8>>) -> Self {
        In {
            file,
            block: Vec::new(),
            pos: 0,
            read: 0,
            asked: 0,
            tx: Some(tx),
            spare,
        }
    }

    /// Has the disk read ahead of us (`POSIX_FADV_WILLNEED`), so that its reads overlap the
    /// building of the store rather than wait for each block asked.
    fn ahead(&mut self, n: usize) {
        self.read += n as u64;
        if self.read + AHEAD / 2 >= self.asked {
            // SAFETY: a hint on an fd we own.
            unsafe {
                libc::posix_fadvise(
                    self.file.as_raw_fd(),
                    self.asked as i64,
                    AHEAD as i64,
                    libc::POSIX_FADV_WILLNEED,
                )
            };
            self.asked += AHEAD;
        }
    }

    fn send(&mut self, p: Piece) -> Result<(), LoadError> {
        match &self.tx {
            Some(tx) => tx
                .send(p)
                .map_err(|_| LoadError::Io(io::Error::other("the hashing thread stopped"))),
            None => Ok(()),
        }
    }

    /// Hands the block read through to the hashing thread and reads the next; false at the
    /// end of the file.
    fn refill(&mut self) -> Result<bool, LoadError> {
        let mut next = next_buf(&self.spare);
        let done = std::mem::take(&mut self.block);
        if !done.is_empty() {
            self.send(Piece::Owned(done))?;
        }
        next.clear();
        let got = (&self.file)
            .take(IO_BUF as u64)
            .read_to_end(&mut next)
            .map_err(LoadError::Io)?;
        self.ahead(got);
        self.block = next;
        self.pos = 0;
        Ok(got > 0)
    }

    pub(super) fn take(&mut self, buf: &mut [u8]) -> Result<(), LoadError> {
        let mut done = 0;
        while done < buf.len() {
            if self.pos == self.block.len() && !self.refill()? {
                return Err(LoadError::Torn);
            }
            let n = (buf.len() - done).min(self.block.len() - self.pos);
            buf[done..done + n].copy_from_slice(&self.block[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(())
    }

    /// `n` bytes as a chunk: what the block holds of them, the rest read straight into the
    /// chunk's memory.
    pub(super) fn chunk(&mut self, n: usize) -> Result<Chunk, LoadError> {
        let mut v = Vec::with_capacity(n);
        if n >= 64 << 10 {
            super::file::populate(&mut v, n);
        }
        let have = n.min(self.block.len() - self.pos);
        v.extend_from_slice(&self.block[self.pos..self.pos + have]);
        self.pos += have;
        if have == n {
            return Ok(Chunk::new(v));
        }
        // The block is read through: hashed before the bytes that follow it.
        let done = std::mem::take(&mut self.block);
        self.pos = 0;
        self.send(Piece::Owned(done))?;
        let want = (n - have) as u64;
        let got = (&self.file)
            .take(want)
            .read_to_end(&mut v)
            .map_err(torn_or)?;
        if (got as u64) < want {
            return Err(LoadError::Torn);
        }
        self.ahead(got);
        let c = Chunk::new(v);
        self.send(Piece::Chunk(c.hold(), have))?;
        Ok(c)
    }

    /// Ends the hashed part: what was read of the block goes to the hashing thread, which
    /// then ends. The rest of the file is read without hashing.
    pub(super) fn end_hashed(&mut self) -> Result<(), LoadError> {
        let block = std::mem::take(&mut self.block);
        self.block = block[self.pos..].to_vec();
        self.send(Piece::Prefix(block, self.pos))?;
        self.pos = 0;
        self.tx = None;
        Ok(())
    }

    /// Whether the file ends here.
    pub(super) fn at_end(&mut self) -> Result<bool, LoadError> {
        Ok(self.pos == self.block.len() && !self.refill()?)
    }

    pub(super) fn arr<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        let mut b = [0; N];
        self.take(&mut b)?;
        Ok(b)
    }
    pub(super) fn u8(&mut self) -> Result<u8, LoadError> {
        Ok(self.arr::<1>()?[0])
    }
    pub(super) fn u16(&mut self) -> Result<u16, LoadError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    pub(super) fn u32(&mut self) -> Result<u32, LoadError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    pub(super) fn u64(&mut self) -> Result<u64, LoadError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// A length-prefixed value of at most `max` bytes.
    pub(super) fn bytes(&mut self, max: usize, what: &str) -> Result<Vec<u8>, LoadError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(LoadError::Corrupt(format!("{what} of {n} bytes")));
        }
        let mut v = vec![0; n];
        self.take(&mut v)?;
        Ok(v)
    }
    /// A length-prefixed chunk of at most `max` bytes.
    pub(super) fn chunk_bytes(&mut self, max: usize) -> Result<Chunk, LoadError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(LoadError::Corrupt(format!("a chunk of {n} bytes")));
        }
        self.chunk(n)
    }
    pub(super) fn time(&mut self) -> Result<SystemTime, LoadError> {
        let secs = self.u64()? as i64;
        let nanos = self.u32()?;
        if nanos >= 1_000_000_000 {
            return Err(LoadError::Corrupt(
                "a time's nanoseconds out of range".into(),
            ));
        }
        let t = if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        };
        t.ok_or_else(|| LoadError::Corrupt("a time out of range".into()))
    }
}
