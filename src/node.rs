//! The types every layer shares (the ground floor): what an inode is, what `stat` shows of it,
//! what a `setattr` changes, and the rules a name must keep. Both tiers, the core and the
//! control jobs speak these; none of them is owned by a store.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::SystemTime;

/// An inode number as a store knows it.
pub type Ino = u64;

/// Longest name a directory entry may have, as on Linux.
pub const NAME_MAX: usize = 255;
/// Largest extended attribute value, as the Linux VFS allows.
pub const XATTR_SIZE_MAX: usize = 64 * 1024;
/// Largest `listxattr` answer, as the Linux VFS allows: an inode's names (each with its NUL)
/// must fit in it, or `getfattr -d`, `cp -a` and `tar --xattrs` could never list them.
pub const XATTR_LIST_MAX: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDev,
    BlockDev,
}

impl Kind {
    /// The `S_IFMT` bits of a mode, or `None` for a type the store does not hold.
    pub fn from_mode(mode: u32) -> Option<Kind> {
        match mode & libc::S_IFMT {
            libc::S_IFREG | 0 => Some(Kind::File),
            libc::S_IFDIR => Some(Kind::Dir),
            libc::S_IFLNK => Some(Kind::Symlink),
            libc::S_IFIFO => Some(Kind::Fifo),
            libc::S_IFSOCK => Some(Kind::Socket),
            libc::S_IFCHR => Some(Kind::CharDev),
            libc::S_IFBLK => Some(Kind::BlockDev),
            _ => None,
        }
    }
}

/// What `stat` shows of an inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ino: Ino,
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Bytes of data the store holds for this inode (sparse files hold less than `size`).
    pub allocated: u64,
    pub rdev: u32,
    pub atime: SystemTime,
    pub mtime: SystemTime,
    pub ctime: SystemTime,
    pub crtime: SystemTime,
}

/// What a new inode is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewNode<'a> {
    pub kind: Kind,
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    /// The target of a symlink; ignored for other kinds.
    pub target: &'a [u8],
    /// How the node meets its parent's default ACL.
    pub acl: Inherit<'a>,
}

/// How a new node meets its parent's default ACL (`system.posix_acl_default`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Inherit<'a> {
    /// Not looked at: a copy that brings ACLs of its own (a job, a clone), or a symlink.
    #[default]
    Ignore,
    /// The caller saw no default ACL on the parent, and applied the umask to `perm`. If the
    /// parent has one now, the store refuses with `StoreError::DefaultAcl`.
    Absent,
    /// `perm` and `access` come from the parent's default ACL `from`: the node takes
    /// `access` as its access ACL and, a directory, `from` as its own default. If the
    /// parent's default ACL is no longer `from`, the store refuses with `DefaultAcl`.
    From {
        from: &'a [u8],
        access: Option<&'a [u8]>,
    },
}

impl NewNode<'static> {
    /// A node of `kind` with the permission bits of `mode` (its type bits are ignored).
    pub fn new(kind: Kind, mode: u32, uid: u32, gid: u32) -> Self {
        NewNode {
            kind,
            perm: (mode & 0o7777) as u16,
            uid,
            gid,
            rdev: 0,
            target: b"",
            acl: Inherit::Ignore,
        }
    }
}

impl<'a> NewNode<'a> {
    /// A symlink to `target` (its mode is always 0777).
    pub fn symlink(target: &'a [u8], uid: u32, gid: u32) -> Self {
        NewNode {
            target,
            ..NewNode::new(Kind::Symlink, 0o777, uid, gid)
        }
    }

    /// The same node for a device number (a character or block special file).
    pub fn with_rdev(self, rdev: u32) -> Self {
        NewNode { rdev, ..self }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSet {
    Now,
    At(SystemTime),
}

/// A `setattr` request: each `Some` field is changed, in one atomic step.
#[derive(Debug, Clone, Default)]
pub struct SetAttr {
    pub perm: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeSet>,
    pub mtime: Option<TimeSet>,
    pub ctime: Option<SystemTime>,
    /// Drop setuid, and setgid with group execute, from a non-directory (after `perm`, if
    /// both are given), as Linux does on a write, truncate or chown by a caller without
    /// CAP_FSETID: in the same atomic step, against the mode as it is then.
    pub kill_privs: bool,
    /// With `kill_privs`: setgid goes even without group execute, the caller being outside
    /// the file's group (Linux's `setattr_should_drop_sgid`).
    pub kill_sgid: bool,
}

impl SetAttr {
    /// Nothing to change but, perhaps, the ctime: what the kernel sends when it has only
    /// privileges to drop (its own `file_remove_privs`, or `chown(f, -1, -1)`, which comes
    /// with a ctime under the writeback cache and empty without it).
    pub fn changes_only_ctime(&self) -> bool {
        self.perm.is_none()
            && self.uid.is_none()
            && self.gid.is_none()
            && self.size.is_none()
            && self.atime.is_none()
            && self.mtime.is_none()
    }
}

/// `mode` without setuid, and without setgid where group execute is set or `kill_sgid`
/// says the caller is outside the file's group (setgid without group execute is a locking
/// mark that a group member keeps).
pub fn killed_mode(mode: u32, kill_sgid: bool) -> u32 {
    let mut m = mode & !libc::S_ISUID;
    let sgid_x = libc::S_ISGID | libc::S_IXGRP;
    if m & sgid_x == sgid_x || kill_sgid {
        m &= !libc::S_ISGID;
    }
    m
}

/// Whether a kill of privileges by this caller would leave setgid only because the file
/// lacks group execute: then membership of the file's group decides.
pub fn sgid_hangs_on_group(mode: u32) -> bool {
    mode & libc::S_ISGID != 0 && killed_mode(mode, false) & libc::S_ISGID != 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Place {
    Vram = 0,
    Vdisk = 1,
}
pub const PLACES: [Place; 2] = [Place::Vram, Place::Vdisk];

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::Vram => "vram",
            Place::Vdisk => "vdisk",
        }
    }
}

/// Extended attributes `vram/` refuses: `system.*` other than POSIX ACLs (which the kernel
/// enforces and `fs::xattr` keeps in step with the mode) would be kept but mean nothing.
pub fn vram_refuses_xattr(name: &OsStr) -> bool {
    name.as_bytes().starts_with(b"system.") && !crate::acl::is_acl(name)
}

/// Names starting with this are a job's files in the making: never listed or looked up.
pub const TMP_PREFIX: &[u8] = b".mavfs-tmp.";

pub fn is_tmp_name(name: &OsStr) -> bool {
    name.as_bytes().starts_with(TMP_PREFIX)
}

/// Why a name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("file name too long")]
    TooLong,
    #[error("invalid file name")]
    Invalid,
}

impl NameError {
    /// The errno of the refusal. Exhaustive on purpose.
    pub fn errno(self) -> i32 {
        match self {
            NameError::TooLong => libc::ENAMETOOLONG,
            NameError::Invalid => libc::EINVAL,
        }
    }
}

/// Checks a directory entry name the way the Linux VFS would.
pub fn check_name(name: &OsStr) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    if bytes.is_empty()
        || bytes == b"."
        || bytes == b".."
        || bytes.contains(&b'/')
        || bytes.contains(&0)
    {
        return Err(NameError::Invalid);
    }
    Ok(())
}
