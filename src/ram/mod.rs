//! The RAM tier's storage contract: `trait RamStore`, keyed by the store's own inode numbers.
//!
//! Invariants every implementation keeps:
//! - each method is atomic in the store: a reader never sees half of a create, link, unlink or
//!   rename;
//! - space is reserved before data is accepted: a write past the limit fails with
//!   `StoreError::NoSpace` and leaves what was stored untouched;
//! - an inode whose link count drops to zero lives on while it is open (`open`/`release`);
//! - names are single path components (no `/`, not `.` or `..`, at most `NAME_MAX` bytes);
//!   the store checks them, so every caller (FUSE, control jobs) gets the same answers.
//!
//! The store knows nothing of FUSE; `fs` maps `StoreError` to errno.

pub mod memory;
pub mod redis;

use std::ffi::{OsStr, OsString};

pub use memory::{MemoryStore, Saved, SnapshotState, Snapshots};
pub use redis::RedisStore;

pub use crate::node::{
    check_name, killed_mode, Attr, Inherit, Ino, Kind, NameError, NewNode, SetAttr, TimeSet,
    NAME_MAX, XATTR_LIST_MAX, XATTR_SIZE_MAX,
};

/// The ACL attributes a new `kind` node starts with under `acl`, its parent's default ACL
/// being `parent`; or the refusal that has the caller build the node again from it.
pub fn inherited<'a>(
    acl: Inherit<'a>,
    kind: Kind,
    parent: Option<&[u8]>,
) -> StoreResult<Vec<(&'static str, &'a [u8])>> {
    // An empty value is no ACL (as the kernel reads it).
    let parent = parent.filter(|v| !v.is_empty());
    let from = match acl {
        Inherit::Ignore => return Ok(Vec::new()),
        Inherit::Absent => None,
        Inherit::From { from, .. } => Some(from),
    };
    if parent != from {
        return Err(StoreError::DefaultAcl(parent.unwrap_or_default().to_vec()));
    }
    let mut out = Vec::new();
    if let Inherit::From { from, access } = acl {
        if let Some(a) = access {
            out.push((crate::acl::ACCESS, a));
        }
        if kind == Kind::Dir {
            out.push((crate::acl::DEFAULT, from));
        }
    }
    Ok(out)
}

/// The store's root directory.
pub const ROOT_INO: Ino = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: OsString,
    pub ino: Ino,
    pub kind: Kind,
    /// Pass this back as `after` to continue listing behind this entry. Cookies are > 2
    /// (1 and 2 are left for `.` and `..`) and stay valid while entries come and go.
    pub cookie: u64,
}

/// A change another mount made, for this mount's kernel to drop what it holds of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    /// A name in a directory (by inode): replaced, removed or renamed.
    Name(Ino, OsString),
    /// An inode's attributes.
    Attrs(Ino),
    /// Any name: notices may have been missed (the kernel looks each up again).
    Everything,
}

/// Tells the kernel of changes other mounts made (see `RamStore::watch_others`).
pub type TellKernel = Box<dyn Fn(&[Foreign]) + Send + Sync>;

/// One page of a directory listing.
#[derive(Debug, Clone, Default)]
pub struct DirPage {
    /// The directory's parent (itself for the store root).
    pub parent: Ino,
    pub entries: Vec<DirEntry>,
}

/// A listing and, where read with it, its entries' attributes in the same order.
pub type ListingPlus = (DirPage, Option<Vec<StoreResult<Attr>>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameMode {
    /// Replace an existing destination (plain `rename(2)`).
    Replace,
    /// Fail with `Exists` if the destination exists (`RENAME_NOREPLACE`).
    NoReplace,
    /// Swap source and destination, both must exist (`RENAME_EXCHANGE`).
    Exchange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrSet {
    Any,
    /// Fail with `Exists` if the attribute exists (`XATTR_CREATE`).
    Create,
    /// Fail with `NoAttr` if the attribute is missing (`XATTR_REPLACE`).
    Replace,
}

/// `fallocate(2)` modes the store understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Falloc {
    /// Reserve space; grow the size unless `keep_size`.
    Allocate { keep_size: bool },
    /// Zero a range and free its space; the size never changes.
    PunchHole,
    /// Zero a range; grow the size unless `keep_size`.
    ZeroRange { keep_size: bool },
}

/// One master of a Redis Cluster as `mavfsctl stats` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeStats {
    /// `host:port`.
    pub addr: String,
    /// Its `used_memory`, and how many keys it holds (all of them, not only this prefix's).
    pub used_memory: u64,
    pub keys: u64,
    /// Replicas following it now.
    pub replicas: u64,
    /// This prefix's slices on it, and their bytes.
    pub slices: u64,
    pub slice_bytes: u64,
    /// It serves the prefix's metadata.
    pub metadata: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes of file data, symlink targets and xattrs held.
    pub bytes: u64,
    /// Bytes charged for metadata (`INODE_COST` per inode): they count against `limit` too,
    /// so empty files cannot fill memory past it.
    pub meta: u64,
    /// The limit `bytes` may not pass.
    pub limit: u64,
    pub files: u64,
    pub dirs: u64,
}

