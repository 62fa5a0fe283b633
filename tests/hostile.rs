//! What a hostile or unlucky user can throw at a mount: extreme offsets and sizes, unbounded
//! extended attributes. Each must end in a clear errno, never a dead daemon or lost data.

#[macro_use]
mod common;

use common::*;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

const MIB: u64 = 1 << 20;

fn fallocate(f: &File, mode: i32, offset: u64, len: u64) -> i32 {
    let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, offset as i64, len as i64) };
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    }
}

/// A 1-byte write at `offset`: 0 if it landed (and reads back), else its errno (EFBIG only).
fn write_far(f: &File, offset: u64) -> i32 {
    match f.write_at(b"x", offset) {
        Ok(1) => {
            let mut b = [0u8; 1];
            assert_eq!(f.read_at(&mut b, offset).unwrap(), 1, "read at {offset}");
            assert_eq!(&b, b"x", "the byte at {offset}");
            assert_eq!(f.metadata().unwrap().len(), offset + 1);
            0
        }
        Ok(n) => panic!("short write of {n} at {offset}"),
        Err(e) => {
            let errno = e.raw_os_error().unwrap();
            assert_eq!(errno, libc::EFBIG, "write at {offset}: {e}");
            errno
        }
    }
}

fn huge_offsets_cost_what_they_hold(m: &TestMount, dir: &Path, tier: Tier) {
    let path = dir.join("sparse");
    let f = fresh(&path);
    let rss0 = daemon_rss(m);
    let landed44 = write_far(&f, 1 << 44);
    let rss44 = daemon_rss(m);
    let landed62 = write_far(&f, 1 << 62);
    let rss62 = daemon_rss(m);
    // vram holds any offset the kernel allows, as tmpfs does; the host decides for vdisk.
    if tier == Tier::Vram {
        assert_eq!((landed44, landed62), (0, 0));
        assert_eq!(f.metadata().unwrap().len(), (1 << 62) + 1);
    }
    // The daemon is alive and the tier answers.
    assert!(fs::metadata(dir).unwrap().is_dir());
    fs::write(dir.join("after"), b"alive").unwrap();
    assert_eq!(fs::read(dir.join("after")).unwrap(), b"alive");
    // A byte far away costs a chunk, not a table sized by its offset.
    assert!(
        rss44 < rss0 + 64 * MIB && rss62 < rss0 + 64 * MIB,
        "daemon RSS {rss0} -> {rss44} (2^44) -> {rss62} (2^62)"
    );
    // A hole reads as zeros, and `du` counts what is held.
    if f.metadata().unwrap().len() > 1 << 40 {
        let mut b = [1u8; 16];
        assert_eq!(f.read_at(&mut b, 1 << 40).unwrap(), 16);
        assert_eq!(b, [0u8; 16]);
    }
    if tier == Tier::Vram {
        use std::os::unix::fs::MetadataExt;
        assert!(f.metadata().unwrap().blocks() * 512 <= 4 * MIB);
    }

    // Reserving more than the tier holds is refused at once, not attempted chunk by chunk.
    let e = fallocate(&f, 0, 0, 1 << 60);
    assert!(
        e == libc::ENOSPC || e == libc::EFBIG,
        "fallocate of 2^60 bytes: errno {e}"
    );
    let e = fallocate(&f, 0, (1 << 62) - MIB, 4096);
    assert!(
        e == 0 || e == libc::EFBIG || e == libc::ENOSPC,
        "fallocate at 2^62: errno {e}"
    );
    // At the largest offset: refused (the kernel's EINVAL for an end past it, or EFBIG).
    let e = f.write_at(b"xy", i64::MAX as u64 - 1).unwrap_err();
    assert!(
        matches!(e.raw_os_error(), Some(libc::EFBIG | libc::EINVAL)),
        "write at the end of the range: {e}"
    );
    // copy_file_range to a far offset: lands or EFBIG.
    let src = dir.join("src");
    fs::write(&src, b"copied").unwrap();
    let s = File::open(&src).unwrap();
    let mut off_in: i64 = 0;
    let mut off_out: i64 = 1 << 62;
    let n = unsafe {
        libc::copy_file_range(
            s.as_raw_fd(),
            &mut off_in,
            f.as_raw_fd(),
            &mut off_out,
            6,
            0,
        )
    };
    if n < 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap();
        assert!(e == libc::EFBIG || e == libc::EXDEV, "copy_file_range: {e}");
    } else {
        let mut b = [0u8; 6];
        f.read_at(&mut b, 1 << 62).unwrap();
        assert_eq!(&b[..n as usize], &b"copied"[..n as usize]);
    }

    // Truncating it all away gives everything back; statfs stays true.
    f.set_len(0).unwrap();
    drop(f);
    let st = statvfs(dir);
    assert!(st.f_bfree <= st.f_blocks && st.f_bavail <= st.f_blocks);
    if tier == Tier::Vram {
        let used = (st.f_blocks - st.f_bfree) * st.f_frsize;
        assert!(used < 16 * MIB, "{used} bytes still in use");
    }
    fs::remove_file(&path).unwrap();
}
both_tiers!(huge_offsets_cost_what_they_hold);

