//! `--uring`: requests served over FUSE's io_uring queues, one per CPU, on real mounts. Each
//! test skips (saying so) where the kernel has no FUSE over io_uring; as root it turns the
//! fuse module's switch on. pjdfstest and fsx run on such a mount too (scripts/conformance.sh).

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const SWITCH: &str = "/sys/module/fuse/parameters/enable_uring";
const MIB: usize = 1 << 20;

/// Mounts take this shared; the test that turns io_uring off for new rings takes it alone.
static GATE: RwLock<()> = RwLock::new(());

/// Whether FUSE over io_uring can be used here (turning the fuse module's switch on).
fn switch_on() -> bool {
    if !Path::new(SWITCH).exists() {
        eprintln!("skipped: this kernel has no FUSE over io_uring ({SWITCH})");
        return false;
    }
    if fs::read_to_string(SWITCH)
        .map(|s| s.trim() != "Y")
        .unwrap_or(true)
        && fs::write(SWITCH, "Y").is_err()
    {
        eprintln!("skipped: FUSE over io_uring is off and cannot be turned on here");
        return false;
    }
    true
}

/// A `--uring` mount, or None (with a note) where this kernel cannot serve one.
struct Uring {
    m: TestMount,
    _gate: RwLockReadGuard<'static, ()>,
}

impl std::ops::Deref for Uring {
    type Target = TestMount;
    fn deref(&self) -> &TestMount {
        &self.m
    }
}

fn uring_mount() -> Option<Uring> {
    if !switch_on() {
        return None;
    }
    let gate = GATE.read().unwrap_or_else(|e| e.into_inner());
    Some(Uring {
        m: TestMount::with_args(&["--uring"]),
        _gate: gate,
    })
}

/// The mount's `mavfsctl stats --json`.
fn stats(m: &TestMount) -> serde_json::Value {
    let o = Command::new(CTL_BIN)
        .args(["--mount", m.mnt().to_str().unwrap(), "stats", "--json"])
        .output()
        .expect("run mavfsctl");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stats --json: {e}: {o:?}"))
}

/// Requests the mount served over io_uring so far.
fn served(m: &TestMount) -> u64 {
    let v = stats(m);
    v["uring_requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no uring_requests in {v}"))
}

#[test]
fn files_and_directories_work_over_the_rings() {
    let Some(m) = uring_mount() else { return };
    let before = served(&m);
    let dir = m.vram().join("d");
    fs::create_dir(&dir).unwrap();
    for i in 0..300 {
        fs::write(dir.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 300);
    fs::rename(dir.join("f7"), dir.join("seven")).unwrap();
    assert_eq!(fs::read_to_string(dir.join("seven")).unwrap(), "file 7");
    assert_eq!(err(fs::metadata(dir.join("f7"))), libc::ENOENT);
    std::os::unix::fs::symlink("seven", dir.join("link")).unwrap();
    assert_eq!(fs::read_link(dir.join("link")).unwrap(), Path::new("seven"));
    assert_eq!(fs::read_to_string(dir.join("link")).unwrap(), "file 7");
    for i in (0..300).filter(|i| *i != 7) {
        fs::remove_file(dir.join(format!("f{i}"))).unwrap();
    }
    fs::remove_file(dir.join("seven")).unwrap();
    fs::remove_file(dir.join("link")).unwrap();
    fs::remove_dir(&dir).unwrap();
    assert_eq!(err(fs::metadata(&dir)), libc::ENOENT);
    // About 1,800 requests above; nearly all must have come over the rings.
    let over = served(&m) - before;
    assert!(over > 1000, "only {over} requests came over io_uring");
}

#[test]
fn big_reads_and_writes_cross_the_payload_size_whole() {
    let Some(m) = uring_mount() else { return };
    let before = served(&m);
    for base in [m.vram(), m.vdisk()] {
        let path = base.join("big");
        // Larger than one ring payload (1 MiB), and not a multiple of it.
        let data = random_bytes(5 * MIB + 4321, 7);
        fs::write(&path, &data).unwrap();
        assert_eq!(fs::read(&path).unwrap(), data, "{}", path.display());
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut buf = vec![0u8; 3 * MIB];
        let n = f.read_at(&mut buf, (MIB - 10) as u64).unwrap();
        assert_eq!(&buf[..n], &data[MIB - 10..MIB - 10 + n]);
        f.write_all_at(b"edge", (2 * MIB - 2) as u64).unwrap();
        f.set_len(3 * MIB as u64 + 1).unwrap();
        drop(f);
        let mut want = data[..3 * MIB + 1].to_vec();
        want[2 * MIB - 2..2 * MIB + 2].copy_from_slice(b"edge");
        assert_eq!(fs::read(&path).unwrap(), want, "{}", path.display());
        // A direct read goes to the daemon whole, not through the page cache.
        let mut f = OpenOptions::new().read(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(MIB as u64)).unwrap();
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, want[MIB..]);
        fs::remove_file(&path).unwrap();
    }
    // Reads and writes of 1 MiB each, and the rest, came over the rings.
    assert!(
        served(&m) - before > 40,
        "the I/O did not come over io_uring"
    );
}