/// What each inode (file, directory, symlink, special file) costs of the limit for its
/// metadata, its name included: about what the stores keep for one.
pub const INODE_COST: u64 = 512;

impl Usage {
    /// Directories inside the tier: the tier's own root is not counted (as for vdisk).
    pub fn dirs_inside(&self) -> u64 {
        self.dirs.saturating_sub(1)
    }
}

/// Whether a limit is "none": a store without one reports the largest number there is.
pub fn is_unlimited(limit: u64) -> bool {
    limit >= u64::MAX / 2
}

/// Byte ranges in order with the empty ones left out and adjacent ones joined: what
/// `data_ranges` answers, from a store's chunks.
pub fn join_ranges(ranges: impl IntoIterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        if start >= end {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

/// Why a store said no. `Unavailable` is kept apart: it means the store could not be
/// reached, not that it refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file exists")]
    Exists,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("directory not empty")]
    NotEmpty,
    #[error("no space left in the RAM tier")]
    NoSpace,
    #[error("invalid argument")]
    Invalid,
    #[error("file name too long")]
    NameTooLong,
    #[error("operation not permitted")]
    NotPermitted,
    #[error("no such attribute")]
    NoAttr,
    #[error("operation not supported")]
    NotSupported,
    #[error("file too large")]
    TooLarge,
    #[error("too many links")]
    TooManyLinks,
    /// The inode the kernel named is gone (removed since its lookup, by another thread or
    /// mount). ESTALE makes the kernel look the name up again once before failing.
    #[error("stale file handle")]
    Stale,
    /// A create's idea of the parent's default ACL (`Inherit`) was wrong: here is the one
    /// it has now (empty: none), to build the node from and try again.
    #[error("the parent's default ACL changed")]
    DefaultAcl(Vec<u8>),
    /// The store refuses changes: Redis took an evicting memory policy, under which it
    /// could drop file data; `vram/` turns read-only rather than lose it.
    #[error("read-only: {0}")]
    ReadOnly(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backend failed or answered with an error the store has no meaning for; the
    /// backend's own error is kept as the source.
    #[error("store unavailable: {context}: {}", crate::host::plain_message(source))]
    Backend {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Checks a name for unlink or rmdir: `.` is EINVAL and `..` ENOTEMPTY, as Linux answers
/// rmdir, before the usual name rules.
pub fn check_removable(name: &OsStr) -> StoreResult<()> {
    match std::os::unix::ffi::OsStrExt::as_bytes(name) {
        b"." => Err(StoreError::Invalid),
        b".." => Err(StoreError::NotEmpty),
        _ => Ok(check_name(name)?),
    }
}

impl From<NameError> for StoreError {
    fn from(e: NameError) -> Self {
        match e {
            NameError::TooLong => StoreError::NameTooLong,
            NameError::Invalid => StoreError::Invalid,
        }
    }
}

/// The RAM tier's storage. All methods take `&self` and are called from many threads.
pub trait RamStore: Send + Sync + 'static {
    /// A short name for logs and stats (`memory`, `redis`).
    fn backend(&self) -> &'static str;
    /// Whether other mounts may change the store too: then the kernel must not keep cached
    /// file data across opens, and metadata may be cached only briefly.
    fn shared(&self) -> bool {
        false
    }
    /// Inodes without links still kept (open, or held for this mount's kernel), or being
    /// given back: their space is on its way back.
    fn orphans(&self) -> u64;
    /// For a store behind a network: the round trip of a no-op request, or why it failed.
    /// None for an in-process store.
    fn ping(&self) -> Option<Result<std::time::Duration, String>> {
        None
    }
    /// fsync: what the store holds is as durable as it can make it when this returns. The
    /// in-process store has nothing more to do; a Redis store waits until a replica has
    /// every write so far, where there are replicas.
    fn sync(&self) -> StoreResult<()> {
        Ok(())
    }
    /// A Redis Cluster's masters and what each holds, for `mavfsctl stats`; empty for a
    /// store on one server or in the process.
    fn nodes(&self) -> Vec<NodeStats> {
        Vec::new()
    }
    /// Where the data lives, for `mavfsctl stats`: a name (a Redis URL has no password
    /// in it) and, where the backend can tell, the memory it uses.
    fn describe(&self) -> (String, Option<u64>) {
        (self.backend().to_owned(), None)
    }
    /// Hands a store that other mounts share what tells the kernel of their changes, as
    /// it learns of them.
    fn watch_others(&self, _tell: TellKernel) {}
    /// Counts what other mounts told of their changes: taken before a call to the store,
    /// it tells `kernel_ttl` whether one came while the call ran.
    fn changes_heard(&self) -> u64 {
        0
    }
    /// How long the kernel may keep names and attributes read after `changes_heard` gave
    /// `heard_before`; None: the mount's fixed choice.
    fn kernel_ttl(&self, _heard_before: u64) -> Option<std::time::Duration> {
        None
    }
    fn lookup(&self, parent: Ino, name: &OsStr) -> StoreResult<Attr>;
    fn getattr(&self, ino: Ino) -> StoreResult<Attr>;
    /// `getattr` of each, in order: one round trip where the store can make it one (the
    /// attributes of a page of directory entries). The outer error fails them all.
    fn getattr_many(&self, inos: &[Ino]) -> StoreResult<Vec<StoreResult<Attr>>> {
        Ok(inos.iter().map(|&i| self.getattr(i)).collect())
    }
    fn setattr(&self, ino: Ino, set: &SetAttr) -> StoreResult<Attr>;
    /// Up to `max` entries with a cookie greater than `after`, in cookie order (`max` 0:
    /// only the parent).
    fn readdir(&self, dir: Ino, after: u64, max: usize) -> StoreResult<DirPage>;
    /// Every entry, in cookie order; read at one moment where the store can.
    fn readdir_all(&self, dir: Ino) -> StoreResult<DirPage> {
        let mut all = self.readdir(dir, 0, 1024)?;
        while let Some(last) = all.entries.last().map(|e| e.cookie) {
            let page = self.readdir(dir, last, 1024)?;
            if page.entries.is_empty() {
                break;
            }
            all.entries.extend(page.entries);
        }
        Ok(all)
    }
    /// `readdir_all`, with each entry's attributes (as `getattr_many` gives them) where the
    /// store read them in the same step, for a directory of at most `attrs_max` entries:
    /// a listing with attributes (`readdirplus`) then costs one round trip, not two.
    fn readdir_all_plus(&self, dir: Ino, _attrs_max: usize) -> StoreResult<ListingPlus> {
        Ok((self.readdir_all(dir)?, None))
    }
    /// True where each `readdir` page costs as much as `readdir_all`: whoever lists a
    /// directory a page at a time then keeps one listing and pages through it.
    fn lists_whole(&self) -> bool {
        false
    }
    /// Creates a file, directory, symlink or special file. Inherits the group (and, for a
    /// directory, the setgid bit) from a setgid parent.
    fn create(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr>;
    /// `create`, then `open` of the new inode: one step where the store can make it one
    /// (`open(O_CREAT)` of a new file).
    fn create_open(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr> {
        let a = self.create(parent, name, node)?;
        self.open(a.ino, false)?;
        Ok(a)
    }
    fn link(&self, ino: Ino, newparent: Ino, newname: &OsStr) -> StoreResult<Attr>;
    fn unlink(&self, parent: Ino, name: &OsStr) -> StoreResult<()>;
    fn rmdir(&self, parent: Ino, name: &OsStr) -> StoreResult<()>;
    fn rename(
        &self,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        mode: RenameMode,
    ) -> StoreResult<()>;
    fn readlink(&self, ino: Ino) -> StoreResult<Vec<u8>>;
    /// Pins the inode: it outlives its last link until the matching `release`. True if
    /// what the kernel cached of the file's data on earlier opens of this mount is still the
    /// file's (nothing changed it since it was last opened here, or only this mount can).
    /// `reads`: the open is for reading (a store may bring a small file's bytes along).
    fn open(&self, ino: Ino, reads: bool) -> StoreResult<bool>;
    /// Counts a kernel reference to the inode (an entry handed to the kernel): like an open,
    /// it keeps an unlinked inode alive until `forget` drops the count, so an open racing
    /// with an unlink of the same name finds the inode. NotFound if it is already gone; a
    /// shared store that counts in-process may not know (another mount may have removed
    /// it): later calls on the inode then fail with NotFound.
    fn pin(&self, ino: Ino) -> StoreResult<()>;
    /// Drops `n` kernel references counted by `pin`.
    fn forget(&self, ino: Ino, n: u64);
    /// Gives back an `open`. A store may finish it on a thread of its own (the kernel does
    /// not wait for a close either): until then `orphans` counts it, and `settle` waits.
    fn release(&self, ino: Ino);
    /// Waits until the releases and forgets handed to other threads are done.
    fn settle(&self) {}
    /// Reads up to `size` bytes at `offset`; short only at the end of the file.
    fn read(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>>;
    /// What tells this store's inodes from those an earlier store gave the same numbers:
    /// the generation file handles carry. A store whose numbers are never used twice (one
    /// that outlives the mount) answers 0.
    fn generation(&self) -> u64 {
        0
    }
    /// `read` into `buf`, its memory reused where the store can (a job's big reads: fresh
    /// memory for each would fault every page in).
    fn read_into(&self, ino: Ino, offset: u64, size: u32, buf: &mut Vec<u8>) -> StoreResult<()> {
        *buf = self.read(ino, offset, size)?;
        Ok(())
    }
    /// `read`, handing the bytes to `out` (called once, on success only) where they are, if
    /// the store holds them in one piece: a read answered from the store's own memory
    /// saves a copy of every byte.
    fn read_with(
        &self,
        ino: Ino,
        offset: u64,
        size: u32,
        out: &mut dyn FnMut(&[u8]),
    ) -> StoreResult<()> {
        out(&self.read(ino, offset, size)?);
        Ok(())
    }
    /// The byte ranges of a file that may hold data, in order and within its size; the rest
    /// reads as zeros (holes). A store that cannot tell answers the whole file.
    fn data_ranges(&self, ino: Ino) -> StoreResult<Vec<(u64, u64)>> {
        let size = self.getattr(ino)?.size;
        Ok(if size == 0 {
            Vec::new()
        } else {
            vec![(0, size)]
        })
    }
    /// Writes all of `data` at `offset` or nothing.
    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> StoreResult<Attr>;
    /// `write`, where the store may keep a small write back and send it later with others
    /// (at `flush`, and before any other use of the file): None then. `privs`: the caller
    /// needs the attributes to drop setuid and setgid; a store keeps such a write only where
    /// it knows there are none.
    fn write_behind(
        &self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        _privs: bool,
    ) -> StoreResult<Option<Attr>> {
        self.write(ino, offset, data).map(Some)
    }
    /// Sends what `write_behind` kept of the file (at its close): its error is the close's.
    /// What fails stays kept, for `give_up` or another try.
    fn flush(&self, _ino: Ino) -> StoreResult<()> {
        Ok(())
    }
    /// Gives up what `flush` could not send (for `why`): `lost` tells the file's other
    /// descriptors at their close or fsync.
    fn give_up(&self, _ino: Ino, _why: &StoreError) {}
    /// A number for a descriptor of `ino` just opened or created open (its file handle),
    /// for `lost`; given back by its `release`. 0 where the store keeps no writes back.
    fn handle(&self, _ino: Ino) -> u64 {
        0
    }
    /// The failure `give_up` recorded last for the file, if descriptor `fh` (`handle`) was
    /// open then and has not been told: once per descriptor, as Linux reports a writeback
    /// error (a dup of it is the same descriptor).
    fn lost(&self, _ino: Ino, _fh: u64) -> StoreResult<()> {
        Ok(())
    }
    /// Whether `write_behind` may keep writes back: the kernel must then ask at each close.
    fn keeps_writes(&self) -> bool {
        false
    }
    fn fallocate(&self, ino: Ino, offset: u64, len: u64, mode: Falloc) -> StoreResult<()>;
    fn setxattr(&self, ino: Ino, name: &OsStr, value: &[u8], how: XattrSet) -> StoreResult<()>;
    fn getxattr(&self, ino: Ino, name: &OsStr) -> StoreResult<Vec<u8>>;
    fn listxattr(&self, ino: Ino) -> StoreResult<Vec<OsString>>;
    fn removexattr(&self, ino: Ino, name: &OsStr) -> StoreResult<()>;
    fn usage(&self) -> Usage;
    /// Where this store is saved, and how its saving goes.
    fn snapshot_state(&self) -> Option<SnapshotState> {
        None
    }
    /// Saves a snapshot now, where this store keeps them: the line saying what was saved.
    fn snapshot(&self) -> Option<Result<String, String>> {
        None
    }
    /// An instant copy of the tree at `src` as `parent/name` (modes, owners, times, xattrs
    /// and hard links within it kept), its file data shared until either side writes it.
    fn clone_tree(&self, _src: Ino, _parent: Ino, _name: &OsStr) -> StoreResult<Attr> {
        Err(StoreError::NotSupported)
    }
}
