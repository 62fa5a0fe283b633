//! Safe wrappers of the `*at` system calls the disk tier is built from. Every call acts on a
//! directory fd plus one checked name, or on an fd itself (`AT_EMPTY_PATH`); none takes a
//! path string that the kernel would resolve through the host tree, and none follows a
//! symlink.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::DirStream;
use crate::node::{check_name, TimeSet};

const EMPTY: &CStr = c"";

pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A name from the kernel or a control request as a C string: one component, never
/// `.`/`..`, no `/` or NUL.
pub fn name(name: &OsStr) -> io::Result<CString> {
    check_name(name).map_err(|e| io::Error::from_raw_os_error(e.errno()))?;
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The `/proc/self/fd/N` path of an fd: reopening through it reaches exactly that inode.
pub(crate) fn proc_path(fd: RawFd) -> CString {
    CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in a formatted path")
}

pub fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: fstatat writes a stat into the zeroed buffer; EMPTY is a valid C string.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        cvt(libc::fstatat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            &mut st,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        ))?;
        Ok(st)
    }
}

/// `stat` of `dir/name` without following a symlink; `None` if there is no such entry.
pub fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<libc::stat>> {
    // SAFETY: as in stat_fd; name is a valid C string.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        match cvt(libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )) {
            Ok(_) => Ok(Some(st)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `openat` that never follows a symlink in the last component.
pub fn open_at(dir: BorrowedFd<'_>, name: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: name is a valid C string; the fd is owned right away.
    unsafe {
        Ok(OwnedFd::from_raw_fd(cvt(libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode,
        ))?))
    }
}

/// An `O_PATH` fd for `dir/name` (a symlink is opened as itself).
pub fn open_path_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    open_at(dir, name, libc::O_PATH, 0)
}

/// Opens the inode behind an `O_PATH` fd for I/O, through its magic link.
pub fn reopen(fd: BorrowedFd<'_>, flags: i32) -> io::Result<File> {
    let p = proc_path(fd.as_raw_fd());
    // O_NOFOLLOW would refuse the magic link itself; the inode behind it is no symlink.
    let flags = flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_NOFOLLOW)
        | libc::O_CLOEXEC;
    // SAFETY: p is a valid C string; the fd is owned right away.
    unsafe { Ok(File::from_raw_fd(cvt(libc::open(p.as_ptr(), flags))?)) }
}

pub fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: EMPTY is a valid C string; AT_EMPTY_PATH acts on fd itself.
    cvt(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(|_| ())
}

/// chmod of the inode behind any fd, `O_PATH` included (never a symlink: Linux symlinks
/// have no mode, so the caller refuses those).
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: fchmodat2 with AT_EMPTY_PATH acts on the fd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
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
    // Older kernels: the magic link reaches the same inode.
    let p = proc_path(fd.as_raw_fd());
    // SAFETY: p is a valid C string.
    cvt(unsafe { libc::chmod(p.as_ptr(), mode) }).map(|_| ())
}

pub(crate) fn timespec(t: Option<TimeSet>) -> libc::timespec {
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

/// Sets atime/mtime of the inode behind any fd, symlinks included.
pub fn utimes_fd(
    fd: BorrowedFd<'_>,
    atime: Option<TimeSet>,
    mtime: Option<TimeSet>,
) -> io::Result<()> {
    let times = [timespec(atime), timespec(mtime)];
    // SAFETY: times has two entries as utimensat requires.
    cvt(unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(|_| ())
}

/// Runs a call that fills a buffer of `cap` bytes and returns the length it filled (or -1).
pub(crate) fn read_into(
    cap: usize,
    call: impl FnOnce(*mut libc::c_void, usize) -> isize,
) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; cap];
    let len = call(buf.as_mut_ptr().cast(), buf.len());
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(len as usize);
    Ok(buf)
}

pub fn readlink_fd(fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    // SAFETY: the buffer read_into passes is writable for the length it passes.
    read_into(libc::PATH_MAX as usize + 1, |buf, len| unsafe {
        libc::readlinkat(fd.as_raw_fd(), EMPTY.as_ptr(), buf.cast(), len)
    })
}

pub fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: name is a valid C string.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(|_| ())
}

pub fn symlink_at(target: &OsStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    let t =
        CString::new(target.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: both are valid C strings.
    cvt(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(|_| ())
}

pub fn mknod_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32, rdev: u32) -> io::Result<()> {
    // SAFETY: name is a valid C string.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, u64::from(rdev)) }).map(|_| ())
}

pub fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, is_dir: bool) -> io::Result<()> {
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: name is a valid C string.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(|_| ())
}

pub fn rename_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    newdir: BorrowedFd<'_>,
    newname: &CStr,
    flags: u32,
) -> io::Result<()> {
    // SAFETY: both names are valid C strings.
    cvt(unsafe {
        libc::renameat2(
            dir.as_raw_fd(),
            name.as_ptr(),
            newdir.as_raw_fd(),
            newname.as_ptr(),
            flags,
        )
    })
    .map(|_| ())
}

