//! `DiskTier`: `vdisk/` as a passthrough onto a host directory that it never leaves.
//!
//! Every known inode holds an `O_PATH | O_NOFOLLOW` fd; every operation is a `*at` call on the
//! parent's fd with a single checked name (or `AT_EMPTY_PATH` on the inode's own fd), so no
//! host path string is ever resolved: a `..`, a symlink in the disk dir or a directory renamed
//! on the host cannot make the daemon act outside the disk dir.
//!
//! Inode ids: a host inode on the disk dir's own device keeps its host number as id (stable,
//! and what `readdir` shows agrees with `stat`); one on another device (a mount inside the
//! disk dir) gets a counter id with bit 55 set. Id 0 is the disk dir itself. Known inodes are
//! counted by kernel lookups and dropped at `forget`, so memory does not grow with files the
//! kernel no longer holds.

pub mod at;
mod export;
mod xattr;

use std::collections::HashMap;
use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::node::{killed_mode, Attr, Kind, SetAttr};
use crate::ram::XattrSet;
use crate::sync::{Mutex, ShardedMap};
use at::cvt;

/// The id of the disk dir itself.
pub const ROOT_ID: u64 = 0;
const FOREIGN_BIT: u64 = 1 << 55;
const SHARDS: usize = 16;

/// An inode's way back to the host: an `O_PATH` fd while one is cached, and a host file
/// handle to reopen it by when the fd was given back to stay under the open-file limit.
#[derive(Debug)]
struct Slot {
    /// `None`: no handle could be had (another mount, a filesystem without handles); the
    /// fd is then pinned.
    handle: Option<Box<[u8]>>,
    fd: Option<Arc<OwnedFd>>,
    /// Of a symlink: the directory and name it was last seen under. Its own extended
    /// attributes can be reached only through them (the calls refuse an `O_PATH` fd).
    seen_at: Option<(u64, OsString)>,
}

#[derive(Debug)]
pub struct Node {
    pub id: u64,
    pub kind: Kind,
    slot: Mutex<Slot>,
    /// Kernel references; changed only under the shard's write lock.
    lookups: AtomicU64,
}

/// A node with its fd open for the duration of one operation.
#[derive(Debug)]
pub struct Held {
    node: Arc<Node>,
    pub fd: Arc<OwnedFd>,
}

impl std::ops::Deref for Held {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.node
    }
}

impl Held {
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The host's file handle for the inode behind `fd` and the id of its mount.
fn handle_of(fd: BorrowedFd<'_>) -> Option<(Box<[u8]>, i32)> {
    let header = std::mem::size_of::<libc::file_handle>();
    let mut buf = vec![0u64; (header + libc::MAX_HANDLE_SZ as usize).div_ceil(8)];
    let fh = buf.as_mut_ptr().cast::<libc::file_handle>();
    let mut mount_id = 0;
    // SAFETY: buf is aligned and large enough for the header plus MAX_HANDLE_SZ bytes.
    unsafe {
        (*fh).handle_bytes = libc::MAX_HANDLE_SZ as u32;
        if libc::name_to_handle_at(
            fd.as_raw_fd(),
            c"".as_ptr(),
            fh,
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        ) != 0
        {
            return None;
        }
        let len = header + (*fh).handle_bytes as usize;
        let bytes = std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len);
        Some((bytes.into(), mount_id))
    }
}

#[derive(Debug)]
pub struct DiskTier {
    root: Arc<Node>,
    root_fd: Arc<OwnedFd>,
    /// A plain (not `O_PATH`) fd of the disk dir: `open_by_handle_at` wants one.
    mount_fd: OwnedFd,
    root_dev: u64,
    root_ino: u64,
    nodes: ShardedMap<Node>,
    foreign: Mutex<HashMap<(u64, u64), u64>>,
    next_foreign: AtomicU64,
    /// Whether the daemon runs as root and so must hand new files to the caller's uid/gid.
    as_root: bool,
    /// Mount id of the disk dir: handles from it can be opened through the root fd.
    root_mount: i32,
    /// Cached node fds, and how many may stay open before some are given back.
    open_fds: AtomicUsize,
    fd_budget: usize,
    /// Where the next eviction sweep starts, so sweeps spread over the shards.
    sweep: AtomicUsize,
    /// Host handles of inodes the kernel let go of, for file handles opened after.
    retired: Mutex<export::Retired>,
}

