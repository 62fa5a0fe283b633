//! A point-in-time image of the memory store and its file format.
//!
//! Taking an image stops changes only while it copies the metadata (the chunks are held,
//! not copied: a writer copies a chunk it changes meanwhile). Writing it out then runs beside
//! the writers.
//!
//! Format 1, little-endian, every byte before the trailer hashed with BLAKE3:
//!
//! ```text
//! "MAVFSNAP" version:u32 generation:u64 next_ino:u64 inodes:u64 taken:(i64,u32) closed:u8
//! inode*:  ino:u64 kind:u8 perm:u16 nlink:u32 uid:u32 gid:u32 rdev:u32 times:4*(i64,u32)
//!          xattrs:u32 (name:bytes value:bytes)*  body
//!   file:    size:u64 chunks:u64 (index:u64 chunk)*      holes are chunks not written
//!     chunk: 0 bytes (its own) | 1 bytes (shared: numbered in order) | 2 number:u64 (the same
//!            bytes as that shared chunk: a clone stays one copy)
//!   dir:     parent:u64 next_cookie:u64 entries:u64 (cookie:u64 ino:u64 kind:u8 name:bytes)*
//!   symlink: target:bytes
//! "MAVFSEND" blake3:32 bytes, then the end of the file
//! ```
//! (`bytes` is a u32 length, then the bytes.)

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use super::chunk::Held;
use super::snapio::{hashing, In, Out};
use super::*;

const MAGIC: &[u8; 8] = b"MAVFSNAP";
const END: &[u8; 8] = b"MAVFSEND";
/// The format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The longest symlink target or xattr value a snapshot may hold (above what the store
/// accepts), so that a damaged length cannot ask for gigabytes.
const VALUE_MAX: usize = 1 << 20;

/// What an image keeps of one inode.
struct Kept {
    ino: Ino,
    kind: Kind,
    perm: u16,
    nlink: u32,
    uid: u32,
    gid: u32,
    rdev: u32,
    times: [SystemTime; 4],
    xattrs: Vec<(OsString, Vec<u8>)>,
    body: KeptBody,
}

enum KeptBody {
    File { size: u64, chunks: Vec<(u64, Held)> },
    Dir(Box<KeptDir>),
    Symlink(Vec<u8>),
    Special,
}

struct KeptDir {
    parent: Ino,
    next_cookie: u64,
    entries: Vec<(u64, OsString, Ino, Kind)>,
}

/// The store at one moment.
pub(super) struct Image {
    generation: u64,
    next_ino: u64,
    inodes: Vec<Kept>,
    /// The store's change count at that moment.
    pub(super) changes: u64,
    /// Taken as the store closed (at unmount): nothing changed after it.
    closing: bool,
}

/// Why a snapshot file was not loaded.
#[derive(Debug)]
pub enum LoadError {
    Io(io::Error),
    /// It ends before its trailer: a save that did not finish.
    Torn,
    /// Its bytes are not what was written (checksum), or make no sense.
    Corrupt(String),
    /// Written by a build with another format.
    Format(u32),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "{e}"),
            LoadError::Torn => f.write_str("it ends before its end (a save that did not finish)"),
            LoadError::Corrupt(why) => write!(f, "damaged: {why}"),
            LoadError::Format(v) => write!(
                f,
                "it is in snapshot format {v}; this build reads format {FORMAT} only"
            ),
        }
    }
}

fn kind_code(k: Kind) -> u8 {
    match k {
        Kind::File => 0,
        Kind::Dir => 1,
        Kind::Symlink => 2,
        Kind::Fifo => 3,
        Kind::Socket => 4,
        Kind::CharDev => 5,
        Kind::BlockDev => 6,
    }
}

fn kind_of(c: u8) -> Result<Kind, LoadError> {
    Ok(match c {
        0 => Kind::File,
        1 => Kind::Dir,
        2 => Kind::Symlink,
        3 => Kind::Fifo,
        4 => Kind::Socket,
        5 => Kind::CharDev,
        6 => Kind::BlockDev,
        _ => return Err(LoadError::Corrupt(format!("unknown file type {c}"))),
    })
}

