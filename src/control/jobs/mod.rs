//! push/pull: copying a file or a tree between the tiers inside the daemon, store to store,
//! on a job thread of its own (FUSE threads stay free).
//!
//! One copy engine (`Copier`) serves both directions through the `Tree` trait, implemented
//! by `RamTree` (the RAM store, by inode) and `HostTree` (the disk dir, by `O_PATH` fds and
//! `*at` calls: a walk never follows a symlink and never leaves the disk dir).
//!
//! Guarantees: each file appears at the destination only whole (written under a hidden
//! temporary name, then renamed into place); a failure or a cancel removes the temporary and
//! leaves the source untouched; `--move` removes the source only once the whole destination
//! is complete, and only what was copied and has not changed since. Temporary names start
//! with `TMP_PREFIX` and are never listed or looked up; they carry the job's id, so a
//! stopped job's leftovers can be told from a running job's files in the making.
//!
//! Everything a file is travels: data with its holes (only the ranges the source holds are
//! read, and blocks of zeros are not written), mode, owner, times, extended attributes, hard
//! links within the tree, symlinks and special files. `journal` records each running job on
//! the disk tier, so one a stopped daemon left unfinished can be resumed or cancelled.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::counters::{Counters, OpKind, Place};
use crate::disk::{at, DiskTier};
use crate::error::FsError;
use crate::ram::{self, Ino, Kind, NewNode, RamStore, RenameMode, SetAttr, TimeSet};
use crate::sync::Mutex;

use super::protocol::{Copied, Copy, Progress};
pub use crate::node::{is_tmp_name, TMP_PREFIX};
use crate::vpath::VPath;

mod blocks;
mod engine;
pub mod journal;
mod leftovers;
mod run;
mod trees;

pub use engine::{Copier, Plan};
pub use leftovers::{remove_leftovers, sweep_job, tmp_job, tmp_name};
pub use run::run_copy;
pub use trees::{HostTree, RamTree};

const COPY_BLOCK: u32 = 1 << 20;

/// A job's progress and cancel flag, shared with the control file that reports them.
#[derive(Debug)]
pub struct JobState {
    pub cancel: AtomicBool,
    /// A move has copied everything and is removing its source.
    pub removing: AtomicBool,
    started: Instant,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    files_total: AtomicU64,
    verified_bytes: AtomicU64,
    /// The most bytes a second the job may copy (0: no limit).
    pub rate: AtomicU64,
}

impl Default for JobState {
    fn default() -> Self {
        JobState {
            cancel: AtomicBool::new(false),
            removing: AtomicBool::new(false),
            started: Instant::now(),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
            verified_bytes: AtomicU64::new(0),
            rate: AtomicU64::new(0),
        }
    }
}