/// A new name `newdir/newname` for the inode behind `fd`.
pub fn link_fd(fd: BorrowedFd<'_>, newdir: BorrowedFd<'_>, newname: &CStr) -> io::Result<()> {
    // SAFETY: names are valid C strings; AT_EMPTY_PATH links the fd's own inode.
    let r = unsafe {
        libc::linkat(
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            newdir.as_raw_fd(),
            newname.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOENT) && e.raw_os_error() != Some(libc::EPERM) {
        return Err(e);
    }
    // Without CAP_DAC_READ_SEARCH: follow the magic link instead.
    let p = proc_path(fd.as_raw_fd());
    // SAFETY: both are valid C strings.
    cvt(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            p.as_ptr(),
            newdir.as_raw_fd(),
            newname.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(|_| ())
}

/// A stream over the entries of the directory behind `dir` (an `O_PATH` fd is fine).
pub fn dir_stream(dir: BorrowedFd<'_>) -> io::Result<DirStream> {
    let fd = open_at(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    DirStream::new(fd)
}

/// Every name in a directory but `.` and `..`.
pub fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<(OsString, crate::node::Kind)>> {
    let mut stream = dir_stream(dir)?;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = stream.read(offset, 1024)?;
        let Some(last) = page.last() else { break };
        offset = last.next;
        out.extend(
            page.into_iter()
                .filter(|e| e.name.as_bytes() != b"." && e.name.as_bytes() != b"..")
                .map(|e| (e.name, e.kind)),
        );
    }
    Ok(out)
}

pub fn statvfs_fd(fd: BorrowedFd<'_>) -> io::Result<libc::statvfs> {
    // SAFETY: fstatvfs fills the zeroed struct; O_PATH fds are accepted.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        cvt(libc::fstatvfs(fd.as_raw_fd(), &mut s))?;
        Ok(s)
    }
}

pub(crate) fn to_time(sec: i64, nsec: i64) -> SystemTime {
    if sec >= 0 {
        UNIX_EPOCH + std::time::Duration::new(sec as u64, nsec as u32)
    } else {
        UNIX_EPOCH - std::time::Duration::from_secs(sec.unsigned_abs())
            + std::time::Duration::from_nanos(nsec as u64)
    }
}

/// Reads up to `len` bytes at `offset`, short only at the end of the file.
pub fn pread_full(f: &File, offset: u64, len: u32) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    pread_into(f, offset, len, &mut buf)?;
    Ok(buf)
}

/// `pread_full` into `buf`, whose memory is reused.
pub fn pread_into(f: &File, offset: u64, len: u32, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    buf.resize(len as usize, 0);
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(())
}

fn xattr_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `setxattr` on the inode behind `fd` (an `O_PATH` fd is fine: it goes through the magic
/// link, which names that inode and no other).
pub fn set_xattr(fd: RawFd, name: &OsStr, value: &[u8], flags: i32) -> io::Result<()> {
    let p = proc_path(fd);
    let name = xattr_name(name)?;
    // SAFETY: strings are valid; value is readable for its length.
    cvt(unsafe {
        libc::setxattr(
            p.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    })
    .map(|_| ())
}

/// `getxattr` on the inode behind `fd`.
pub fn get_xattr(fd: RawFd, name: &OsStr) -> io::Result<Vec<u8>> {
    let p = proc_path(fd);
    let name = xattr_name(name)?;
    // SAFETY: strings are valid; read_into's buffer is writable for the length it passes.
    read_into(crate::node::XATTR_SIZE_MAX, |buf, len| unsafe {
        libc::getxattr(p.as_ptr(), name.as_ptr(), buf, len)
    })
}

/// `removexattr` on the inode behind `fd`.
pub fn remove_xattr(fd: RawFd, name: &OsStr) -> io::Result<()> {
    let p = proc_path(fd);
    let name = xattr_name(name)?;
    // SAFETY: strings are valid.
    cvt(unsafe { libc::removexattr(p.as_ptr(), name.as_ptr()) }).map(|_| ())
}

/// The xattr names of the inode behind `fd`, each NUL-terminated, as `listxattr(2)` gives.
pub fn list_xattr(fd: RawFd) -> io::Result<Vec<u8>> {
    let p = proc_path(fd);
    // SAFETY: p is valid; read_into's buffer is writable for the length it passes.
    read_into(crate::node::XATTR_LIST_MAX, |buf, len| unsafe {
        libc::listxattr(p.as_ptr(), buf.cast(), len)
    })
}

/// The byte ranges of an open file that hold data (`SEEK_DATA`/`SEEK_HOLE`), in order, within
/// `size`; a filesystem without holes answers one range, the whole file.
pub fn data_ranges(f: &File, size: u64) -> io::Result<Vec<(u64, u64)>> {
    let fd = f.as_raw_fd();
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        // SAFETY: lseek on an open fd has no memory effects.
        let start = unsafe { libc::lseek(fd, pos as i64, libc::SEEK_DATA) };
        if start < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                // No data past `pos`: the rest is a hole.
                Some(libc::ENXIO) => Ok(out),
                Some(libc::EINVAL | libc::EOPNOTSUPP) if out.is_empty() => Ok(vec![(0, size)]),
                _ => Err(e),
            };
        }
        // SAFETY: as above.
        let end = unsafe { libc::lseek(fd, start, libc::SEEK_HOLE) };
        if end < 0 {
            return Err(io::Error::last_os_error());
        }
        let (start, end) = (start as u64, (end as u64).min(size));
        if start >= end {
            break;
        }
        out.push((start, end));
        pos = end;
    }
    Ok(out)
}