impl MemoryStore {
    /// The store as it is now: changes wait while the metadata is copied. With `close`,
    /// the store then refuses every change: the image is its last state.
    pub(super) fn image(&self, close: bool) -> Image {
        let _alone = self.gate.write();
        if close {
            self.closed.store(true, Ordering::Release);
        }
        let mut nodes = self.table.values();
        nodes.sort_unstable_by_key(|n| n.ino);
        let mut inodes = Vec::with_capacity(nodes.len());
        for node in nodes {
            let st = node.state.read();
            // Unlinked inodes kept for an open end with it; they are not part of the tree.
            if st.nlink == 0 {
                continue;
            }
            let body = match &st.body {
                Body::File(f) => KeptBody::File {
                    size: f.size,
                    chunks: f.chunks.iter().map(|(&i, c)| (i, c.hold())).collect(),
                },
                Body::Dir(d) => KeptBody::Dir(Box::new(KeptDir {
                    parent: d.parent,
                    next_cookie: d.next_cookie,
                    entries: d
                        .by_cookie
                        .iter()
                        .map(|(&c, (n, i, k))| (c, n.clone(), *i, *k))
                        .collect(),
                })),
                Body::Symlink(t) => KeptBody::Symlink(t.clone()),
                Body::Special => KeptBody::Special,
            };
            inodes.push(Kept {
                ino: node.ino,
                kind: st.kind,
                perm: st.perm,
                nlink: st.nlink,
                uid: st.uid,
                gid: st.gid,
                rdev: st.rdev,
                times: [st.atime, st.mtime, st.ctime, st.crtime],
                xattrs: st
                    .xattrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body,
            });
        }
        Image {
            generation: self.generation,
            next_ino: self.next_ino.load(Ordering::Acquire),
            inodes,
            changes: self.changes.load(Ordering::Acquire),
            closing: close,
        }
    }

    /// From now on the store refuses every change (its last state is saved).
    pub(super) fn close(&self) {
        let _alone = self.gate.write();
        self.closed.store(true, Ordering::Release);
    }

    /// The changes begun so far (a snapshot is due only if this moved).
    pub(super) fn change_count(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }
}

impl Image {
    pub(super) fn inodes(&self) -> usize {
        self.inodes.len()
    }

    /// How many directories of the image hold an entry `name`.
    #[cfg(test)]
    pub(super) fn dirs_holding(&self, name: &OsStr) -> usize {
        self.inodes
            .iter()
            .filter(|k| match &k.body {
                KeptBody::Dir(d) => d.entries.iter().any(|e| e.1 == name),
                _ => false,
            })
            .count()
    }

    /// Writes the image to `file` (synced); the bytes written.
    pub(super) fn write_to(&self, file: &File) -> io::Result<u64> {
        let (written, sum) = hashing(|tx, spare| {
            let mut o = Out::new(file, tx, spare);
            self.write_body(&mut o)?;
            o.flush()?;
            Ok::<_, io::Error>(o.written())
        });
        let sum = sum.ok_or_else(|| io::Error::other("the hashing thread failed"))?;
        let written = written?;
        (&*file).write_all(sum.as_bytes())?;
        file.sync_all()?;
        Ok(written + 32)
    }