fn set_xattr(p: &Path, name: &str, value: &[u8]) -> i32 {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    }
}

/// `listxattr` into a 64 KiB buffer (XATTR_LIST_MAX): the names, or the errno.
fn list_xattrs(p: &Path) -> Result<Vec<String>, i32> {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = unsafe { libc::listxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap());
    }
    Ok(buf[..n as usize]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

fn xattrs_are_bounded_and_stay_listable(_m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("tagged");
    fs::write(&p, b"x").unwrap();
    // A value past XATTR_SIZE_MAX never reaches the store.
    assert_eq!(
        set_xattr(&p, "user.big", &vec![7u8; 64 * 1024 + 1]),
        libc::E2BIG
    );
    assert_eq!(set_xattr(&p, "user.max", &vec![7u8; 4000]), 0);
    // Names until the store says no: it must be ENOSPC, and every name set must still fit
    // one listxattr answer.
    let mut set = vec!["user.max".to_string()];
    let mut refused = 0;
    for i in 0..2000 {
        let name = format!("user.{i:05}.{}", "n".repeat(180));
        match set_xattr(&p, &name, b"v") {
            0 => set.push(name),
            e => {
                refused = e;
                break;
            }
        }
    }
    assert_eq!(refused, libc::ENOSPC, "after {} names", set.len());
    let listed = list_xattrs(&p).expect("listxattr after the limit");
    for n in &set {
        assert!(listed.contains(n), "{n} not listed");
    }
    if tier == Tier::Vram {
        // The whole list, not one block of the host's, is the bound on vram.
        let bytes: usize = set.iter().map(|n| n.len() + 1).sum();
        assert!(bytes > 60 * 1024, "only {bytes} bytes of names fit");
    }
    // Removing one makes room again; the file's data is untouched.
    let last = set.pop().unwrap();
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = CString::new(last.clone()).unwrap();
    assert_eq!(unsafe { libc::removexattr(c.as_ptr(), n.as_ptr()) }, 0);
    assert_eq!(set_xattr(&p, &last, b"again"), 0);
    assert_eq!(fs::read(&p).unwrap(), b"x");
}
both_tiers!(xattrs_are_bounded_and_stay_listable);

#[test]
fn statfs_of_redis_without_maxmemory_is_finite() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let st = statvfs(&m.vram());
    let size = st.f_blocks * st.f_frsize;
    let mut con = server.connection();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    let host: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("total_system_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(
        size > 0 && size <= host,
        "size {size}, Redis host memory {host}"
    );
    assert!(st.f_bavail <= st.f_blocks);
    // `df` does arithmetic on these: sum of sizes of many such mounts must not overflow.
    assert!(size.checked_mul(1024).is_some());
}

/// Random writes of 1 to 5,000 bytes through a shared mapping: the kernel writes the dirty
/// pages back as concurrent WRITE requests, several into one chunk at once.
fn mmap_writeback_keeps_every_byte(_m: &TestMount, dir: &Path, _tier: Tier) {
    const LEN: usize = 3 << 20;
    for round in 0..4u64 {
        let path = dir.join(format!("mapped{round}"));
        let f = fresh(&path);
        f.set_len(LEN as u64).unwrap();
        let mut want = vec![0u8; LEN];
        let mut rng = Rng::new(1000 + round);
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED, "mmap");
            let map = std::slice::from_raw_parts_mut(p.cast::<u8>(), LEN);
            for _ in 0..200 {
                let n = 1 + rng.below(5000) as usize;
                let at = rng.below((LEN - n) as u64) as usize;
                let bytes = rng.bytes(n);
                map[at..at + n].copy_from_slice(&bytes);
                want[at..at + n].copy_from_slice(&bytes);
            }
            assert_eq!(libc::msync(p, LEN, libc::MS_SYNC), 0, "msync");
            assert_eq!(libc::munmap(p, LEN), 0, "munmap");
        }
        drop(f);
        let got = fs::read(&path).unwrap();
        assert_eq!(got.len(), LEN);
        let bad: Vec<usize> = (0..LEN / 4096)
            .filter(|&pg| got[pg * 4096..(pg + 1) * 4096] != want[pg * 4096..(pg + 1) * 4096])
            .collect();
        assert!(bad.is_empty(), "round {round}: pages {bad:?} differ");
    }
}
both_tiers!(mmap_writeback_keeps_every_byte);

