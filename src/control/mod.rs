//! Steering a mount from outside: the control file (`server`), its protocol (`protocol`),
//! the jobs it runs (`jobs`) and what `mavfsctl` uses to reach it (`client`).
pub mod client;
pub mod jobs;
pub mod protocol;
pub mod server;
mod store_ops;

use std::ffi::OsString;

/// What a job tells the kernel about changes it made behind the kernel's back. The core
/// implements it (it owns the FUSE session); control never talks to the kernel itself.
pub trait Invalidate: Send + Sync {
    /// Names created, replaced or removed in directories of one tier (by the tier's own
    /// inode number: the store's in `vram/`, the disk tier's id in `vdisk/`): the kernel
    /// must drop what it cached of them and of their directories.
    fn entries(&self, place: crate::node::Place, changed: &[(u64, OsString)]);
}