fn cstr(bytes: &[u8]) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub fn kind_of(mode: u32) -> Kind {
    Kind::from_mode(mode).unwrap_or(Kind::File)
}

/// A directory stream over a host directory, for `readdir` with resumable offsets.
#[derive(Debug)]
pub struct DirStream {
    dir: *mut libc::DIR,
    /// The offset the stream stands at, so sequential reads need no seek.
    pos: i64,
}

// SAFETY: a DIR* may move between threads; every use is behind a Mutex.
unsafe impl Send for DirStream {}

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: dir came from fdopendir and is closed once.
        unsafe { libc::closedir(self.dir) };
    }
}

/// One host directory entry: `ino` is the host's, `next` the offset to resume after it.
#[derive(Debug, Clone)]
pub struct HostEntry {
    pub name: OsString,
    pub host_ino: u64,
    pub kind: Kind,
    pub next: i64,
}

impl DirStream {
    /// A stream over an open (not `O_PATH`) directory fd, which it takes over.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<DirStream> {
        use std::os::fd::IntoRawFd;
        let raw = fd.into_raw_fd();
        // SAFETY: fdopendir takes ownership of raw on success; on failure we close it.
        let dir = unsafe { libc::fdopendir(raw) };
        if dir.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: raw is still ours when fdopendir failed.
            unsafe { libc::close(raw) };
            return Err(e);
        }
        Ok(DirStream { dir, pos: 0 })
    }

    /// Up to `max` entries starting at `offset` (0 = the beginning).
    pub fn read(&mut self, offset: i64, max: usize) -> io::Result<Vec<HostEntry>> {
        // SAFETY: dir is a live stream; readdir's result is valid until the next call.
        unsafe {
            if offset != self.pos {
                if offset == 0 {
                    libc::rewinddir(self.dir);
                } else {
                    libc::seekdir(self.dir, offset);
                }
                self.pos = offset;
            }
            let mut out = Vec::new();
            while out.len() < max {
                *libc::__errno_location() = 0;
                let ent = libc::readdir64(self.dir);
                if ent.is_null() {
                    let err = *libc::__errno_location();
                    if err != 0 {
                        return Err(io::Error::from_raw_os_error(err));
                    }
                    break;
                }
                let name = CStr::from_ptr((*ent).d_name.as_ptr());
                let kind = match (*ent).d_type {
                    libc::DT_DIR => Kind::Dir,
                    libc::DT_LNK => Kind::Symlink,
                    libc::DT_FIFO => Kind::Fifo,
                    libc::DT_SOCK => Kind::Socket,
                    libc::DT_CHR => Kind::CharDev,
                    libc::DT_BLK => Kind::BlockDev,
                    _ => Kind::File,
                };
                self.pos = libc::telldir(self.dir);
                out.push(HostEntry {
                    name: OsString::from_vec(name.to_bytes().to_vec()),
                    host_ino: (*ent).d_ino,
                    kind,
                    next: self.pos,
                });
            }
            Ok(out)
        }
    }
}

impl DiskTier {
    /// Opens the disk dir; fails if it is not a directory.
    pub fn new(dir: &Path) -> io::Result<DiskTier> {
        Self::with_atime(dir, true)
    }

