//! FUSE inode numbers: the tier sits in the top bits, so routing is a shift, never a lookup.
//!
//! `1` is the mount root, `2` `vram/`, `3` `vdisk/`, `4` the control file. A RAM inode is
//! `RAM_TAG | store ino`; a disk inode is `DISK_TAG | disk id`. A mount of one tier as its
//! root (`--tier`) makes `1` that tier's root, and `2` and `3` unused.

use std::sync::OnceLock;

use crate::disk;
use crate::node::Place;
use crate::ram;

/// The tier mounted as the root, if only one is: set once, at mount (one mount a process).
static ROOT_TIER: OnceLock<Place> = OnceLock::new();

/// Mounts `tier` as the root. Only the first call counts.
pub fn set_root_tier(tier: Place) {
    let _ = ROOT_TIER.set(tier);
}

/// The tier mounted as the root, if only one is.
pub fn root_tier() -> Option<Place> {
    ROOT_TIER.get().copied()
}

pub const ROOT: u64 = 1;
pub const VRAM: u64 = 2;
pub const VDISK: u64 = 3;
pub const CONTROL: u64 = 4;

const TAG_SHIFT: u32 = 60;
const RAM_TAG: u64 = 1 << TAG_SHIFT;
const DISK_TAG: u64 = 2 << TAG_SHIFT;
const LOCAL: u64 = (1 << TAG_SHIFT) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Root,
    Control,
    Ram(ram::Ino),
    Disk(u64),
}

/// Which tier (and which inode in it) a FUSE inode number names.
pub fn route(ino: u64) -> Option<Target> {
    match ino {
        ROOT => Some(match root_tier() {
            None => Target::Root,
            Some(Place::Vram) => Target::Ram(ram::ROOT_INO),
            Some(Place::Vdisk) => Target::Disk(disk::ROOT_ID),
        }),
        VRAM => Some(Target::Ram(ram::ROOT_INO)),
        VDISK => Some(Target::Disk(disk::ROOT_ID)),
        CONTROL => Some(Target::Control),
        _ => match ino >> TAG_SHIFT {
            1 => Some(Target::Ram(ino & LOCAL)),
            2 => Some(Target::Disk(ino & LOCAL)),
            _ => None,
        },
    }
}

pub fn from_ram(ino: ram::Ino) -> u64 {
    if ino == ram::ROOT_INO {
        if root_tier() == Some(Place::Vram) {
            return ROOT;
        }
        VRAM
    } else {
        RAM_TAG | ino
    }
}

pub fn from_disk(id: u64) -> u64 {
    if id == disk::ROOT_ID {
        if root_tier() == Some(Place::Vdisk) {
            return ROOT;
        }
        VDISK
    } else {
        DISK_TAG | id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_through_their_tier() {
        for ino in [ram::ROOT_INO, 2, 77, LOCAL] {
            assert_eq!(route(from_ram(ino)), Some(Target::Ram(ino)));
        }
        for id in [disk::ROOT_ID, 1, 12345, 1 << 55 | 3] {
            assert_eq!(route(from_disk(id)), Some(Target::Disk(id)));
        }
        assert_eq!(route(ROOT), Some(Target::Root));
        assert_eq!(route(3 << TAG_SHIFT), None);
    }
}