    /// Everything before the checksum.
    fn write_body(&self, o: &mut Out<'_>) -> io::Result<()> {
        o.put(MAGIC)?;
        o.u32(FORMAT)?;
        o.u64(self.generation)?;
        o.u64(self.next_ino)?;
        o.u64(self.inodes.len() as u64)?;
        o.time(SystemTime::now())?;
        o.u8(u8::from(self.closing))?;
        let mut shared: HashMap<usize, u64> = HashMap::new();
        for k in &self.inodes {
            o.u64(k.ino)?;
            o.u8(kind_code(k.kind))?;
            o.u16(k.perm)?;
            o.u32(k.nlink)?;
            o.u32(k.uid)?;
            o.u32(k.gid)?;
            o.u32(k.rdev)?;
            for t in k.times {
                o.time(t)?;
            }
            o.u32(k.xattrs.len() as u32)?;
            for (n, v) in &k.xattrs {
                o.bytes(n.as_bytes())?;
                o.bytes(v)?;
            }
            match &k.body {
                KeptBody::File { size, chunks } => {
                    o.u64(*size)?;
                    o.u64(chunks.len() as u64)?;
                    for (idx, c) in chunks {
                        o.u64(*idx)?;
                        match c.shared_id() {
                            None => {
                                o.u8(0)?;
                                o.chunk(c)?;
                            }
                            Some(id) => match shared.get(&id) {
                                Some(&n) => {
                                    o.u8(2)?;
                                    o.u64(n)?;
                                }
                                None => {
                                    shared.insert(id, shared.len() as u64);
                                    o.u8(1)?;
                                    o.chunk(c)?;
                                }
                            },
                        }
                    }
                }
                KeptBody::Dir(d) => {
                    o.u64(d.parent)?;
                    o.u64(d.next_cookie)?;
                    o.u64(d.entries.len() as u64)?;
                    for (cookie, name, ino, kind) in &d.entries {
                        o.u64(*cookie)?;
                        o.u64(*ino)?;
                        o.u8(kind_code(*kind))?;
                        o.bytes(name.as_bytes())?;
                    }
                }
                KeptBody::Symlink(t) => o.bytes(t)?,
                KeptBody::Special => {}
            }
        }
        o.put(END)
    }
}

/// Whether a snapshot file's checksum holds (its bytes are those written), whatever they say.
pub(super) fn checksum_holds(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return false;
    };
    let Some(body) = len.checked_sub(32) else {
        return false;
    };
    let mut hash = blake3::Hasher::new();
    let copied = io::copy(&mut io::Read::take(&mut f, body), &mut hash);
    let mut sum = [0; 32];
    copied.is_ok_and(|n| n == body)
        && io::Read::read_exact(&mut f, &mut sum).is_ok()
        && *hash.finalize().as_bytes() == sum
}

/// An extended attribute's name: anything the store accepts (`/` included).
fn xattr_name(b: Vec<u8>) -> Result<OsString, LoadError> {
    if b.is_empty() || b.contains(&0) {
        return Err(LoadError::Corrupt(
            "an empty extended attribute name".into(),
        ));
    }
    Ok(OsString::from_vec(b))
}

/// A directory entry's name.
fn name(b: Vec<u8>) -> Result<OsString, LoadError> {
    if b.is_empty() || b.contains(&b'/') || b.contains(&0) {
        return Err(LoadError::Corrupt("a name that cannot be".into()));
    }
    Ok(OsString::from_vec(b))
}

impl MemoryStore {
    /// The store a snapshot file holds, with the given limit (it may hold more).
    pub(super) fn load_image(path: &Path, limit: u64) -> Result<MemoryStore, LoadError> {
        let file = File::open(path).map_err(LoadError::Io)?;
        let (loaded, sum) = hashing(|tx, spare| {
            let mut i = In::new(file, tx, spare);
            let store = MemoryStore::load_body(&mut i, limit)?;
            i.end_hashed()?;
            Ok::<_, LoadError>((store, i))
        });
        let (store, mut i) = loaded?;
        let sum =
            sum.ok_or_else(|| LoadError::Io(io::Error::other("the hashing thread failed")))?;
        if i.arr::<32>()? != *sum.as_bytes() {
            return Err(LoadError::Corrupt("checksum mismatch".into()));
        }
        if !i.at_end()? {
            return Err(LoadError::Corrupt("bytes after its end".into()));
        }
        Ok(store)
    }

