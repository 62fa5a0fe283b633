//! The core against a memory store and a host directory, without the kernel.

use super::*;
use crate::ram::MemoryStore;

const ROOT: Ctx = Ctx {
    uid: 0,
    gid: 0,
    pid: 0,
    umask: 0,
};

fn core(dir: &Path) -> MavFs {
    MavFs::new(
        Arc::new(MemoryStore::new(1 << 30, 0, 0)),
        DiskTier::new(dir).unwrap(),
        dir.to_owned(),
        ROOT,
        Duration::from_secs(1),
        Arc::new(OnceLock::new()),
    )
}

fn create(fs: &MavFs, tier: u64, name: &str, flags: i32) -> Result<(), i32> {
    fs.create(ROOT, tier, OsStr::new(name), 0o644, libc::O_CREAT | flags)
        .map(|(e, o)| fs.release(e.attr.ino.0, o.fh, 0))
        .map_err(|e| e.errno())
}

/// A create finding a file made since the kernel's lookup (by another mount, a job, or
/// on the host) answers ESTALE, so the kernel looks again and opens the file with its
/// own checks; with O_EXCL it is EEXIST.
#[test]
fn a_create_that_finds_the_name_taken_has_the_kernel_look_again() {
    let dir = tempfile::tempdir().unwrap();
    let fs = core(dir.path());
    for tier in [inode::VRAM, inode::VDISK] {
        assert_eq!(create(&fs, tier, "x", libc::O_WRONLY), Ok(()));
        assert_eq!(
            create(&fs, tier, "x", libc::O_WRONLY | libc::O_TRUNC),
            Err(libc::ESTALE)
        );
        assert_eq!(
            create(&fs, tier, "x", libc::O_RDWR | libc::O_EXCL),
            Err(libc::EEXIST)
        );
    }
}

/// Creates `name` in `dir` with `data`; its inode number and an open handle.
fn make(fs: &MavFs, dir: u64, name: &str, data: &[u8]) -> (u64, u64) {
    let (e, o) = fs
        .create(
            ROOT,
            dir,
            OsStr::new(name),
            0o644,
            libc::O_CREAT | libc::O_RDWR,
        )
        .unwrap();
    let ino = e.attr.ino.0;
    assert_eq!(
        fs.write(ino, o.fh, 0, data, None).unwrap() as usize,
        data.len()
    );
    (ino, o.fh)
}

fn errno<T: std::fmt::Debug>(r: FsResult<T>) -> i32 {
    r.unwrap_err().errno()
}

#[test]
fn rename_and_link_keep_the_inode_on_each_tier_and_never_cross() {
    let dir = tempfile::tempdir().unwrap();
    let fs = core(dir.path());
    for tier in [inode::VRAM, inode::VDISK] {
        let (ino, fh) = make(&fs, tier, "a", b"data");
        fs.release(ino, fh, 0);
        fs.rename(tier, OsStr::new("a"), tier, OsStr::new("b"), 0)
            .unwrap();
        assert_eq!(fs.lookup(tier, OsStr::new("b")).unwrap().attr.ino.0, ino);
        assert_eq!(errno(fs.lookup(tier, OsStr::new("a"))), libc::ENOENT);
        let l = fs.link(ino, tier, OsStr::new("c")).unwrap();
        assert_eq!((l.attr.ino.0, l.attr.nlink), (ino, 2));
    }
    // Across the tiers: EXDEV, so mv copies; the mount root's entries are fixed.
    let other = |t| {
        if t == inode::VRAM {
            inode::VDISK
        } else {
            inode::VRAM
        }
    };
    for tier in [inode::VRAM, inode::VDISK] {
        let ino = fs.lookup(tier, OsStr::new("b")).unwrap().attr.ino.0;
        assert_eq!(
            errno(fs.rename(tier, OsStr::new("b"), other(tier), OsStr::new("x"), 0)),
            libc::EXDEV
        );
        assert_eq!(
            errno(fs.link(ino, other(tier), OsStr::new("x"))),
            libc::EXDEV
        );
    }
    assert_eq!(
        errno(fs.unlink(inode::ROOT, OsStr::new("vram"))),
        libc::EPERM
    );
}

#[test]
fn a_file_unlinked_while_open_keeps_its_data_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let fs = core(dir.path());
    for tier in [inode::VRAM, inode::VDISK] {
        let (ino, fh) = make(&fs, tier, "open", b"still here");
        fs.unlink(tier, OsStr::new("open")).unwrap();
        assert_eq!(errno(fs.lookup(tier, OsStr::new("open"))), libc::ENOENT);
        assert_eq!(fs.read(ino, fh, 0, 64).unwrap(), b"still here");
        fs.write(ino, fh, 5, b"-now", None).unwrap();
        assert_eq!(fs.read(ino, fh, 0, 64).unwrap(), b"still-nowe");
        fs.release(ino, fh, 0);
    }
}