    /// `atime: false` (a `noatime` mount): the tier works on a private view of the disk dir
    /// on which nothing dates host files, not even the kernel's own passthrough reads (they
    /// go by the host mount's rules, whatever the daemon's fd says). Where that view cannot
    /// be had (not root), one line says so and the disk dir serves as it is.
    pub fn with_atime(dir: &Path, atime: bool) -> io::Result<DiskTier> {
        let c = cstr(dir.as_os_str().as_bytes())?;
        let view = (!atime).then(|| at::noatime_view(&c)).and_then(|r| {
            r.map_err(|e| {
                log::warn!("noatime: host files may still be dated on reads: {e}");
            })
            .ok()
        });
        let fd = match view {
            Some(fd) => fd,
            // SAFETY: c is a valid C string; the fd is owned right away.
            None => unsafe {
                use std::os::fd::FromRawFd;
                OwnedFd::from_raw_fd(cvt(libc::open(
                    c.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                ))?)
            },
        };
        let st = at::stat_fd(fd.as_fd())?;
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        let root_mount = handle_of(fd.as_fd()).map(|(_, m)| m).unwrap_or(-1);
        let mount_fd = at::open_at(fd.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        Ok(DiskTier {
            mount_fd,
            root_fd: Arc::new(fd),
            root: Arc::new(Node {
                id: ROOT_ID,
                kind: Kind::Dir,
                slot: Mutex::new(Slot {
                    handle: None,
                    fd: None,
                    seen_at: None,
                }),
                lookups: AtomicU64::new(1),
            }),
            root_dev: st.st_dev,
            root_ino: st.st_ino,
            nodes: ShardedMap::new(SHARDS),
            foreign: Mutex::new(HashMap::new()),
            next_foreign: AtomicU64::new(1),
            as_root,
            root_mount,
            open_fds: AtomicUsize::new(0),
            fd_budget: fd_budget(),
            sweep: AtomicUsize::new(0),
            retired: Mutex::new(export::Retired::default()),
        })
    }

    /// The disk dir's own fd, for walks that do not go through kernel inodes (control jobs).
    pub fn root_fd(&self) -> BorrowedFd<'_> {
        self.root_fd.as_fd()
    }

    /// Node fds open right now (for tests and stats).
    pub fn open_fds(&self) -> usize {
        self.open_fds.load(Ordering::Relaxed)
    }