/// A private copy of the mount tree at `dir`, seen by no one else, on which reads do not
/// date files (`open_tree(OPEN_TREE_CLONE)`, then `mount_setattr(MOUNT_ATTR_NOATIME)`; it
/// goes with its last fd). Needs CAP_SYS_ADMIN.
pub fn noatime_view(dir: &CStr) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    const MOUNT_ATTR_NOATIME: u64 = 0x10;
    const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
    /// The kernel's `struct mount_attr`.
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let flags = OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_uint;
    // SAFETY: dir is a valid C string; the fd is owned right away.
    let fd = unsafe {
        let r = libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, dir.as_ptr(), flags);
        OwnedFd::from_raw_fd(cvt(r as i32)?)
    };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_NOATIME,
        attr_clr: MOUNT_ATTR_ATIME_MASK,
        propagation: 0,
        userns_fd: 0,
    };
    let how = libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE;
    let size = std::mem::size_of::<MountAttr>();
    // SAFETY: EMPTY is a valid C string; attr is readable for its size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            EMPTY.as_ptr(),
            how,
            &attr,
            size,
        )
    };
    cvt(r as i32)?;
    Ok(fd)
}

/// Extended attributes of a symlink itself, by its directory and name: the `*xattrat` calls
/// of Linux 6.13 (the same numbers on x86-64 and arm64), which, unlike the magic link, do
/// not follow it, and which refuse an `O_PATH` fd of the symlink itself. An older kernel
/// answers EPERM, as symlinks then carry none here.
pub mod link {
    use super::*;

    const SETXATTRAT: libc::c_long = 463;
    const GETXATTRAT: libc::c_long = 464;
    const LISTXATTRAT: libc::c_long = 465;
    const REMOVEXATTRAT: libc::c_long = 466;
    const NOFOLLOW: libc::c_long = libc::AT_SYMLINK_NOFOLLOW as libc::c_long;

    /// The kernel's `struct xattr_args`.
    #[repr(C)]
    struct XattrArgs {
        value: u64,
        size: u32,
        flags: u32,
    }
    const ARGS: usize = std::mem::size_of::<XattrArgs>();

    fn older_kernel(e: io::Error) -> io::Error {
        match e.raw_os_error() {
            Some(libc::ENOSYS) => io::Error::from_raw_os_error(libc::EPERM),
            _ => e,
        }
    }

    pub fn set(dir: RawFd, at: &CStr, name: &OsStr, value: &[u8], flags: i32) -> io::Result<()> {
        let name = xattr_name(name)?;
        let args = XattrArgs {
            value: value.as_ptr() as u64,
            size: value.len() as u32,
            flags: flags as u32,
        };
        // SAFETY: strings are valid; `args` points at `value`, readable for its length.
        let r = unsafe {
            let (a, n) = (at.as_ptr(), name.as_ptr());
            libc::syscall(SETXATTRAT, dir, a, NOFOLLOW, n, &args, ARGS)
        };
        cvt(r as i32).map(drop).map_err(older_kernel)
    }

    pub fn get(dir: RawFd, at: &CStr, name: &OsStr) -> io::Result<Vec<u8>> {
        let name = xattr_name(name)?;
        // SAFETY: strings are valid; read_into's buffer is writable for the length it passes.
        read_into(crate::node::XATTR_SIZE_MAX, |buf, len| unsafe {
            let mut args = XattrArgs {
                value: buf as u64,
                size: len as u32,
                flags: 0,
            };
            let args: *mut XattrArgs = &mut args;
            let (a, n) = (at.as_ptr(), name.as_ptr());
            libc::syscall(GETXATTRAT, dir, a, NOFOLLOW, n, args, ARGS) as isize
        })
        .map_err(older_kernel)
    }

    pub fn list(dir: RawFd, at: &CStr) -> io::Result<Vec<u8>> {
        // SAFETY: at is valid; read_into's buffer is writable for the length it passes.
        let r = read_into(crate::node::XATTR_LIST_MAX, |buf, len| unsafe {
            libc::syscall(LISTXATTRAT, dir, at.as_ptr(), NOFOLLOW, buf, len) as isize
        });
        match r {
            // An older kernel: no names to list.
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(Vec::new()),
            r => r,
        }
    }

    pub fn remove(dir: RawFd, at: &CStr, name: &OsStr) -> io::Result<()> {
        let name = xattr_name(name)?;
        // SAFETY: strings are valid.
        let r = unsafe { libc::syscall(REMOVEXATTRAT, dir, at.as_ptr(), NOFOLLOW, name.as_ptr()) };
        cvt(r as i32).map(drop).map_err(older_kernel)
    }
}
