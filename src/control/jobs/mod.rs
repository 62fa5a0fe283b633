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
//! is complete. Temporary names start with `TMP_PREFIX` and are never listed or looked up.

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

mod trees;

pub use trees::{HostTree, RamTree};

const COPY_BLOCK: u32 = 1 << 20;

/// A job's progress and cancel flag, shared with the control file that reports them.
#[derive(Debug)]
pub struct JobState {
    pub cancel: AtomicBool,
    started: Instant,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    files_total: AtomicU64,
}

impl Default for JobState {
    fn default() -> Self {
        JobState {
            cancel: AtomicBool::new(false),
            started: Instant::now(),
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
        }
    }
}

impl JobState {
    pub fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            elapsed_ms: self.started.elapsed().as_millis() as u64,
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
        }
    }
}

/// One side of a copy. Directories are handles (`Dir`); entries are named within them.
pub trait Tree {
    type Dir: Clone;
    /// An open file being read or written.
    type File;
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
    fn readlink(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Vec<u8>>;
    fn open_read(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::File>;
    fn read_at(&self, f: &Self::File, offset: u64, len: u32) -> io::Result<Vec<u8>>;
    /// The tier the tree is, for the counters.
    fn place(&self) -> Place;
    /// Creates a file (mode 0600 until `finish`) for writing.
    fn create(&self, dir: &Self::Dir, name: &OsStr, meta: &Meta) -> io::Result<Self::File>;
    fn write_at(&self, f: &Self::File, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Gives a written file its source's mode, owner and times.
    fn finish(&self, f: &Self::File, meta: &Meta) -> io::Result<()>;
    fn key(&self, dir: &Self::Dir, name: &OsStr) -> io::Result<Self::Key>;
    fn link(&self, key: &Self::Key, dir: &Self::Dir, name: &OsStr) -> io::Result<()>;
    fn symlink(&self, dir: &Self::Dir, name: &OsStr, target: &[u8], meta: &Meta) -> io::Result<()>;
    fn mkdir(&self, dir: &Self::Dir, name: &OsStr, meta: &Meta) -> io::Result<Self::Dir>;
    /// Gives a copied directory its source's mode, owner and times (after its contents).
    fn finish_dir(&self, dir: &Self::Dir, meta: &Meta) -> io::Result<()>;
    /// Renames within one directory; `replace` allows an existing destination.
    fn rename(&self, dir: &Self::Dir, from: &OsStr, to: &OsStr, replace: bool) -> io::Result<()>;
    fn remove(&self, dir: &Self::Dir, name: &OsStr, is_dir: bool) -> io::Result<()>;
}

/// A push or pull request with its paths parsed.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub src: VPath<'a>,
    pub dst: VPath<'a>,
    pub force: bool,
    pub move_source: bool,
}

impl<'a> Plan<'a> {
    pub fn new(c: &'a Copy) -> Result<Plan<'a>, String> {
        Ok(Plan {
            src: VPath::parse(&c.src)?,
            dst: VPath::parse(&c.dst)?,
            force: c.force,
            move_source: c.move_source,
        })
    }
}

fn join(base: &str, name: &OsStr) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name.to_string_lossy())
}

/// A name in a directory of one tree, with its path for messages.
struct At<'a, Dir> {
    dir: &'a Dir,
    name: &'a OsStr,
    path: &'a str,
}

/// The copy engine for one job, from `S` to `D`.
pub struct Copier<'a, S: Tree, D: Tree> {
    pub src: &'a S,
    pub dst: &'a D,
    pub state: &'a JobState,
    /// The bytes a job moves count on each tier, beside the FUSE operations.
    pub counters: &'a Counters,
    pub force: bool,
    /// Source inode id → the first copy at the destination, for hard links.
    links: HashMap<(u64, u64), D::Key>,
    tmp_seq: u64,
    job_id: u64,
    copied: Copied,
}

