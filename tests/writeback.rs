//! `--writeback-cache`: the kernel keeps written pages and sends them in batches. What it
//! must keep (data, sizes, times, appends on both tiers) and what it changes (running out
//! of space shows at fsync), on real mounts. pjdfstest and fsx run on it too
//! (scripts/conformance.sh).

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const MIB: usize = 1 << 20;

fn writeback(args: &[&str]) -> TestMount {
    let mut all = vec!["--writeback-cache"];
    all.extend_from_slice(args);
    TestMount::with_args(&all)
}

#[test]
fn refused_with_redis() {
    assert_refused(
        &["--ram", "redis", "--writeback-cache"],
        "--writeback-cache needs --ram memory",
    );
}

/// Random small writes into a cached file land exactly: the daemon holds them once they
/// are synced.
#[test]
fn random_writes_land_exactly() {
    let m = writeback(&[]);
    let p = m.vram().join("f");
    let f = fresh(&p);
    let mut model = vec![0u8; 4 * MIB];
    let mut seed = 0x9e37_79b9_u64;
    for i in 0..2000u32 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let off = (seed >> 20) as usize % (model.len() - 5000);
        let len = 1 + (seed >> 8) as usize % 4999;
        let byte = (i % 251) as u8;
        let data = vec![byte; len];
        f.write_all_at(&data, off as u64).unwrap();
        model[off..off + len].copy_from_slice(&data);
    }
    f.set_len(model.len() as u64).unwrap();
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(fs::read(&p).unwrap(), model);
    // Read again from the daemon, not from the kernel's pages.
    fs::write("/proc/sys/vm/drop_caches", "3").unwrap();
    assert_eq!(fs::read(&p).unwrap(), model);
}

/// A write moves mtime and ctime forward (the kernel stamps them now) and the daemon keeps
/// what the kernel sends back.
#[test]
fn writes_update_times() {
    let m = writeback(&[]);
    let p = m.vram().join("t");
    fs::write(&p, b"a").unwrap();
    let old = libc::timespec {
        tv_sec: 1_000_000_000,
        tv_nsec: 0,
    };
    let times = [old, old];
    let c = cstr(&p);
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) }).unwrap();
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 2;
    let mut f = OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"b").unwrap();
    f.sync_all().unwrap();
    drop(f);
    let md = fs::metadata(&p).unwrap();
    assert!(md.mtime() >= start, "mtime {} after a write", md.mtime());
    assert!(md.ctime() >= start, "ctime {} after a write", md.ctime());
    assert_eq!(fs::read(&p).unwrap(), b"ab");
}

/// O_APPEND, also on a write-only handle (the kernel reads partial pages through it), lands
/// at the end on both tiers.
fn appends_land_at_the_end(dir: &Path) {
    let p = dir.join("log");
    fs::write(&p, b"abc").unwrap();
    for (i, read) in [(0, false), (1, true)] {
        let mut f = OpenOptions::new().append(true).read(read).open(&p).unwrap();
        f.write_all(format!("-{i}").as_bytes()).unwrap();
    }
    assert_eq!(fs::read(&p).unwrap(), b"abc-0-1");
}

#[test]
fn appends_land_at_the_end_on_vram() {
    let m = writeback(&[]);
    appends_land_at_the_end(&m.vram());
}

#[test]
fn appends_land_at_the_end_on_vdisk() {
    let m = writeback(&[]);
    appends_land_at_the_end(&m.vdisk());
    assert_eq!(fs::read(m.disk_dir().join("log")).unwrap(), b"abc-0-1");
}

/// Past --ram-limit the error comes at fsync (the write was taken into the page cache), and
/// what was stored before stays whole.
#[test]
fn no_space_shows_at_fsync() {
    let m = writeback(&["--ram-limit", "4M"]);
    let keep = m.vram().join("keep");
    fs::write(&keep, vec![1u8; MIB]).unwrap();
    let mut f = fresh(&m.vram().join("big"));
    let written = f.write_all(&vec![2u8; 8 * MIB]);
    let synced = f.sync_all();
    assert!(
        written.is_err() || synced.is_err(),
        "8 MiB into a 4 MiB vram: neither write nor fsync failed"
    );
    let e = written.err().or(synced.err()).unwrap();
    assert!(
        matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EIO)),
        "error {e}"
    );
    drop(f);
    assert_eq!(fs::read(&keep).unwrap(), vec![1u8; MIB]);
}

/// A chown that changes nothing still drops setuid (as on Linux); under the writeback cache
/// the kernel sends it as a bare ctime.
#[test]
fn chown_drops_setuid() {
    let m = writeback(&[]);
    let p = m.vram().join("s");
    fs::write(&p, b"x").unwrap();
    fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
    std::os::unix::fs::chown(&p, None, None).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o755);
}