/// Two mounts of one Redis prefix write into one fresh chunk at the same moment, chunk after
/// chunk, each at its own offset: every byte of both stays.
#[test]
fn two_mounts_writing_one_chunk_lose_nothing() {
    const CHUNKS: usize = 60;
    const PIECE: usize = 3000;
    // Offsets within each chunk: one writer per mount.
    const AT: [usize; 2] = [100, 9000];
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let path_a = a.vram().join("shared");
    fs::write(&path_a, b"").unwrap();
    let path_b = b.vram().join("shared");
    let piece = |c: usize, who: usize| vec![(c * 2 + who) as u8 + 1; PIECE];
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for (who, path) in [(0usize, &path_a), (1, &path_b)] {
            let barrier = &barrier;
            s.spawn(move || {
                let f = OpenOptions::new().write(true).open(path).unwrap();
                for c in 0..CHUNKS {
                    barrier.wait();
                    f.write_all_at(&piece(c, who), (c << 20) as u64 + AT[who] as u64)
                        .unwrap();
                }
            });
        }
    });
    for path in [&path_a, &path_b] {
        let got = fs::read(path).unwrap();
        for c in 0..CHUNKS {
            for (who, off) in AT.iter().enumerate() {
                let at = (c << 20) + off;
                assert!(
                    got.get(at..at + PIECE) == Some(&piece(c, who)[..]),
                    "chunk {c}: the piece of mount {who} is lost (read through {})",
                    path.display()
                );
            }
        }
    }
}

/// Empty files cost metadata, and metadata counts against `--ram-limit`: a loop of creates
/// ends in ENOSPC, `df` shows the space taken, and removing them gives it back.
fn empty_files_count_against_the_limit(m: &TestMount) {
    let v = m.vram();
    let before = statvfs(&v);
    let mut made = 0;
    let errno = loop {
        match File::create(v.join(format!("e{made}"))) {
            Ok(_) => made += 1,
            Err(e) => break e.raw_os_error().unwrap(),
        }
        assert!(made < 100_000, "100,000 empty files in a 1 MiB vram");
    };
    assert_eq!(errno, libc::ENOSPC, "after {made} files");
    assert!(made > 1000, "only {made} files fit");
    let full = statvfs(&v);
    assert!(
        full.f_bfree < before.f_bfree / 4,
        "df does not show them: {} blocks free",
        full.f_bfree
    );
    for i in 0..made {
        fs::remove_file(v.join(format!("e{i}"))).unwrap();
    }
    let back = until(std::time::Duration::from_secs(10), || {
        statvfs(&v).f_bfree >= before.f_bfree
    });
    assert!(
        back.is_some(),
        "space not given back: {} of {} blocks free",
        statvfs(&v).f_bfree,
        before.f_bfree
    );
}

#[test]
fn empty_files_count_against_the_limit_memory() {
    empty_files_count_against_the_limit(&TestMount::with_args(&["--ram-limit", "1M"]));
}

#[test]
fn empty_files_count_against_the_limit_redis() {
    let server = RedisServer::start();
    empty_files_count_against_the_limit(&TestMount::with_redis(&server, &["--ram-limit", "1M"]));
}

/// A tree `depth` levels deep under `root/name`, with a file at the bottom.
fn deep_tree(root: &Path, name: &str, depth: usize) {
    let top = root.join(name);
    fs::create_dir(&top).unwrap();
    let mut dir = File::open(&top).unwrap();
    let x = CString::new("x").unwrap();
    for _ in 0..depth {
        unsafe {
            assert_eq!(
                libc::mkdirat(dir.as_raw_fd(), x.as_ptr(), 0o755),
                0,
                "mkdirat"
            );
            let fd = libc::openat(
                dir.as_raw_fd(),
                x.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY,
            );
            assert!(fd >= 0, "openat");
            dir = std::os::fd::FromRawFd::from_raw_fd(fd);
        }
    }
    let leaf = CString::new("leaf").unwrap();
    unsafe {
        let fd = libc::openat(
            dir.as_raw_fd(),
            leaf.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY,
            0o644,
        );
        assert!(fd >= 0, "create the leaf");
        libc::close(fd);
    }
}

#[test]
fn deep_trees_are_pushed_or_refused_never_a_crash() {
    let m = TestMount::memory();
    deep_tree(&m.vram(), "deep", 4096);
    let ctl = env!("CARGO_BIN_EXE_mavfsctl");
    let mnt = m.mnt().to_str().unwrap();
    let out = std::process::Command::new(ctl)
        .args([
            "--mount",
            mnt,
            "push",
            "/vram/deep",
            "/vdisk/deep",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // All of it arrived: the disk tier counts every level and the file at the bottom.
    let st = ctl_stats(m.mnt());
    assert_eq!(st["vdisk"]["dirs"], 4097, "{}", st["vdisk"]);
    assert_eq!(st["vdisk"]["files"], 1, "{}", st["vdisk"]);
    // Deeper than a job walks: a clear refusal, nothing copied, the daemon alive.
    deep_tree(&m.vram(), "deeper", 9000);
    let out = std::process::Command::new(ctl)
        .args([
            "--mount",
            mnt,
            "push",
            "/vram/deeper",
            "/vdisk/deeper",
            "--quiet",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("levels of directories"), "{err}");
    assert!(!m.disk_dir().join("deeper").exists());
    let stats = std::process::Command::new(ctl)
        .args(["--mount", mnt, "stats"])
        .output()
        .unwrap();
    assert!(stats.status.success(), "stats after a deep tree");
}