impl JobState {
    /// Holds the job to its rate: waits until the bytes done are no more than the rate
    /// allows for the time it has run (a cancel ends the wait).
    pub fn pace(&self) {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return;
        }
        let due = self.bytes_done.load(Ordering::Relaxed) as f64 / rate as f64;
        while self.started.elapsed().as_secs_f64() < due && !self.cancel.load(Ordering::Relaxed) {
            let left = due - self.started.elapsed().as_secs_f64();
            std::thread::sleep(std::time::Duration::from_secs_f64(left.clamp(0.0, 0.05)));
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            verified_bytes: self.verified_bytes.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum JobError {
    /// One line naming the path and the cause.
    Failed(String),
    Cancelled,
}

type JobResult<T> = Result<T, JobError>;

fn fail(path: &str, e: io::Error) -> JobError {
    JobError::Failed(format!("{path}: {}", crate::host::plain_message(&e)))
}

fn store_err(e: ram::StoreError) -> io::Error {
    io::Error::from_raw_os_error(FsError::from(e).errno())
}

/// What the copy needs to know of an entry.
#[derive(Debug, Clone)]
pub struct Meta {
    pub kind: Kind,
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u32,
    pub atime: SystemTime,
    pub mtime: SystemTime,
    /// Identifies the inode within its tree (hard links share it): device and inode number,
    /// as a disk dir may hold other filesystems' mounts.
    pub id: (u64, u64),
    /// Bytes the file really takes (allocated blocks).
    pub allocated: u64,
    pub ctime: SystemTime,
    /// The device a device node stands for.
    pub rdev: u32,
}

impl Meta {
    fn from_attr(a: &ram::Attr) -> Meta {
        Meta {
            kind: a.kind,
            perm: a.perm,
            uid: a.uid,
            gid: a.gid,
            size: a.size,
            nlink: a.nlink,
            atime: a.atime,
            mtime: a.mtime,
            id: (0, a.ino),
            allocated: a.allocated,
            ctime: a.ctime,
            rdev: a.rdev,
        }
    }

    /// The same version of the same content: what a file copied whole keeps until it is
    /// written, truncated, renamed or removed (each moves the ctime).
    fn same_version(&self, other: &Meta) -> bool {
        self.id == other.id
            && self.size == other.size
            && self.mtime == other.mtime
            && self.ctime == other.ctime
    }
}

/// What a job tells whoever runs it as it goes (the journal records it).
pub trait Hooks {
    /// Where the copy lands, resolved (`DST/name` when copied into the directory DST).
    fn target(&self, path: &str);
    /// Everything was copied; the source of a move is being removed.
    fn removing(&self);
}

/// An entry's extended attributes: names and values.
pub type Xattrs = Vec<(OsString, Vec<u8>)>;
/// Extended attributes a destination would not take, with why.
pub type Refused = Vec<(OsString, io::Error)>;

/// One side of a copy. Directories are handles (`Dir`); entries are named within them.
pub trait Tree: Sync {
    type Dir: Clone;
    /// An open file being read or written (read ahead on a thread of its own).
    type File: Sync;
    /// A finished file, for making hard links to it.
    type Key: Clone;

    /// `/vram` or `/vdisk`, for messages.
    fn label(&self) -> &'static str;
    fn root(&self) -> io::Result<Self::Dir>;
    /// A subdirectory; ENOTDIR for anything else, a symlink included.
    fn child_dir(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::Dir>;
    fn stat(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Option<Meta>>;
    /// Names in a directory, temporaries left out.
    fn list(&self, dir: &Self::Dir) -> io::Result<Vec<OsString>>;
    /// The temporary names in a directory of the jobs `job` picks by id.
    fn leftovers(&self, dir: &Self::Dir, job: &dyn Fn(u64) -> bool) -> io::Result<Vec<OsString>>;
    fn readlink(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Vec<u8>>;
    fn open_read(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::File>;
    /// An open file's metadata now, to tell whether it changed while it was copied.
    fn stat_open(&self, f: &Self::File) -> io::Result<Meta>;
    /// The byte ranges of an open file that may hold data, in order; the rest are holes.
    fn data_ranges(&self, f: &Self::File, size: u64) -> io::Result<Vec<(u64, u64)>>;
    fn read_at(&self, f: &Self::File, offset: u64, len: u32) -> io::Result<Vec<u8>>;
    /// `read_at` into `buf` (its memory reused where the tree can).
    fn read_into(
        &self,
        f: &Self::File,
        offset: u64,
        len: u32,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        *buf = self.read_at(f, offset, len)?;
        Ok(())
    }
    /// An entry's extended attributes (none for a symlink).
    fn xattrs(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Xattrs>;
    fn set_xattr(
        &self,
        dir: &Self::Dir,
        name: &OsStr,
        xname: &OsStr,
        value: &[u8],
    ) -> io::Result<()>;
    /// The tier the tree is, for the counters.
    fn place(&self) -> Place;
    /// Creates a file (mode 0600 until `finish`) for writing and reading back.
    fn create(&self, dir: &Self::Dir, name: &OsStr, meta: &Meta) -> io::Result<Self::File>;
    fn write_at(&self, f: &Self::File, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Sets a written file's size (a hole at its end stays a hole).
    fn set_size(&self, f: &Self::File, size: u64) -> io::Result<()>;
    /// Gives a written file its source's owner, extended attributes, mode and times, in that
    /// order (a chown drops `security.capability`; a read-only mode would refuse `user.*`
    /// to an unprivileged daemon). Returns the attributes that could not be set.
    fn finish(&self, f: &Self::File, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused>;
    fn key(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::Key>;
    fn link(&self, key: &Self::Key, dir: &Self::Dir, name: &OsStr) -> io::Result<()>;
    fn symlink(&self, dir: &Self::Dir, name: &OsStr, target: &[u8], meta: &Meta) -> io::Result<()>;
    /// A FIFO, socket or device node with the source's mode, owner and times.
    fn mknod(&self, dir: &Self::Dir, name: &OsStr, meta: &Meta) -> io::Result<()>;
    fn mkdir(&self, dir: &Self::Dir, name: &OsStr, meta: &Meta) -> io::Result<Self::Dir>;
    /// `finish` for a copied directory (after its contents).
    fn finish_dir(&self, dir: &Self::Dir, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused>;
    /// Renames within one directory; `replace` allows an existing destination.
    fn rename(&self, dir: &Self::Dir, from: &OsStr, to: &OsStr, replace: bool) -> io::Result<()>;
    fn remove(&self, dir: &Self::Dir, name: &OsStr, is_dir: bool) -> io::Result<()>;
    /// Records that the job changed `dir/name`: the kernel's cache of it is dropped when the
    /// job ends (`take_changed`).
    fn note(&self, dir: &Self::Dir, name: &OsStr);
    /// The names noted so far, as (directory inode in the tier, name).
    fn take_changed(&self) -> Vec<(u64, OsString)>;
    /// Makes what was written durable (before a move removes its source).
    fn sync(&self) -> io::Result<()>;
}

/// What a tree holds (for `stats` of the disk tier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub files: u64,
    pub dirs: u64,
    /// The sum of file sizes.
    pub bytes: u64,
    /// The sum of allocated bytes.
    pub allocated: u64,
}

/// How deep a tree a job walks: the walks recurse, one frame per level, on the job thread's
/// stack (`JOB_STACK`). Deeper trees are refused with a message, never a crashed daemon.
pub const MAX_DEPTH: usize = 8192;
/// The stack of a job thread: room for `MAX_DEPTH` levels (reserved, touched as used).
pub const JOB_STACK: usize = 256 << 20;

fn not_too_deep(path: &str) -> JobResult<()> {
    if path.bytes().filter(|&b| b == b'/').count() > MAX_DEPTH {
        return Err(JobError::Failed(format!(
            "{}...: more than {MAX_DEPTH} levels of directories; move a part of it at a time",
            &path[..path.len().min(120)]
        )));
    }
    Ok(())
}

/// Counts the files, directories and bytes under `dir`. A file with more names than one
/// counts once, as `du` and the vram store count it.
#[cfg(test)]
mod tests;

pub fn count<T: Tree>(tree: &T, dir: &T::Dir, totals: &mut Count) -> io::Result<()> {
    count_in(tree, dir, totals, &mut HashSet::new(), 0)
}

fn count_in<T: Tree>(
    tree: &T,
    dir: &T::Dir,
    totals: &mut Count,
    linked: &mut HashSet<(u64, u64)>,
    depth: usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        // Counted as far as a job goes; deeper levels are left out of the figures.
        return Ok(());
    }
    for n in tree.list(dir)? {
        match tree.stat(dir, &n)? {
            Some(m) if m.kind == Kind::Dir => {
                totals.dirs += 1;
                totals.allocated += m.allocated;
                if let Ok(sub) = tree.child_dir(dir, &n) {
                    count_in(tree, &sub, totals, linked, depth + 1)?;
                }
            }
            Some(m) if m.nlink > 1 && !linked.insert(m.id) => {}
            Some(m) => {
                totals.files += 1;
                totals.bytes += m.size;
                totals.allocated += m.allocated;
            }
            None => {}
        }
    }
    Ok(())
}
