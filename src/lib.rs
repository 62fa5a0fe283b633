//! MAVFS: one FUSE mount point, two storage tiers.
//!
//! ```text
//! kernel ──/dev/fuse──► fs::fuse (decode, reply) ──► fs::MavFs (typed core, routes by inode tag)
//!                                                      ├── vram/  → ram::RamStore (MemoryStore)
//!                                                      └── vdisk/ → disk::DiskTier (host dir, *at calls)
//! ```
//!
//! Inode numbers carry their tier in the high bits (`fs::inode`), so routing never needs a path.
//! Storage modules (`ram`, `disk`) know nothing of FUSE; `fs::fuse` is the only place that
//! builds kernel replies. Errors map to errno in exactly one place (`error::FsError::errno`).

pub mod acl;
pub mod config;
pub mod control;
pub mod counters;
pub mod disk;
pub mod error;
pub mod fs;
pub mod host;
pub mod metrics;
pub mod mount;
pub mod mount_helper;
pub mod node;
pub mod policy;
pub mod ram;
pub mod rng;
pub mod sd_notify;
pub mod secret;
pub mod sync;
pub mod uring;
pub mod vpath;

pub use config::MountConfig;
pub use error::FsError;