    /// Everything before the checksum, as a store.
    fn load_body(i: &mut In, limit: u64) -> Result<MemoryStore, LoadError> {
        if &i.arr::<8>()? != MAGIC {
            return Err(LoadError::Corrupt("not a MAVFS snapshot".into()));
        }
        let format = i.u32()?;
        if format != FORMAT {
            return Err(LoadError::Format(format));
        }
        let generation = i.u64()?;
        let next_ino = i.u64()?;
        let count = i.u64()?;
        i.time()?;
        let clean = i.u8()? == 1;
        let store = MemoryStore::empty(limit, generation, next_ino);
        store.clean.store(clean, Ordering::Release);
        let (mut data, mut extra) = (0u64, 0u64);
        let mut shared: Vec<Chunk> = Vec::new();
        for _ in 0..count {
            let ino = i.u64()?;
            let kind = kind_of(i.u8()?)?;
            let (perm, nlink, uid, gid, rdev) = (i.u16()?, i.u32()?, i.u32()?, i.u32()?, i.u32()?);
            let times = [i.time()?, i.time()?, i.time()?, i.time()?];
            let mut xattrs = BTreeMap::new();
            for _ in 0..i.u32()? {
                let n = xattr_name(i.bytes(NAME_MAX, "an xattr name")?)?;
                let v = i.bytes(VALUE_MAX, "an xattr value")?;
                xattrs.insert(n, v);
            }
            let body = match kind {
                Kind::File => {
                    let mut f = FileData {
                        size: i.u64()?,
                        ..Default::default()
                    };
                    for _ in 0..i.u64()? {
                        let idx = i.u64()?;
                        if idx > MAX_FILE_SIZE / CHUNK {
                            return Err(LoadError::Corrupt(format!("chunk {idx} past the end")));
                        }
                        let chunk = match i.u8()? {
                            how @ (0 | 1) => {
                                let c = i.chunk_bytes(CHUNK as usize)?;
                                data += c.len() as u64;
                                if how == 1 {
                                    shared.push(c.share());
                                }
                                c
                            }
                            2 => {
                                let n = i.u64()?;
                                let first = usize::try_from(n).ok().and_then(|n| shared.get(n));
                                first
                                    .ok_or_else(|| {
                                        LoadError::Corrupt(format!("no shared chunk {n}"))
                                    })?
                                    .share()
                            }
                            t => return Err(LoadError::Corrupt(format!("chunk kind {t}"))),
                        };
                        if chunk.len() as u64 > CHUNK {
                            return Err(LoadError::Corrupt("a chunk too long".into()));
                        }
                        f.allocated += chunk.len() as u64;
                        f.chunks.insert(idx, chunk);
                    }
                    Body::File(f)
                }
                Kind::Dir => {
                    let mut d = DirData::new(i.u64()?);
                    d.next_cookie = i.u64()?;
                    for _ in 0..i.u64()? {
                        let (cookie, child) = (i.u64()?, i.u64()?);
                        let kind = kind_of(i.u8()?)?;
                        let n = name(i.bytes(NAME_MAX, "a name")?)?;
                        if d.by_cookie.contains_key(&cookie) || d.by_name.contains_key(&n) {
                            return Err(LoadError::Corrupt("a directory entry twice".into()));
                        }
                        d.by_name.insert(n.clone(), cookie);
                        d.by_cookie.insert(cookie, (n, child, kind));
                    }
                    Body::Dir(d)
                }
                Kind::Symlink => Body::Symlink(i.bytes(VALUE_MAX, "a symlink target")?),
                _ => Body::Special,
            };
            let st = State {
                kind,
                perm,
                nlink,
                uid,
                gid,
                rdev,
                atime: times[0],
                mtime: times[1],
                ctime: times[2],
                crtime: times[3],
                open: 0,
                orphan: false,
                body,
                xattrs,
            };
            extra += st.extra_bytes();
            match kind {
                Kind::Dir => store.dirs.fetch_add(1, Ordering::Relaxed),
                _ => store.files.fetch_add(1, Ordering::Relaxed),
            };
            store.insert(ino, st);
        }
        // The list was no owner of the chunks it numbered.
        for c in shared {
            c.release();
        }
        if &i.arr::<8>()? != END {
            return Err(LoadError::Corrupt(
                "no end mark after the last inode".into(),
            ));
        }
        let root_is_dir = store
            .get(ROOT_INO)
            .is_ok_and(|r| r.state.read().kind == Kind::Dir);
        if !root_is_dir {
            return Err(LoadError::Corrupt("no root directory".into()));
        }
        // The root is free, as in a new store.
        let meta = (store.table.len() as u64).saturating_sub(1) * INODE_COST;
        store.space.meta.store(meta, Ordering::Release);
        store
            .space
            .used
            .store(meta + data + extra, Ordering::Release);
        Ok(store)
    }
}