    /// The node's fd, reopened from its handle if it was given back.
    fn fd_for(&self, node: &Node) -> io::Result<Arc<OwnedFd>> {
        // The slot lock is a leaf (shard locks are held around it): copy the handle out and
        // reopen without it.
        let buf = {
            let slot = node.slot.lock();
            if let Some(fd) = &slot.fd {
                return Ok(fd.clone());
            }
            slot.handle
                .clone()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ESTALE))?
        };
        let fd = Arc::new(self.open_handle(&buf)?);
        let mut slot = node.slot.lock();
        if let Some(theirs) = &slot.fd {
            // Another thread reopened it meanwhile: use that one; ours closes here.
            return Ok(theirs.clone());
        }
        slot.fd = Some(fd.clone());
        drop(slot);
        self.open_fds.fetch_add(1, Ordering::Relaxed);
        self.give_back_fds();
        Ok(fd)
    }

    /// Over budget: closes cached fds that no operation holds, of nodes that can be reopened
    /// by handle, until well under the budget.
    fn give_back_fds(&self) {
        if self.open_fds.load(Ordering::Relaxed) <= self.fd_budget {
            return;
        }
        let target = self.fd_budget * 7 / 8;
        let start = self.sweep.fetch_add(1, Ordering::Relaxed);
        for i in 0..SHARDS {
            let shard = self.nodes.shard((start + i) as u64).read();
            for node in shard.values() {
                if self.open_fds.load(Ordering::Relaxed) <= target {
                    return;
                }
                let Some(mut slot) = node.slot.try_lock() else {
                    continue;
                };
                if slot.handle.is_some()
                    && slot.fd.as_ref().is_some_and(|f| Arc::strong_count(f) == 1)
                {
                    slot.fd = None;
                    self.open_fds.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Whether new host entries must be handed to the caller's uid/gid.
    pub fn as_root(&self) -> bool {
        self.as_root
    }

    /// A known inode with its fd open, or ENOENT if the kernel has forgotten it.
    pub fn node(&self, id: u64) -> io::Result<Held> {
        if id == ROOT_ID {
            return Ok(Held {
                node: self.root.clone(),
                fd: self.root_fd.clone(),
            });
        }
        let node = self
            .nodes
            .get(id)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let fd = self.fd_for(&node)?;
        Ok(Held { node, fd })
    }

    /// The kind of a known inode, without opening it.
    pub fn kind(&self, id: u64) -> Option<Kind> {
        if id == ROOT_ID {
            return Some(Kind::Dir);
        }
        self.nodes.get(id).map(|n| n.kind)
    }

    fn id_for(&self, st: &libc::stat) -> u64 {
        if st.st_dev == self.root_dev && st.st_ino < FOREIGN_BIT && st.st_ino != ROOT_ID {
            return st.st_ino;
        }
        *self
            .foreign
            .lock()
            .entry((st.st_dev, st.st_ino))
            .or_insert_with(|| FOREIGN_BIT | self.next_foreign.fetch_add(1, Ordering::Relaxed))
    }

    /// The id the mount gave the host inode `st` names, if it may have given one: what a job
    /// that changed it behind the kernel's back tells the kernel to drop.
    pub fn known_id(&self, st: &libc::stat) -> Option<u64> {
        if st.st_dev == self.root_dev && st.st_ino == self.root_ino {
            return Some(ROOT_ID);
        }
        if st.st_dev == self.root_dev && st.st_ino < FOREIGN_BIT && st.st_ino != ROOT_ID {
            return Some(st.st_ino);
        }
        self.foreign.lock().get(&(st.st_dev, st.st_ino)).copied()
    }

    /// The id `readdir` shows for a host entry.
    pub fn entry_id(&self, host_ino: u64) -> u64 {
        if host_ino < FOREIGN_BIT {
            host_ino
        } else {
            FOREIGN_BIT
        }
    }

    /// Registers an O_PATH fd as a looked-up inode (one more kernel reference).
    fn remember(&self, fd: OwnedFd) -> io::Result<Attr> {
        let st = at::stat_fd(fd.as_fd())?;
        let id = self.id_for(&st);
        let handle = handle_of(fd.as_fd())
            .filter(|(_, m)| *m == self.root_mount)
            .map(|(h, _)| h);
        let mut shard = self.nodes.shard(id).write();
        match shard.get(&id) {
            Some(node) => {
                node.lookups.fetch_add(1, Ordering::Relaxed);
                let mut slot = node.slot.lock();
                // Same number, other handle: the host reused the number of an inode gone
                // while its fd was given back. Point the node at the new one.
                if slot.handle.is_some() && handle.is_some() && slot.handle != handle {
                    slot.handle = handle;
                    if slot.fd.replace(Arc::new(fd)).is_none() {
                        self.open_fds.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // Otherwise keep the old fd; `fd` closes here.
            }
            None => {
                shard.insert(
                    id,
                    Arc::new(Node {
                        id,
                        kind: kind_of(st.st_mode),
                        slot: Mutex::new(Slot {
                            handle,
                            fd: Some(Arc::new(fd)),
                            seen_at: None,
                        }),
                        lookups: AtomicU64::new(1),
                    }),
                );
                self.open_fds.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(shard);
        self.give_back_fds();
        Ok(attr_of(id, &st))
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> io::Result<Attr> {
        let p = self.node(parent)?;
        let c = at::name(name)?;
        let fd = at::open_path_at(p.fd.as_fd(), &c)?;
        let a = self.remember(fd)?;
        self.seen(&a, parent, &c);
        Ok(a)
    }

    /// Drops `n` kernel references; the inode's fd closes with the last.
    pub fn forget(&self, id: u64, n: u64) {
        if id == ROOT_ID {
            return;
        }
        let mut shard = self.nodes.shard(id).write();
        if let Some(node) = shard.get(&id) {
            let left = node.lookups.load(Ordering::Relaxed).saturating_sub(n);
            node.lookups.store(left, Ordering::Relaxed);
            if left == 0 {
                let mut slot = node.slot.lock();
                if slot.fd.take().is_some() {
                    self.open_fds.fetch_sub(1, Ordering::Relaxed);
                }
                // The slot lock is a leaf: the handle is kept once it is let go.
                let handle = slot.handle.clone();
                drop(slot);
                if let Some(h) = handle {
                    self.retired.lock().keep(id, h);
                }
                // Operations in flight keep their Arc, and so the fd, until they finish.
                shard.remove(&id);
            }
        }
    }

    pub fn getattr(&self, id: u64) -> io::Result<Attr> {
        let n = self.node(id)?;
        Ok(attr_of(id, &at::stat_fd(n.fd.as_fd())?))
    }

    /// Applies a setattr; `file` is an open handle for the inode, when the kernel gave one.
    pub fn setattr(&self, id: u64, set: &SetAttr, file: Option<&File>) -> io::Result<Attr> {
        let n = self.node(id)?;
        let fd = n.fd.as_fd();
        if let Some(size) = set.size {
            let reopened;
            let f = match file {
                Some(f) => f,
                None if n.kind == Kind::Dir => {
                    return Err(io::Error::from_raw_os_error(libc::EISDIR))
                }
                None => {
                    reopened = at::reopen(fd, libc::O_WRONLY)?;
                    &reopened
                }
            };
            f.set_len(size)?;
        }
        if set.uid.is_some() || set.gid.is_some() {
            at::chown_fd(fd, set.uid.unwrap_or(u32::MAX), set.gid.unwrap_or(u32::MAX))?;
        }
        if let Some(perm) = set.perm {
            if n.kind == Kind::Symlink {
                return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
            }
            at::chmod_fd(fd, u32::from(perm))?;
        }
        if set.atime.is_some() || set.mtime.is_some() {
            at::utimes_fd(fd, set.atime, set.mtime)?;
        }
        let st = at::stat_fd(fd)?;
        // The daemon is root on the host, where nothing drops these bits for it.
        let kind = st.st_mode & libc::S_IFMT;
        if set.kill_privs && kind != libc::S_IFDIR && kind != libc::S_IFLNK {
            let mode = st.st_mode & 0o7777;
            let kept = killed_mode(mode, set.kill_sgid);
            if kept != mode {
                at::chmod_fd(fd, kept)?;
                return Ok(attr_of(id, &at::stat_fd(fd)?));
            }
        }
        Ok(attr_of(id, &st))
    }

    /// Opens a file for I/O. FIFOs and devices are opened non-blocking so a daemon thread
    /// never waits on one.
    pub fn open(&self, id: u64, flags: i32) -> io::Result<File> {
        let n = self.node(id)?;
        let extra = match n.kind {
            Kind::File | Kind::Dir => 0,
            _ => libc::O_NONBLOCK,
        };
        at::reopen(n.fd.as_fd(), flags | extra)
    }

    pub fn opendir(&self, id: u64) -> io::Result<DirStream> {
        at::dir_stream(self.node(id)?.fd.as_fd())
    }

    /// Hands a new host inode to the caller's uid/gid when the daemon runs as root. In a
    /// setgid directory the host already gave it the directory's group: keep that. The
    /// chown drops setuid and setgid from a file; where the caller asked for them (`mode`;
    /// the kernel has already taken away what it may not have) they are put back.
    fn give(
        &self,
        fd: BorrowedFd<'_>,
        parent: &Held,
        uid: u32,
        gid: u32,
        mode: u32,
    ) -> io::Result<()> {
        if !self.as_root {
            return Ok(());
        }
        let pst = at::stat_fd(parent.fd.as_fd())?;
        let gid = if pst.st_mode & libc::S_ISGID != 0 {
            u32::MAX
        } else {
            gid
        };
        at::chown_fd(fd, uid, gid)?;
        // The chown dropped them; the permission bits stay as the host made them (a
        // default ACL may have masked them).
        let keep = mode & (libc::S_ISUID | libc::S_ISGID);
        if keep != 0 {
            let now = at::stat_fd(fd)?.st_mode & 0o7777;
            at::chmod_fd(fd, now | keep)?;
        }
        Ok(())
    }

    /// Finishes a create: owner, then registers the inode with one kernel reference. On
    /// failure the new entry is removed again.
    /// `mode`: of a file or node, what `give` keeps (0 for a directory or symlink).
    fn finish(
        &self,
        p: &Held,
        c: &CStr,
        (uid, gid, mode): (u32, u32, u32),
        dir: bool,
    ) -> io::Result<Attr> {
        let made = at::open_path_at(p.fd.as_fd(), c).and_then(|fd| {
            self.give(fd.as_fd(), p, uid, gid, mode)?;
            Ok(fd)
        });
        match made {
            Ok(fd) => {
                let a = self.remember(fd)?;
                self.seen(&a, p.id, c);
                Ok(a)
            }
            Err(e) => {
                let _ = at::unlink_at(p.fd.as_fd(), c, dir);
                Err(e)
            }
        }
    }

    pub fn mknod(
        &self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
        uid: u32,
        gid: u32,
    ) -> io::Result<Attr> {
        let p = self.node(parent)?;
        let c = at::name(name)?;
        at::mknod_at(p.fd.as_fd(), &c, mode, rdev)?;
        self.finish(&p, &c, (uid, gid, mode), false)
    }

    pub fn mkdir(
        &self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> io::Result<Attr> {
        let p = self.node(parent)?;
        let c = at::name(name)?;
        at::mkdir_at(p.fd.as_fd(), &c, mode)?;
        self.finish(&p, &c, (uid, gid, 0), true)
    }

    pub fn symlink(
        &self,
        parent: u64,
        name: &OsStr,
        target: &Path,
        uid: u32,
        gid: u32,
    ) -> io::Result<Attr> {
        let p = self.node(parent)?;
        let c = at::name(name)?;
        at::symlink_at(target.as_os_str(), p.fd.as_fd(), &c)?;
        self.finish(&p, &c, (uid, gid, 0), false)
    }

    /// Creates and opens a regular file; `flags` are the open flags of the caller.
    pub fn create(
        &self,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
        uid: u32,
        gid: u32,
    ) -> io::Result<(Attr, File)> {
        let p = self.node(parent)?;
        let c = at::name(name)?;
        let flags = (flags & !(libc::O_NOCTTY | libc::O_PATH)) | libc::O_CREAT | libc::O_EXCL;
        let file = File::from(at::open_at(p.fd.as_fd(), &c, flags, mode)?);
        if let Err(e) = self.give(file.as_fd(), &p, uid, gid, mode) {
            let _ = at::unlink_at(p.fd.as_fd(), &c, false);
            return Err(e);
        }
        // The O_PATH fd that keeps the inode known comes from the open file itself, so it is
        // the very inode created even if the name was swapped meanwhile.
        let path_fd = OwnedFd::from(at::reopen(file.as_fd(), libc::O_PATH)?);
        let attr = self.remember(path_fd)?;
        Ok((attr, file))
    }

    pub fn unlink(&self, parent: u64, name: &OsStr) -> io::Result<()> {
        at::unlink_at(self.node(parent)?.fd.as_fd(), &at::name(name)?, false)
    }

    pub fn rmdir(&self, parent: u64, name: &OsStr) -> io::Result<()> {
        at::unlink_at(self.node(parent)?.fd.as_fd(), &at::name(name)?, true)
    }

    pub fn rename(
        &self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
    ) -> io::Result<()> {
        let p = self.node(parent)?;
        let np = self.node(newparent)?;
        let (c, nc) = (at::name(name)?, at::name(newname)?);
        at::rename_at(p.fd.as_fd(), &c, np.fd.as_fd(), &nc, flags)?;
        self.moved(&np, &nc);
        if flags & libc::RENAME_EXCHANGE != 0 {
            self.moved(&p, &c);
        }
        Ok(())
    }

    pub fn link(&self, id: u64, newparent: u64, newname: &OsStr) -> io::Result<Attr> {
        let n = self.node(id)?;
        let np = self.node(newparent)?;
        let nc = at::name(newname)?;
        at::link_fd(n.fd.as_fd(), np.fd.as_fd(), &nc)?;
        let a = self.remember(at::open_path_at(np.fd.as_fd(), &nc)?)?;
        self.seen(&a, newparent, &nc);
        Ok(a)
    }

    pub fn readlink(&self, id: u64) -> io::Result<Vec<u8>> {
        at::readlink_fd(self.node(id)?.fd.as_fd())
    }

    pub fn statfs(&self) -> io::Result<libc::statvfs> {
        at::statvfs_fd(self.root_fd())
    }
}

/// What `stat` shows of a host inode, under the tier's id for it.
pub fn attr_of(id: u64, st: &libc::stat) -> Attr {
    Attr {
        ino: id,
        kind: kind_of(st.st_mode),
        perm: (st.st_mode & 0o7777) as u16,
        nlink: st.st_nlink as u32,
        uid: st.st_uid,
        gid: st.st_gid,
        size: st.st_size as u64,
        allocated: st.st_blocks as u64 * 512,
        rdev: st.st_rdev as u32,
        atime: at::to_time(st.st_atime, st.st_atime_nsec),
        mtime: at::to_time(st.st_mtime, st.st_mtime_nsec),
        ctime: at::to_time(st.st_ctime, st.st_ctime_nsec),
        crtime: at::to_time(st.st_ctime, st.st_ctime_nsec),
    }
}

/// How many node fds may stay open: half the open-file limit, leaving the rest to the files
/// users open. `MAVFS_FD_BUDGET` sets it (small values exercise the reopening path).
fn fd_budget() -> usize {
    if let Some(n) = std::env::var("MAVFS_FD_BUDGET")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    // SAFETY: getrlimit fills the struct we pass.
    let soft = unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur as usize
        } else {
            1024
        }
    };
    (soft / 2).max(128)
}

#[cfg(test)]
mod tests;