impl<'a, S: Tree, D: Tree> Copier<'a, S, D> {
    pub fn new(
        src: &'a S,
        dst: &'a D,
        state: &'a JobState,
        counters: &'a Counters,
        force: bool,
        job_id: u64,
    ) -> Self {
        Copier {
            src,
            dst,
            state,
            counters,
            force,
            links: HashMap::new(),
            tmp_seq: 0,
            job_id,
            copied: Copied::default(),
        }
    }

    fn check_cancel(&self) -> JobResult<()> {
        if self.state.cancel.load(Ordering::Relaxed) {
            return Err(JobError::Cancelled);
        }
        Ok(())
    }

    fn tmp_name(&mut self) -> OsString {
        self.tmp_seq += 1;
        let mut n = OsString::from(OsStr::from_bytes(TMP_PREFIX));
        n.push(format!("{}.{}", self.job_id, self.tmp_seq));
        n
    }

    /// Walks `comps` from the root of a tree; every component must be a directory.
    fn walk<T: Tree>(tree: &T, comps: &[&OsStr]) -> JobResult<T::Dir> {
        let mut dir = tree.root().map_err(|e| fail(tree.label(), e))?;
        let mut path = tree.label().to_owned();
        for c in comps {
            path = join(&path, c);
            dir = tree.child_dir(&dir, c).map_err(|e| fail(&path, e))?;
        }
        Ok(dir)
    }

    /// Counts what a copy of `name` will move, for the progress total.
    fn scan(&self, dir: &S::Dir, name: &OsStr, meta: &Meta, path: &str) -> JobResult<()> {
        self.check_cancel()?;
        not_too_deep(path)?;
        match meta.kind {
            Kind::File | Kind::Symlink => {
                self.state.files_total.fetch_add(1, Ordering::Relaxed);
                if meta.kind == Kind::File {
                    self.state
                        .bytes_total
                        .fetch_add(meta.size, Ordering::Relaxed);
                }
            }
            Kind::Dir => {
                let sub = self.src.child_dir(dir, name).map_err(|e| fail(path, e))?;
                for n in self.src.list(&sub).map_err(|e| fail(path, e))? {
                    let p = join(path, &n);
                    if let Some(m) = self.src.stat(&sub, &n).map_err(|e| fail(&p, e))? {
                        self.scan(&sub, &n, &m, &p)?;
                    }
                }
            }
            // Special files are refused when the copy reaches them.
            _ => {}
        }
        Ok(())
    }

