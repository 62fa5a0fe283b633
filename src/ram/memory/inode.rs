//! One inode of the memory store (its state under its lock) and the space account.

use super::*;

#[derive(Debug)]
pub(super) struct Inode {
    pub(super) ino: Ino,
    /// Kernel references (`pin`/`forget`): raised under the state's read lock, checked by the
    /// reaper under its write lock, so a pinned inode is never reaped.
    pub(super) kernel_refs: AtomicU64,
    pub(super) state: RwLock<State>,
}

impl Inode {
    /// Neither linked, nor open, nor held by the kernel: about to be reaped.
    pub(super) fn unused(&self, st: &State) -> bool {
        st.nlink == 0 && st.open == 0 && self.kernel_refs.load(Ordering::Acquire) == 0
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) kind: Kind,
    pub(super) perm: u16,
    pub(super) nlink: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) rdev: u32,
    pub(super) atime: SystemTime,
    pub(super) mtime: SystemTime,
    pub(super) ctime: SystemTime,
    pub(super) crtime: SystemTime,
    /// Open handles; the inode is dropped from the table when this and `nlink` are both 0.
    pub(super) open: u32,
    /// Counted in `MemoryStore::orphans`: no links left, kept for an open or the kernel.
    pub(super) orphan: bool,
    pub(super) body: Body,
    pub(super) xattrs: BTreeMap<OsString, Vec<u8>>,
}

#[derive(Debug)]
pub(super) enum Body {
    File(FileData),
    Dir(DirData),
    Symlink(Vec<u8>),
    Special,
}

impl State {
    pub(super) fn attr(&self, ino: Ino) -> Attr {
        let (size, allocated) = match &self.body {
            Body::File(f) => (f.size, f.allocated),
            Body::Dir(d) => (4096.max(d.by_name.len() as u64 * 32), 0),
            Body::Symlink(t) => (t.len() as u64, t.len() as u64),
            Body::Special => (0, 0),
        };
        Attr {
            ino,
            kind: self.kind,
            perm: self.perm,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            size,
            allocated,
            rdev: self.rdev,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            crtime: self.crtime,
        }
    }

    pub(super) fn dir(&self) -> StoreResult<&DirData> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(StoreError::NotDir),
        }
    }

    pub(super) fn dir_mut(&mut self) -> StoreResult<&mut DirData> {
        match &mut self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(StoreError::NotDir),
        }
    }

    pub(super) fn file(&self) -> StoreResult<&FileData> {
        match &self.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(StoreError::IsDir),
            _ => Err(StoreError::Invalid),
        }
    }

    pub(super) fn file_mut(&mut self) -> StoreResult<&mut FileData> {
        match &mut self.body {
            Body::File(f) => Ok(f),
            Body::Dir(_) => Err(StoreError::IsDir),
            _ => Err(StoreError::Invalid),
        }
    }

    pub(super) fn touch_dir(&mut self, now: SystemTime) {
        self.mtime = now;
        self.ctime = now;
    }

    /// Bytes this inode holds apart from file data (freed when it goes).
    pub(super) fn extra_bytes(&self) -> u64 {
        let link = match &self.body {
            Body::Symlink(t) => t.len() as u64,
            _ => 0,
        };
        link + xattr_bytes(&self.xattrs)
    }
}

pub(super) fn xattr_bytes(x: &BTreeMap<OsString, Vec<u8>>) -> u64 {
    x.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
}

/// The space account shared by all inodes: reserve before storing, release after freeing.
#[derive(Debug)]
pub(super) struct Space {
    /// Data and metadata, against `limit`.
    pub(super) used: AtomicU64,
    /// The metadata part of `used`.
    pub(super) meta: AtomicU64,
    pub(super) limit: u64,
}

impl Space {
    pub(super) fn reserve(&self, bytes: u64) -> StoreResult<()> {
        if bytes == 0 {
            return Ok(());
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| StoreError::NoSpace)
    }

    pub(super) fn release(&self, bytes: u64) {
        if bytes > 0 {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// Charges bytes that must be held whatever the limit (a shared chunk copied to make a
    /// hole in it).
    pub(super) fn force(&self, bytes: u64) {
        if bytes > 0 {
            self.used.fetch_add(bytes, Ordering::AcqRel);
        }
    }
}
