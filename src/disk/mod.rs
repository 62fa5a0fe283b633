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

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ram::{check_name, Attr, Kind, SetAttr, TimeSet, XattrSet};
use crate::sync::{Mutex, ShardedMap};

/// The id of the disk dir itself.
pub const ROOT_ID: u64 = 0;
const FOREIGN_BIT: u64 = 1 << 55;
const SHARDS: usize = 16;

#[derive(Debug)]
pub struct Node {
    pub id: u64,
    pub kind: Kind,
    fd: OwnedFd,
    /// Kernel references; changed only under the shard's write lock.
    lookups: AtomicU64,
}

impl Node {
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[derive(Debug)]
pub struct DiskTier {
    root: Arc<Node>,
    root_dev: u64,
    nodes: ShardedMap<Node>,
    foreign: Mutex<HashMap<(u64, u64), u64>>,
    next_foreign: AtomicU64,
    /// Whether the daemon runs as root and so must hand new files to the caller's uid/gid.
    as_root: bool,
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// A name from the kernel or a control request: one component, never `.`/`..`.
fn checked(name: &OsStr) -> io::Result<CString> {
    check_name(name).map_err(|e| {
        io::Error::from_raw_os_error(match e {
            crate::ram::StoreError::NameTooLong => libc::ENAMETOOLONG,
            _ => libc::EINVAL,
        })
    })?;
    cstr(name)
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

const EMPTY: &CStr = c"";

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: fstatat writes a stat into the zeroed buffer; EMPTY is a valid C string.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt(libc::fstatat(
            fd,
            EMPTY.as_ptr(),
            &mut st,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        ))?;
        Ok(st)
    }
}

fn to_time(sec: i64, nsec: i64) -> SystemTime {
    if sec >= 0 {
        UNIX_EPOCH + Duration::new(sec as u64, nsec as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(sec.unsigned_abs()) + Duration::from_nanos(nsec as u64)
    }
}

fn to_timespec(t: Option<TimeSet>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(TimeSet::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(TimeSet::At(t)) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => libc::timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos() as i64,
            },
            Err(e) => {
                let d = e.duration();
                let mut sec = -(d.as_secs() as i64);
                let mut nsec = -(d.subsec_nanos() as i64);
                if nsec < 0 {
                    sec -= 1;
                    nsec += 1_000_000_000;
                }
                libc::timespec {
                    tv_sec: sec,
                    tv_nsec: nsec,
                }
            }
        },
    }
}

pub fn kind_of(mode: u32) -> Kind {
    Kind::from_mode(mode).unwrap_or(Kind::File)
}

