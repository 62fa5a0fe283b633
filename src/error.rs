//! `FsError`: every failure the filesystem core can return, and the one place that turns it
//! into an errno for the kernel.

use std::io;

use crate::control::server::CtlError;
use crate::ram::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The RAM store said no, or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A host syscall on the disk tier failed; its OS error code is passed on as it is.
    #[error("host: {0}")]
    Host(#[from] io::Error),
    #[error("not permitted in the mount root")]
    RootIsFixed,
    #[error("rename or link across tiers")]
    CrossTier,
    #[error("no such inode")]
    NoInode,
    #[error("no such file handle")]
    BadHandle,
    #[error("not supported")]
    NotSupported,
    #[error("invalid argument")]
    Invalid,
    #[error("is a directory")]
    IsDir,
    #[error("not a directory")]
    NotDir,
    #[error("text file busy")]
    TextBusy,
    #[error("permission denied")]
    Access,
    /// The control file refused (see `CtlError`).
    #[error(transparent)]
    Control(#[from] CtlError),
}

impl FsError {
    /// The errno the kernel gets. Exhaustive on purpose: a new variant must choose its errno.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::Store(e) => match e {
                StoreError::NotFound => libc::ENOENT,
                StoreError::Exists => libc::EEXIST,
                StoreError::NotDir => libc::ENOTDIR,
                StoreError::IsDir => libc::EISDIR,
                StoreError::NotEmpty => libc::ENOTEMPTY,
                StoreError::NoSpace => libc::ENOSPC,
                StoreError::Invalid => libc::EINVAL,
                StoreError::NameTooLong => libc::ENAMETOOLONG,
                StoreError::NotPermitted => libc::EPERM,
                StoreError::NoAttr => libc::ENODATA,
                StoreError::NotSupported => libc::EOPNOTSUPP,
                StoreError::TooLarge => libc::EFBIG,
                StoreError::TooManyLinks => libc::EMLINK,
                StoreError::Stale => libc::ESTALE,
                // Taken care of by the caller; left over only if the ACL kept changing.
                StoreError::DefaultAcl(_) => libc::EAGAIN,
                StoreError::ReadOnly(_) => libc::EROFS,
                StoreError::Unavailable(_) | StoreError::Backend { .. } => libc::EIO,
            },
            // An io::Error without an OS code is a bug of ours, not the host's: EIO, and the
            // caller logs it (see `is_internal`).
            FsError::Host(e) => e.raw_os_error().unwrap_or(libc::EIO),
            FsError::RootIsFixed => libc::EPERM,
            FsError::CrossTier => libc::EXDEV,
            FsError::NoInode => libc::ENOENT,
            FsError::BadHandle => libc::EBADF,
            FsError::NotSupported => libc::EOPNOTSUPP,
            FsError::Invalid => libc::EINVAL,
            FsError::IsDir => libc::EISDIR,
            FsError::NotDir => libc::ENOTDIR,
            FsError::TextBusy => libc::ETXTBSY,
            FsError::Access => libc::EACCES,
            FsError::Control(e) => match e {
                CtlError::BadHandle => libc::EBADF,
                CtlError::Busy => libc::EBUSY,
            },
        }
    }

    /// True for errors that point at a fault of the daemon or its backend rather than at
    /// the caller's request: those are logged at `warn`, the rest at `debug`.
    pub fn is_internal(&self) -> bool {
        match self {
            FsError::Store(
                StoreError::Unavailable(_) | StoreError::Backend { .. } | StoreError::ReadOnly(_),
            ) => true,
            FsError::Host(e) => e.raw_os_error().is_none() || e.raw_os_error() == Some(libc::EIO),
            _ => false,
        }
    }
}

pub type FsResult<T> = Result<T, FsError>;

pub use crate::host::plain_message;