    /// Copies `src_path` to `dst_path` as `cp -r` would: into `dst` if it is a directory,
    /// else to the name `dst`.
    pub fn run(&mut self, req: &Plan<'_>) -> JobResult<Copied> {
        let (src_comps, dst_comps) = (&req.src.comps, &req.dst.comps);
        let Some((src_name, src_parents)) = src_comps.split_last() else {
            return Err(JobError::Failed(format!(
                "{}: cannot copy a whole tier; name a file or directory in it",
                req.src
            )));
        };
        let src_dir = Self::walk(self.src, src_parents)?;
        let src_meta = self
            .src
            .stat(&src_dir, src_name)
            .map_err(|e| fail(req.src.text, e))?
            .ok_or_else(|| JobError::Failed(format!("{}: no such file or directory", req.src)))?;

        let (dst_dir, dst_name, dst_path) = match dst_comps.split_last() {
            None => (
                Self::walk(self.dst, &[])?,
                src_name.to_os_string(),
                join(self.dst.label(), src_name),
            ),
            Some((last, parents)) => {
                let parent = Self::walk(self.dst, parents)?;
                match self
                    .dst
                    .stat(&parent, last)
                    .map_err(|e| fail(req.dst.text, e))?
                {
                    Some(m) if m.kind == Kind::Dir => (
                        self.dst
                            .child_dir(&parent, last)
                            .map_err(|e| fail(req.dst.text, e))?,
                        src_name.to_os_string(),
                        join(req.dst.text, src_name),
                    ),
                    _ => (
                        parent,
                        last.to_os_string(),
                        req.dst.text.trim_end_matches('/').to_owned(),
                    ),
                }
            }
        };
        self.scan(&src_dir, src_name, &src_meta, req.src.text)?;
        self.copy(
            &src_dir,
            src_name,
            &src_meta,
            req.src.text,
            &dst_dir,
            &dst_name,
            &dst_path,
        )?;
        Ok(self.copied)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy(
        &mut self,
        sdir: &S::Dir,
        sname: &OsStr,
        meta: &Meta,
        spath: &str,
        ddir: &D::Dir,
        dname: &OsStr,
        dpath: &str,
    ) -> JobResult<()> {
        self.check_cancel()?;
        not_too_deep(spath)?;
        let existing = self.dst.stat(ddir, dname).map_err(|e| fail(dpath, e))?;
        match meta.kind {
            Kind::Dir => {
                let (sub_dst, created) = match existing {
                    Some(m) if m.kind == Kind::Dir => {
                        (self.dst.child_dir(ddir, dname).map_err(|e| fail(dpath, e))?, false)
                    }
                    Some(_) => {
                        return Err(JobError::Failed(format!(
                            "{dpath}: exists and is not a directory (cannot copy the directory {spath} over it)"
                        )))
                    }
                    None => {
                        let d = self.dst.mkdir(ddir, dname, meta).map_err(|e| fail(dpath, e))?;
                        self.copied.dirs += 1;
                        (d, true)
                    }
                };
                let filled = self.copy_entries(sdir, sname, spath, &sub_dst, dpath);
                if filled.is_err() && created {
                    // Leave no debris: an empty directory made by this job goes; one holding
                    // files that did arrive whole keeps them, with its proper mode.
                    if self.dst.remove(ddir, dname, true).is_ok() {
                        return filled;
                    }
                }
                let finished = self.dst.finish_dir(&sub_dst, meta).map_err(|e| fail(dpath, e));
                filled.and(finished)
            }
            Kind::File | Kind::Symlink => {
                if let Some(m) = &existing {
                    if m.kind == Kind::Dir {
                        return Err(JobError::Failed(format!("{dpath}: is a directory")));
                    }
                    if !self.force {
                        return Err(JobError::Failed(format!("{dpath}: already exists (use --force to replace it)")));
                    }
                }
                let tmp = self.tmp_name();
                let from = At {
                    dir: sdir,
                    name: sname,
                    path: spath,
                };
                let to = At {
                    dir: ddir,
                    name: &tmp,
                    path: dpath,
                };
                let made = self.make_aside(from, meta, to);
                let placed = made.and_then(|()| {
                    self.dst
                        .rename(ddir, &tmp, dname, self.force)
                        .map_err(|e| fail(dpath, e))
                });
                if let Err(e) = placed {
                    let _ = self.dst.remove(ddir, &tmp, false);
                    return Err(e);
                }
                if meta.kind == Kind::File && meta.nlink > 1 && !self.links.contains_key(&meta.id) {
                    if let Ok(k) = self.dst.key(ddir, dname) {
                        self.links.insert(meta.id, k);
                    }
                }
                self.state.files_done.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(JobError::Failed(format!(
                "{spath}: is a FIFO, socket or device; only files, directories and symlinks are copied"
            ))),
        }
    }

    /// Copies every entry of the source directory `sdir/sname` into `sub_dst`.
    fn copy_entries(
        &mut self,
        sdir: &S::Dir,
        sname: &OsStr,
        spath: &str,
        sub_dst: &D::Dir,
        dpath: &str,
    ) -> JobResult<()> {
        let sub_src = self
            .src
            .child_dir(sdir, sname)
            .map_err(|e| fail(spath, e))?;
        for n in self.src.list(&sub_src).map_err(|e| fail(spath, e))? {
            let sp = join(spath, &n);
            let Some(m) = self.src.stat(&sub_src, &n).map_err(|e| fail(&sp, e))? else {
                continue; // removed meanwhile
            };
            self.copy(&sub_src, &n, &m, &sp, sub_dst, &n, &join(dpath, &n))?;
        }
        Ok(())
    }

    /// Writes the copy of one file or symlink under the temporary name `tmp`.
    #[allow(clippy::too_many_arguments)]
    fn make_aside(
        &mut self,
        from: At<'_, S::Dir>,
        meta: &Meta,
        to: At<'_, D::Dir>,
    ) -> JobResult<()> {
        let (sdir, sname, spath) = (from.dir, from.name, from.path);
        let (ddir, tmp, dpath) = (to.dir, to.name, to.path);
        if meta.kind == Kind::Symlink {
            let target = self.src.readlink(sdir, sname).map_err(|e| fail(spath, e))?;
            self.dst
                .symlink(ddir, tmp, &target, meta)
                .map_err(|e| fail(dpath, e))?;
            self.copied.symlinks += 1;
            return Ok(());
        }
        if meta.nlink > 1 {
            if let Some(key) = self.links.get(&meta.id) {
                self.dst.link(key, ddir, tmp).map_err(|e| fail(dpath, e))?;
                self.state
                    .bytes_done
                    .fetch_add(meta.size, Ordering::Relaxed);
                return Ok(());
            }
        }
        let input = self
            .src
            .open_read(sdir, sname)
            .map_err(|e| fail(spath, e))?;
        let out = self
            .dst
            .create(ddir, tmp, meta)
            .map_err(|e| fail(dpath, e))?;
        let mut offset = 0u64;
        loop {
            self.check_cancel()?;
            let data = self
                .src
                .read_at(&input, offset, COPY_BLOCK)
                .map_err(|e| fail(spath, e))?;
            if data.is_empty() {
                break;
            }
            let n = data.len() as u64;
            self.counters.bytes(self.src.place(), OpKind::JobRead, n);
            self.dst
                .write_at(&out, offset, &data)
                .map_err(|e| fail(dpath, e))?;
            self.counters.bytes(self.dst.place(), OpKind::JobWrite, n);
            offset += data.len() as u64;
            self.state
                .bytes_done
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            self.copied.bytes += data.len() as u64;
        }
        self.dst.finish(&out, meta).map_err(|e| fail(dpath, e))?;
        self.copied.files += 1;
        Ok(())
    }
}

/// Removes `name` (a whole tree if a directory) from a tree: the `--move` half of a job.
pub fn remove_tree<T: Tree>(
    tree: &T,
    dir: &T::Dir,
    name: &OsStr,
    is_dir: bool,
    path: &str,
) -> JobResult<()> {
    if is_dir {
        not_too_deep(path)?;
        let sub = tree.child_dir(dir, name).map_err(|e| fail(path, e))?;
        for n in tree.list(&sub).map_err(|e| fail(path, e))? {
            let p = join(path, &n);
            let m = tree.stat(&sub, &n).map_err(|e| fail(&p, e))?;
            if let Some(m) = m {
                remove_tree(tree, &sub, &n, m.kind == Kind::Dir, &p)?;
            }
        }
    }
    tree.remove(dir, name, is_dir).map_err(|e| fail(path, e))
}

/// A whole push or pull: copy, then (with `--move`) remove the source.
pub fn run_copy<S: Tree, D: Tree>(
    src: &S,
    dst: &D,
    req: &Plan<'_>,
    state: &JobState,
    counters: &Counters,
    job_id: u64,
) -> JobResult<Copied> {
    let copied = Copier::new(src, dst, state, counters, req.force, job_id).run(req)?;
    if req.move_source {
        if let Some((name, parents)) = req.src.comps.split_last() {
            let dir = Copier::<S, D>::walk(src, parents)?;
            let is_dir = src
                .stat(&dir, name)
                .map_err(|e| fail(req.src.text, e))?
                .is_some_and(|m| m.kind == Kind::Dir);
            remove_tree(src, &dir, name, is_dir, req.src.text).map_err(|e| match e {
                JobError::Failed(m) => {
                    JobError::Failed(format!("copied, but removing the source failed: {m}"))
                }
                c => c,
            })?;
        }
    }
    Ok(copied)
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