/// The `/proc/self/fd/N` path of an fd: reopening through it reaches exactly that inode.
fn proc_path(fd: RawFd) -> CString {
    CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in a formatted path")
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
        let c = cstr(dir.as_os_str())?;
        // SAFETY: c is a valid C string; the fd is owned right away.
        let fd = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            ))?)
        };
        let st = fstat(fd.as_raw_fd())?;
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        Ok(DiskTier {
            root: Arc::new(Node {
                id: ROOT_ID,
                kind: Kind::Dir,
                fd,
                lookups: AtomicU64::new(1),
            }),
            root_dev: st.st_dev,
            nodes: ShardedMap::new(SHARDS),
            foreign: Mutex::new(HashMap::new()),
            next_foreign: AtomicU64::new(1),
            as_root,
        })
    }

    /// A known inode, or ENOENT if the kernel has forgotten it.
    pub fn node(&self, id: u64) -> io::Result<Arc<Node>> {
        if id == ROOT_ID {
            return Ok(self.root.clone());
        }
        self.nodes
            .get(id)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
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

    /// The id `readdir` shows for a host entry of directory `dir`.
    pub fn entry_id(&self, host_ino: u64) -> u64 {
        if host_ino < FOREIGN_BIT {
            host_ino
        } else {
            FOREIGN_BIT
        }
    }

    fn attr(&self, id: u64, st: &libc::stat) -> Attr {
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
            atime: to_time(st.st_atime, st.st_atime_nsec),
            mtime: to_time(st.st_mtime, st.st_mtime_nsec),
            ctime: to_time(st.st_ctime, st.st_ctime_nsec),
            crtime: to_time(st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// Registers an O_PATH fd as a looked-up inode (one more kernel reference).
    fn remember(&self, fd: OwnedFd) -> io::Result<Attr> {
        let st = fstat(fd.as_raw_fd())?;
        let id = self.id_for(&st);
        let mut shard = self.nodes.shard(id).write();
        match shard.get_mut(&id) {
            Some(node) => {
                // Already known: keep the old fd, count the reference; `fd` closes here.
                node.lookups.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                shard.insert(
                    id,
                    Arc::new(Node {
                        id,
                        kind: kind_of(st.st_mode),
                        fd,
                        lookups: AtomicU64::new(1),
                    }),
                );
            }
        }
        Ok(self.attr(id, &st))
    }

    fn open_path(&self, parent: &Node, name: &CStr) -> io::Result<OwnedFd> {
        // SAFETY: name is a valid C string; the fd is owned right away.
        unsafe {
            Ok(OwnedFd::from_raw_fd(cvt(libc::openat(
                parent.fd(),
                name.as_ptr(),
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            ))?))
        }
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> io::Result<Attr> {
        let p = self.node(parent)?;
        let c = checked(name)?;
        let fd = self.open_path(&p, &c)?;
        self.remember(fd)
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
                // Operations in flight keep their Arc, and so the fd, until they finish.
                shard.remove(&id);
            }
        }
    }

    /// Number of inodes the kernel currently holds references to (for tests and stats).
    pub fn known_inodes(&self) -> usize {
        self.nodes.len()
    }

    pub fn getattr(&self, id: u64) -> io::Result<Attr> {
        let n = self.node(id)?;
        Ok(self.attr(id, &fstat(n.fd())?))
    }

    /// Applies a setattr; `file` is an open handle for the inode, when the kernel gave one.
    pub fn setattr(&self, id: u64, set: &SetAttr, file: Option<&File>) -> io::Result<Attr> {
        let n = self.node(id)?;
        let fd = n.fd();
        if let Some(size) = set.size {
            match file {
                Some(f) => cvt(unsafe { libc::ftruncate(f.as_raw_fd(), size as i64) })?,
                None => {
                    if n.kind == Kind::Dir {
                        return Err(io::Error::from_raw_os_error(libc::EISDIR));
                    }
                    let f = self.reopen(&n, libc::O_WRONLY)?;
                    // SAFETY: plain syscall on an fd we own.
                    cvt(unsafe { libc::ftruncate(f.as_raw_fd(), size as i64) })?
                }
            };
        }
        if set.uid.is_some() || set.gid.is_some() {
            let uid = set.uid.unwrap_or(u32::MAX);
            let gid = set.gid.unwrap_or(u32::MAX);
            // SAFETY: EMPTY is a valid C string; AT_EMPTY_PATH acts on fd itself.
            cvt(unsafe {
                libc::fchownat(
                    fd,
                    EMPTY.as_ptr(),
                    uid,
                    gid,
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                )
            })?;
        }
        if let Some(perm) = set.perm {
            self.chmod(&n, u32::from(perm))?;
        }
        if set.atime.is_some() || set.mtime.is_some() {
            let times = [to_timespec(set.atime), to_timespec(set.mtime)];
            // SAFETY: times has two entries as utimensat requires.
            cvt(unsafe {
                libc::utimensat(
                    fd,
                    EMPTY.as_ptr(),
                    times.as_ptr(),
                    libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
                )
            })?;
        }
        Ok(self.attr(id, &fstat(fd)?))
    }

    fn chmod(&self, n: &Node, mode: u32) -> io::Result<()> {
        if n.kind == Kind::Symlink {
            // Linux symlinks have no mode of their own.
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        // SAFETY: fchmodat2 with AT_EMPTY_PATH acts on the O_PATH fd itself.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fchmodat2,
                n.fd(),
                EMPTY.as_ptr(),
                mode,
                libc::AT_EMPTY_PATH,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ENOSYS) {
            return Err(err);
        }
        // Older kernels: the magic link reaches the same inode and is not a symlink here.
        let p = proc_path(n.fd());
        // SAFETY: p is a valid C string.
        cvt(unsafe { libc::chmod(p.as_ptr(), mode) }).map(|_| ())
    }

    /// Opens an inode for I/O through its magic link (never a path in the disk dir).
    fn reopen(&self, n: &Node, flags: i32) -> io::Result<File> {
        let p = proc_path(n.fd());
        // O_NOFOLLOW would refuse the magic link itself; the inode behind it is no symlink.
        let flags = flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_NOFOLLOW)
            | libc::O_CLOEXEC;
        // SAFETY: p is a valid C string; the fd is owned right away.
        unsafe { Ok(File::from_raw_fd(cvt(libc::open(p.as_ptr(), flags))?)) }
    }

    /// Opens a file for reading or writing. FIFOs and devices are refused with ENXIO
    /// semantics left to the kernel: they are opened non-blocking so a daemon thread never
    /// waits on one.
    pub fn open(&self, id: u64, flags: i32) -> io::Result<File> {
        let n = self.node(id)?;
        let extra = match n.kind {
            Kind::File | Kind::Dir => 0,
            _ => libc::O_NONBLOCK,
        };
        self.reopen(&n, flags | extra)
    }

    pub fn opendir(&self, id: u64) -> io::Result<DirStream> {
        let n = self.node(id)?;
        // SAFETY: "." is a valid C string; the fd goes to fdopendir, which owns it.
        unsafe {
            let fd = cvt(libc::openat(
                n.fd(),
                c".".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            ))?;
            let dir = libc::fdopendir(fd);
            if dir.is_null() {
                let e = io::Error::last_os_error();
                libc::close(fd);
                return Err(e);
            }
            Ok(DirStream { dir, pos: 0 })
        }
    }

    /// Hands a new host inode to the caller's uid/gid when the daemon runs as root. In a
    /// setgid directory the host already gave it the directory's group: keep that.
    fn give(&self, fd: RawFd, parent: &Node, uid: u32, gid: u32) -> io::Result<()> {
        if !self.as_root {
            return Ok(());
        }
        let pst = fstat(parent.fd())?;
        let gid = if pst.st_mode & libc::S_ISGID != 0 {
            u32::MAX
        } else {
            gid
        };
        // SAFETY: EMPTY is a valid C string; AT_EMPTY_PATH acts on fd itself.
        cvt(unsafe {
            libc::fchownat(
                fd,
                EMPTY.as_ptr(),
                uid,
                gid,
                libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(|_| ())
    }

    /// Removes a just-made entry after a failure to finish making it.
    fn undo(&self, parent: &Node, name: &CStr, dir: bool) {
        let flag = if dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: name is a valid C string.
        unsafe { libc::unlinkat(parent.fd(), name.as_ptr(), flag) };
    }

    /// Finishes a create: owner, then registers the inode with one kernel reference.
    fn finish(&self, p: &Node, c: &CStr, uid: u32, gid: u32, dir: bool) -> io::Result<Attr> {
        let made = self.open_path(p, c).and_then(|fd| {
            self.give(fd.as_raw_fd(), p, uid, gid)?;
            Ok(fd)
        });
        match made {
            Ok(fd) => self.remember(fd),
            Err(e) => {
                self.undo(p, c, dir);
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
        let c = checked(name)?;
        // SAFETY: c is a valid C string.
        cvt(unsafe { libc::mknodat(p.fd(), c.as_ptr(), mode, u64::from(rdev)) })?;
        self.finish(&p, &c, uid, gid, false)
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
        let c = checked(name)?;
        // SAFETY: c is a valid C string.
        cvt(unsafe { libc::mkdirat(p.fd(), c.as_ptr(), mode) })?;
        self.finish(&p, &c, uid, gid, true)
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
        let c = checked(name)?;
        let t = cstr(target.as_os_str())?;
        // SAFETY: both are valid C strings.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), p.fd(), c.as_ptr()) })?;
        self.finish(&p, &c, uid, gid, false)
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
        let c = checked(name)?;
        let flags = (flags & !(libc::O_NOCTTY | libc::O_PATH))
            | libc::O_CREAT
            | libc::O_EXCL
            | libc::O_NOFOLLOW
            | libc::O_CLOEXEC;
        // SAFETY: c is a valid C string; the fd is owned right away.
        let file =
            unsafe { File::from_raw_fd(cvt(libc::openat(p.fd(), c.as_ptr(), flags, mode))?) };
        if self.as_root {
            let pst = fstat(p.fd())?;
            let gid = if pst.st_mode & libc::S_ISGID != 0 {
                u32::MAX
            } else {
                gid
            };
            // SAFETY: plain syscall on an fd we own.
            if let Err(e) = cvt(unsafe { libc::fchown(file.as_raw_fd(), uid, gid) }) {
                self.undo(&p, &c, false);
                return Err(e);
            }
        }
        // The O_PATH fd that keeps the inode known comes from the open file itself, so it is
        // the very inode created even if the name was swapped meanwhile.
        let path_fd = self.reopen_path(file.as_fd())?;
        let attr = self.remember(path_fd)?;
        Ok((attr, file))
    }

    fn reopen_path(&self, fd: std::os::fd::BorrowedFd<'_>) -> io::Result<OwnedFd> {
        let p = proc_path(fd.as_raw_fd());
        // SAFETY: p is a valid C string; the fd is owned right away.
        unsafe {
            Ok(OwnedFd::from_raw_fd(cvt(libc::open(
                p.as_ptr(),
                libc::O_PATH | libc::O_CLOEXEC,
            ))?))
        }
    }

    pub fn unlink(&self, parent: u64, name: &OsStr) -> io::Result<()> {
        self.remove(parent, name, 0)
    }

    pub fn rmdir(&self, parent: u64, name: &OsStr) -> io::Result<()> {
        self.remove(parent, name, libc::AT_REMOVEDIR)
    }

    fn remove(&self, parent: u64, name: &OsStr, flags: i32) -> io::Result<()> {
        let p = self.node(parent)?;
        let c = checked(name)?;
        // SAFETY: c is a valid C string.
        cvt(unsafe { libc::unlinkat(p.fd(), c.as_ptr(), flags) }).map(|_| ())
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
        let c = checked(name)?;
        let nc = checked(newname)?;
        // SAFETY: both names are valid C strings.
        cvt(unsafe { libc::renameat2(p.fd(), c.as_ptr(), np.fd(), nc.as_ptr(), flags) }).map(|_| ())
    }

    pub fn link(&self, id: u64, newparent: u64, newname: &OsStr) -> io::Result<Attr> {
        let n = self.node(id)?;
        let np = self.node(newparent)?;
        let nc = checked(newname)?;
        // SAFETY: names are valid C strings; AT_EMPTY_PATH links the fd's own inode.
        let r = unsafe {
            libc::linkat(
                n.fd(),
                EMPTY.as_ptr(),
                np.fd(),
                nc.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOENT) && e.raw_os_error() != Some(libc::EPERM) {
                return Err(e);
            }
            // Without CAP_DAC_READ_SEARCH: follow the magic link instead.
            let p = proc_path(n.fd());
            // SAFETY: both are valid C strings.
            cvt(unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    p.as_ptr(),
                    np.fd(),
                    nc.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            })?;
        }
        let fd = self.open_path(&np, &nc)?;
        self.remember(fd)
    }

    pub fn readlink(&self, id: u64) -> io::Result<Vec<u8>> {
        let n = self.node(id)?;
        let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
        // SAFETY: buf is writable for its length.
        let len =
            unsafe { libc::readlinkat(n.fd(), EMPTY.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(len as usize);
        Ok(buf)
    }

    pub fn statfs(&self) -> io::Result<libc::statvfs> {
        // SAFETY: fstatvfs fills the zeroed struct; O_PATH fds are accepted.
        unsafe {
            let mut s: libc::statvfs = std::mem::zeroed();
            cvt(libc::fstatvfs(self.root.fd(), &mut s))?;
            Ok(s)
        }
    }

    /// Extended attributes go through the magic link; symlinks carry none here. The
    /// caller keeps `n` alive for the call, so the fd behind the path stays open.
    fn xattr_path(&self, n: &Node) -> io::Result<CString> {
        if n.kind == Kind::Symlink {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        Ok(proc_path(n.fd()))
    }

    pub fn setxattr(&self, id: u64, name: &OsStr, value: &[u8], how: XattrSet) -> io::Result<()> {
        let n = self.node(id)?;
        let p = self.xattr_path(&n)?;
        let name = cstr(name)?;
        let flags = match how {
            XattrSet::Any => 0,
            XattrSet::Create => libc::XATTR_CREATE,
            XattrSet::Replace => libc::XATTR_REPLACE,
        };
        // SAFETY: strings are valid; value is readable for its length.
        let r = unsafe {
            libc::setxattr(
                p.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                flags,
            )
        };
        drop(n);
        cvt(r).map(|_| ())
    }

    pub fn getxattr(&self, id: u64, name: &OsStr) -> io::Result<Vec<u8>> {
        let n = self.node(id)?;
        let p = self.xattr_path(&n)?;
        let name = cstr(name)?;
        let mut buf = vec![0u8; crate::ram::XATTR_SIZE_MAX];
        // SAFETY: strings are valid; buf is writable for its length.
        let len = unsafe {
            libc::getxattr(
                p.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        drop(n);
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(len as usize);
        Ok(buf)
    }

    pub fn listxattr(&self, id: u64) -> io::Result<Vec<u8>> {
        let n = self.node(id)?;
        if n.kind == Kind::Symlink {
            return Ok(Vec::new());
        }
        let p = proc_path(n.fd());
        let mut buf = vec![0u8; crate::ram::XATTR_SIZE_MAX];
        // SAFETY: p is valid; buf is writable for its length.
        let len = unsafe { libc::listxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        drop(n);
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(len as usize);
        Ok(buf)
    }

    pub fn removexattr(&self, id: u64, name: &OsStr) -> io::Result<()> {
        let n = self.node(id)?;
        let p = self.xattr_path(&n)?;
        let name = cstr(name)?;
        // SAFETY: strings are valid.
        let r = unsafe { libc::removexattr(p.as_ptr(), name.as_ptr()) };
        drop(n);
        cvt(r).map(|_| ())
    }
}