#[test]
fn extended_attributes_and_errors_come_back_over_the_rings() {
    let Some(m) = uring_mount() else { return };
    let f = m.vram().join("x");
    fs::write(&f, b"x").unwrap();
    let c = cstr(&f);
    let value = vec![b'v'; 3000];
    // SAFETY: the pointers are valid for the lengths given.
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            c"user.big".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    cvt(r).unwrap();
    let mut back = vec![0u8; 4096];
    assert_eq!(getxattr(&c, c"user.big", &mut back), 3000);
    assert_eq!(&back[..3000], &value[..]);
    // An error reply is one header with no payload.
    assert_eq!(getxattr(&c, c"user.none", &mut back), -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ENODATA)
    );
    assert_eq!(err(fs::create_dir(m.vram().join("x"))), libc::EEXIST);
    assert_eq!(err(fs::read_dir(m.vram().join("x"))), libc::ENOTDIR);
}

fn getxattr(path: &std::ffi::CStr, name: &std::ffi::CStr, buf: &mut [u8]) -> isize {
    // SAFETY: the pointers are valid for the lengths given.
    unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    }
}

/// Keeps the calling thread on `cpu`, so that its requests go to that CPU's queue.
fn pin_to_cpu(cpu: usize) {
    // SAFETY: the set is zeroed, then filled within its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[test]
fn writers_on_every_cpu_at_once() {
    let Some(m) = uring_mount() else { return };
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let threads: Vec<_> = (0..4 * cpus)
        .map(|t| {
            let dir = m.vram().join(format!("t{t}"));
            std::thread::spawn(move || {
                pin_to_cpu(t % cpus);
                fs::create_dir(&dir).unwrap();
                for i in 0..150 {
                    let p = dir.join(format!("f{i}"));
                    let data = random_bytes(1000 + i * 37, (t * 1000 + i) as u64);
                    let mut f = fs::File::create(&p).unwrap();
                    f.write_all(&data).unwrap();
                    drop(f);
                    assert_eq!(fs::read(&p).unwrap(), data);
                    if i % 2 == 0 {
                        fs::remove_file(&p).unwrap();
                    }
                }
                fs::read_dir(&dir).unwrap().count()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 75);
    }
}

#[test]
fn busy_cpus_do_not_stall_the_queues() {
    let Some(m) = uring_mount() else { return };
    // The serving threads yield to other work; a CPU-bound thread on every CPU must not
    // keep them from serving (the watch raises a thread kept waiting).
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hogs: Vec<_> = (0..2 * cpus)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pin_to_cpu(i % cpus);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = m.vram().join("busy");
    std::thread::spawn(move || {
        fs::create_dir(&dir).unwrap();
        for i in 0..300 {
            let p = dir.join(format!("f{i}"));
            fs::write(&p, format!("{i}")).unwrap();
            assert_eq!(fs::read_to_string(&p).unwrap(), format!("{i}"));
        }
        tx.send(fs::read_dir(&dir).unwrap().count()).unwrap();
    });
    // A hang detector, not a speed figure: 900 requests take well under a second here.
    let done = rx.recv_timeout(Duration::from_secs(120));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hogs {
        h.join().unwrap();
    }
    assert_eq!(done, Ok(300), "the mount stalled beside CPU-bound threads");
}

#[test]
fn unmounting_ends_the_daemon() {
    let Some(Uring { mut m, _gate }) = uring_mount() else {
        return;
    };
    fs::write(m.vram().join("a"), b"a").unwrap();
    force_unmount(m.mnt());
    let status = m
        .wait_exit(Duration::from_secs(10))
        .expect("the daemon did not exit after the unmount");
    assert!(status.success(), "{status:?}: {}", m.daemon_stderr());
}

/// Puts a sysctl back as it was, also when the test fails.
struct Restore(&'static str, String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = fs::write(self.0, self.1.trim());
    }
}

#[test]
fn refused_in_one_line_where_io_uring_is_disabled() {
    const KNOB: &str = "/proc/sys/kernel/io_uring_disabled";
    let Ok(before) = fs::read_to_string(KNOB) else {
        eprintln!("skipped: no {KNOB}");
        return;
    };
    if !switch_on() {
        return;
    }
    let _alone = GATE.write().unwrap_or_else(|e| e.into_inner());
    let _restore = Restore(KNOB, before);
    if fs::write(KNOB, "2").is_err() {
        eprintln!("skipped: {KNOB} cannot be set here");
        return;
    }
    let line = assert_refused(&["--uring"], "kernel.io_uring_disabled");
    assert!(line.contains("cannot mount"), "{line}");
}

#[test]
fn every_forget_arrives_while_the_rings_serve() {
    // Forgets still come through /dev/fuse, whose one reader rests after each batch while
    // io_uring serves the rest: every one must still arrive (counting the directory's own
    // forget, if the kernel drops it, would hide at most one lost).
    let Some(m) = uring_mount() else { return };
    let forgets = || {
        stats(&m)["vram"]["by_op"]["forget"]["ops"]
            .as_u64()
            .unwrap_or(0)
    };
    let dir = m.vram().join("d");
    fs::create_dir(&dir).unwrap();
    let before = forgets();
    for i in 0..2000 {
        fs::write(dir.join(format!("f{i}")), b"x").unwrap();
    }
    for i in 0..2000 {
        fs::remove_file(dir.join(format!("f{i}"))).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while forgets() - before < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let arrived = forgets() - before;
    assert!(arrived >= 2000, "{arrived} forgets for 2000 removed files");
    fs::remove_dir(&dir).unwrap();
}
