//! Snapshots and clones of the in-process store, on real mounts: a remount with a snapshot
//! dir gives back the tree whole; a kill -9 gives back the last snapshot; a damaged one is
//! passed over; one of another format refuses the mount; writers during snapshots are seen
//! at one moment; clones share their bytes until written.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");

/// A disk dir and a snapshot dir that outlive the mounts made on them.
struct Place {
    _dir: tempfile::TempDir,
    disk: PathBuf,
    snaps: PathBuf,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk");
        fs::create_dir(&disk).unwrap();
        Place {
            snaps: dir.path().join("snaps"),
            disk,
            _dir: dir,
        }
    }

    fn mount(&self, extra: &[&str]) -> TestMount {
        let mut args = vec!["--snapshot-dir", self.snaps.to_str().unwrap()];
        args.extend_from_slice(extra);
        TestMount::start(&args, Some(&self.disk), default_deadline())
    }

    /// The snapshot files, oldest first.
    fn snapshots(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.snaps)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "snap"))
            .collect();
        v.sort();
        v
    }
}

/// `mavfsctl ARGS` on a mount: its exit status and output.
fn ctl(m: &TestMount, args: &[&str]) -> (bool, String) {
    let out = Command::new(CTL_BIN)
        .arg("--mount")
        .arg(m.mnt())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mavfsctl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn ctl_ok(m: &TestMount, args: &[&str]) -> String {
    let (ok, text) = ctl(m, args);
    assert!(ok, "mavfsctl {args:?} failed: {text}");
    text
}

/// Unmounts and waits for the daemon, which saves on its way out.
fn unmount(mut m: TestMount) {
    let status = Command::new("umount").arg(m.mnt()).status().unwrap();
    assert!(status.success(), "umount failed");
    let exit = m.wait_exit(Duration::from_secs(60));
    assert!(
        exit.is_some_and(|s| s.success()),
        "daemon exit {exit:?}: {}",
        m.daemon_stderr()
    );
}

/// Kills the daemon with SIGKILL: nothing is saved on the way out.
fn kill(mut m: TestMount) {
    m.signal_and_wait(libc::SIGKILL).expect("daemon killed");
}

/// Everything `stat`, `readlink`, xattrs, the data and its holes say of a tree.
fn describe(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let m = fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let mut d = format!(
            "ino={} mode={:o} nlink={} uid={} gid={} size={} rdev={} mtime={}.{} atime={}.{} ctime={}.{}",
            m.ino(),
            m.mode(),
            m.nlink(),
            m.uid(),
            m.gid(),
            m.size(),
            m.rdev(),
            m.mtime(),
            m.mtime_nsec(),
            m.atime(),
            m.atime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        );
        if let Ok(names) = xattr_names(&p) {
            for n in names {
                d += &format!(" x:{n}={:?}", xattr_get(&p, &n));
            }
        }
        let ft = m.file_type();
        if ft.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        } else if ft.is_symlink() {
            d += &format!(" -> {:?}", fs::read_link(&p).unwrap());
        } else if ft.is_file() {
            let data = fs::read(&p).unwrap();
            d += &format!(
                " sum={:x} blocks={} data={:?}",
                checksum(&data),
                m.blocks(),
                data_map(&p)
            );
        }
        out.insert(rel, d);
    }
    out
}

/// Where a file's data lies (SEEK_DATA/SEEK_HOLE), as (start, end) pairs.
fn data_map(p: &Path) -> Vec<(i64, i64)> {
    let f = fs::File::open(p).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let start = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
        if start < 0 {
            break;
        }
        let end = unsafe { libc::lseek(fd, start, libc::SEEK_HOLE) };
        out.push((start, end));
        at = end;
    }
    out
}

fn xattr_names(p: &Path) -> std::io::Result<Vec<String>> {
    let c = cstr(p);
    let mut buf = vec![0u8; 4096];
    let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

fn xattr_get(p: &Path, name: &str) -> Vec<u8> {
    let c = cstr(p);
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 65536];
    let got =
        unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(got >= 0, "getxattr {name}");
    buf.truncate(got as usize);
    buf
}

fn xattr_set(p: &Path, name: &str, value: &[u8]) {
    let c = cstr(p);
    let n = std::ffi::CString::new(name).unwrap();
    let r = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr {name}: {}", std::io::Error::last_os_error());
}

/// A tree with a bit of everything a snapshot must keep.
fn build_tree(v: &Path) {
    let d = v.join("tree");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::write(d.join("small"), b"hello").unwrap();
    fs::write(d.join("sub/big"), random_bytes(3 << 20 | 123, 7)).unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    fs::hard_link(d.join("small"), d.join("sub/deeper/small-again")).unwrap();
    std::os::unix::fs::symlink("../small", d.join("sub/link")).unwrap();
    let fifo = cstr(&d.join("fifo"));
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    let dev = cstr(&d.join("null-dev"));
    assert_eq!(
        unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) },
        0
    );
    // A hole between two runs of data, past the first chunk.
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(d.join("sparse"))
        .unwrap();
    f.write_all_at(b"start", 0).unwrap();
    f.write_all_at(b"far away", 5 << 20).unwrap();
    f.set_len(9 << 20).unwrap();
    drop(f);
    fs::set_permissions(d.join("small"), fs::Permissions::from_mode(0o4751)).unwrap();
    std::os::unix::fs::chown(d.join("sub/big"), Some(1234), Some(5678)).unwrap();
    xattr_set(&d.join("sub/big"), "user.tag", b"blue");
    xattr_set(&d, "user.empty", b"");
    xattr_set(&d.join("small"), "user.a/b", b"slash in a name");
    xattr_set(&d.join("sub/link"), "trusted.on-a-link", b"\x00\x01");
    let big = d.join("sub/big");
    utimens(
        &big,
        (1_000_000_000, 123_456_789),
        (1_100_000_000, 987_654_321),
        0,
    )
    .unwrap();
    utimens(
        &d.join("sub/link"),
        (-86_400, 5),
        (42, 0),
        libc::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

#[test]
fn a_remount_with_a_snapshot_dir_gives_the_tree_back_whole() {
    let place = Place::new();
    let m = place.mount(&[]);
    build_tree(&m.vram());
    let before = describe(&m.vram());
    let (used_before, files_before) = usage(&m);
    unmount(m);
    assert_eq!(place.snapshots().len(), 1, "one snapshot at unmount");
    let m = place.mount(&[]);
    let after = describe(&m.vram());
    for (k, v) in &before {
        assert_eq!(Some(v), after.get(k), "{k} after the remount");
    }
    assert_eq!(before.len(), after.len(), "no entry more, none less");
    assert_eq!(
        usage(&m),
        (used_before, files_before),
        "the space account as before"
    );
    // New files get numbers past every kept one.
    fs::write(m.vram().join("new"), b"n").unwrap();
    let new_ino = fs::metadata(m.vram().join("new")).unwrap().ino();
    assert!(
        !after
            .values()
            .any(|d| d.starts_with(&format!("ino={new_ino} "))),
        "a new file took a kept inode number"
    );
    // Nothing changed since the load but one file: the next unmount saves again, and a
    // remount with nothing changed writes no snapshot at all.
    unmount(m);
    assert_eq!(place.snapshots().len(), 2);
    let m = place.mount(&[]);
    assert!(m.vram().join("new").exists());
    unmount(m);
    assert_eq!(
        place.snapshots().len(),
        2,
        "nothing changed: no new snapshot"
    );
}

/// Bytes of the limit used (data, then metadata), as `stats` counts them.
fn usage(m: &TestMount) -> (u64, u64) {
    let s = ctl_stats(m.mnt());
    (
        s["vram_used"].as_u64().unwrap(),
        s["vram_meta"].as_u64().unwrap(),
    )
}

#[test]
fn a_killed_daemon_comes_back_as_its_last_snapshot() {
    let place = Place::new();
    let m = place.mount(&[]);
    fs::write(m.vram().join("kept"), b"before the snapshot").unwrap();
    let said = ctl_ok(&m, &["snapshot"]);
    assert!(said.contains("vram-") && said.contains("inodes"), "{said}");
    let snap = &ctl_stats(m.mnt())["snapshot"];
    assert!(snap["last"].as_str().unwrap().ends_with(".snap"), "{snap}");
    assert_eq!(snap["changed_since"], false, "{snap}");
    fs::write(m.vram().join("lost"), b"after it").unwrap();
    fs::write(m.vram().join("kept"), b"changed after it").unwrap();
    assert_eq!(ctl_stats(m.mnt())["snapshot"]["changed_since"], true);
    let said = ctl_ok(&m, &["stats"]);
    assert!(said.contains("vram/ changed since"), "{said}");
    kill(m);
    let m = place.mount(&[]);
    assert_eq!(
        fs::read(m.vram().join("kept")).unwrap(),
        b"before the snapshot"
    );
    assert!(!m.vram().join("lost").exists());
}

#[test]
fn a_damaged_or_torn_snapshot_is_passed_over_for_the_one_before() {
    for damage in ["flip", "truncate"] {
        let place = Place::new();
        let m = place.mount(&[]);
        fs::write(m.vram().join("f"), b"first").unwrap();
        ctl_ok(&m, &["snapshot"]);
        fs::write(m.vram().join("f"), b"second").unwrap();
        fs::write(m.vram().join("g"), random_bytes(100_000, 3)).unwrap();
        ctl_ok(&m, &["snapshot"]);
        kill(m);
        let snaps = place.snapshots();
        assert_eq!(snaps.len(), 2);
        let newest = &snaps[1];
        let len = fs::metadata(newest).unwrap().len();
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(newest)
            .unwrap();
        if damage == "flip" {
            let at = len / 2;
            let mut b = [0u8; 1];
            f.seek(SeekFrom::Start(at)).unwrap();
            f.read_exact(&mut b).unwrap();
            f.write_all_at(&[b[0] ^ 0x10], at).unwrap();
        } else {
            f.set_len(len - 40).unwrap();
        }
        drop(f);
        let m = place.mount(&[]);
        assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"first", "{damage}");
        assert!(!m.vram().join("g").exists(), "{damage}");
        let said = m.daemon_stderr();
        let line = said
            .lines()
            .find(|l| l.contains("not loaded"))
            .unwrap_or_else(|| panic!("no line about the damaged snapshot: {said}"));
        assert!(
            line.contains(newest.file_name().unwrap().to_str().unwrap()),
            "{line}"
        );
        let aside = newest.with_extension("snap.damaged");
        assert!(aside.exists(), "the damaged one is kept aside");
    }
}

#[test]
fn a_snapshot_of_another_format_refuses_the_mount() {
    let place = Place::new();
    fs::create_dir_all(&place.snaps).unwrap();
    let mut bytes = b"MAVFSNAP".to_vec();
    bytes.extend_from_slice(&99u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    fs::write(place.snaps.join("vram-0000000005.snap"), bytes).unwrap();
    let mnt = tempfile::tempdir().unwrap();
    let args = [
        mnt.path().to_str().unwrap(),
        "--disk-dir",
        place.disk.to_str().unwrap(),
        "--snapshot-dir",
        place.snaps.to_str().unwrap(),
    ];
    let out = run_mount(&args, Duration::from_secs(30));
    let line = assert_one_line_error(&out, &args, "format 99");
    assert!(line.contains("vram-0000000005.snap"), "{line}");
    assert!(!is_mounted(mnt.path()));
}

#[test]
fn snapshot_options_are_checked() {
    let mnt = tempfile::tempdir().unwrap();
    let disk = tempfile::tempdir().unwrap();
    let m = mnt.path().to_str().unwrap();
    let d = disk.path().to_str().unwrap();
    let args = [
        m,
        "--disk-dir",
        d,
        "--ram",
        "redis",
        "--snapshot-dir",
        "/tmp/x",
    ];
    let out = run_mount(&args, Duration::from_secs(30));
    assert_one_line_error(&out, &args, "--snapshot-dir needs --ram memory");
    let args = [
        m,
        "--disk-dir",
        d,
        "--snapshot-dir",
        "/tmp/x",
        "--snapshot-interval",
        "soon",
    ];
    let out = run_mount(&args, Duration::from_secs(30));
    assert_one_line_error(&out, &args, "soon");
}

#[test]
fn a_snapshot_sees_each_rename_whole_while_writers_go_on() {
    let place = Place::new();
    let m = place.mount(&["--snapshot-interval", "1s"]);
    let v = m.vram();
    fs::create_dir(v.join("a")).unwrap();
    fs::create_dir(v.join("b")).unwrap();
    fs::write(v.join("a/f"), b"moving").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let (v, stop) = (v.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = if n.is_multiple_of(2) {
                    ("a/f", "b/f")
                } else {
                    ("b/f", "a/f")
                };
                fs::rename(v.join(from), v.join(to)).unwrap();
                fs::write(v.join(format!("w{}", n % 50)), n.to_le_bytes()).unwrap();
                n += 1;
            }
            n
        })
    };
    for _ in 0..4 {
        ctl_ok(&m, &["snapshot"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let pid = m.daemon_pid().unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    stop.store(true, Ordering::Relaxed);
    // The mover meets the dead mount; what it did is of no interest past here.
    let _ = mover.join();
    kill(m);
    let m = place.mount(&[]);
    let v = m.vram();
    let here = [v.join("a/f").exists(), v.join("b/f").exists()];
    assert_eq!(
        here.iter().filter(|&&h| h).count(),
        1,
        "in a and b: {here:?}"
    );
}

#[test]
fn a_clone_shares_its_bytes_until_either_side_writes() {
    let place = Place::new();
    let m = place.mount(&[]);
    let v = m.vram();
    fs::create_dir(v.join("src")).unwrap();
    let data = random_bytes(512 << 20, 11);
    fs::write(v.join("src/big"), &data).unwrap();
    fs::write(v.join("src/small"), b"small").unwrap();
    fs::hard_link(v.join("src/small"), v.join("src/small-link")).unwrap();
    fs::write(v.join("src/outside"), b"x").unwrap();
    fs::hard_link(v.join("src/outside"), v.join("outside-link")).unwrap();
    let (used, _) = usage(&m);
    let rss = settled_rss(&m);
    let said = ctl_ok(&m, &["clone", "/vram/src", "/vram/copy"]);
    assert!(said.contains("cloned tree"), "{said}");
    let (used_after, _) = usage(&m);
    assert!(
        used_after - used < 64 << 10,
        "a clone costs metadata: {used} -> {used_after}"
    );
    let grown = daemon_rss(&m).saturating_sub(rss);
    assert!(
        grown < 16 << 20,
        "RSS grew by {grown} bytes for a clone of 512 MiB"
    );
    assert_eq!(
        checksum(&fs::read(v.join("copy/big")).unwrap()),
        checksum(&data)
    );
    // Hard links within the tree stay links; one to outside it is a file of its own.
    let (a, b) = (
        fs::metadata(v.join("copy/small")).unwrap(),
        fs::metadata(v.join("copy/small-link")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    assert_eq!(fs::metadata(v.join("copy/outside")).unwrap().nlink(), 1);
    // Writing either side leaves the other as it was, and costs what it copies.
    let f = fs::OpenOptions::new()
        .write(true)
        .open(v.join("copy/big"))
        .unwrap();
    f.write_all_at(b"changed", 100).unwrap();
    drop(f);
    fs::write(v.join("src/small"), b"SMALL").unwrap();
    assert_eq!(
        checksum(&fs::read(v.join("src/big")).unwrap()),
        checksum(&data)
    );
    assert_eq!(&fs::read(v.join("copy/big")).unwrap()[100..107], b"changed");
    assert_eq!(fs::read(v.join("copy/small")).unwrap(), b"small");
    let (used_written, _) = usage(&m);
    let copied = used_written - used_after;
    assert!(
        (1 << 20..2 << 20).contains(&copied),
        "writing one chunk of a clone costs that chunk: {copied}"
    );
    // Removing the original leaves the clone whole, and its bytes counted once.
    fs::remove_dir_all(v.join("src")).unwrap();
    assert_eq!(fs::read(v.join("copy/small")).unwrap(), b"small");
    let (used_gone, _) = usage(&m);
    assert!(
        used_gone < (512 << 20) + (4 << 20),
        "counted once: {used_gone}"
    );
    // A clone can be refused: a name taken, or outside vram.
    let (ok, said) = ctl(&m, &["clone", "/vram/copy", "/vram/outside-link"]);
    assert!(!ok && said.contains("exists"), "{said}");
    let (ok, said) = ctl(&m, &["clone", "/vram/copy", "/vdisk/x"]);
    assert!(!ok && said.contains("inside /vram"), "{said}");
    // A snapshot keeps shared bytes shared.
    ctl_ok(&m, &["clone", "/vram/copy/big", "/vram/again-big"]);
    let (used_shared, _) = usage(&m);
    unmount(m);
    let m = place.mount(&[]);
    assert_eq!(
        usage(&m).0,
        used_shared,
        "a remount counts shared bytes once"
    );
    assert_eq!(
        checksum(&fs::read(m.vram().join("again-big")).unwrap()),
        checksum(&fs::read(m.vram().join("copy/big")).unwrap())
    );
}

#[test]
fn a_clone_on_redis_is_made_in_redis_and_outlives_its_source() {
    let m = TestMount::redis();
    let v = m.vram();
    fs::create_dir_all(v.join("src/sub")).unwrap();
    let data = random_bytes(3 << 20, 5);
    fs::write(v.join("src/big"), &data).unwrap();
    fs::write(v.join("src/sub/small"), b"small").unwrap();
    fs::hard_link(v.join("src/sub/small"), v.join("src/small-link")).unwrap();
    std::os::unix::fs::symlink("sub/small", v.join("src/link")).unwrap();
    xattr_set(&v.join("src/big"), "user.tag", b"red");
    let said = ctl_ok(&m, &["clone", "/vram/src", "/vram/copy"]);
    assert!(said.contains("cloned tree"), "{said}");
    let before = describe(&v.join("src"));
    let after = describe(&v.join("copy"));
    // The same tree but for inode numbers and ctimes.
    let plain = |d: &BTreeMap<String, String>| -> Vec<String> {
        d.values()
            .map(|l| {
                l.split(' ')
                    .filter(|w| !w.starts_with("ino=") && !w.starts_with("ctime="))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(plain(&before), plain(&after));
    let (a, b) = (
        fs::metadata(v.join("copy/sub/small")).unwrap(),
        fs::metadata(v.join("copy/small-link")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    // Each side keeps its own bytes.
    let f = fs::OpenOptions::new()
        .write(true)
        .open(v.join("copy/big"))
        .unwrap();
    f.write_all_at(b"changed", 1 << 20).unwrap();
    drop(f);
    assert_eq!(
        checksum(&fs::read(v.join("src/big")).unwrap()),
        checksum(&data)
    );
    // The source gone (its slices given back), the clone still reads whole.
    fs::remove_dir_all(v.join("src")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut want = data.clone();
    want[1 << 20..(1 << 20) + 7].copy_from_slice(b"changed");
    assert_eq!(
        checksum(&fs::read(v.join("copy/big")).unwrap()),
        checksum(&want)
    );
    assert_eq!(fs::read(v.join("copy/sub/small")).unwrap(), b"small");
    // And once the clone goes too, no slice is left behind.
    fs::remove_dir_all(v.join("copy")).unwrap();
    let mut con = m.redis_server().unwrap().connection();
    let left = until(Duration::from_secs(5), || {
        let keys: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
        keys.is_empty()
    });
    assert!(left.is_some(), "slices left after both trees went");
    let (ok, said) = ctl(&m, &["snapshot"]);
    assert!(!ok && said.contains("--snapshot-dir"), "{said}");
    // A live mount of a build from before clones (its heartbeat holds 1) would free what a
    // clone shares: no clone then.
    fs::write(v.join("h"), b"x").unwrap();
    let _: () = redis::pipe()
        .cmd("SADD")
        .arg("{mavfs}:sessions")
        .arg("999999")
        .cmd("SET")
        .arg("{mavfs}:alive:999999")
        .arg(1)
        .arg("EX")
        .arg(60)
        .query(&mut con)
        .unwrap();
    let (ok, said) = ctl(&m, &["clone", "/vram/h", "/vram/h2"]);
    assert!(!ok && said.contains("build without clones"), "{said}");
}

#[test]
fn a_snapshot_dir_serves_one_mount_at_a_time() {
    let place = Place::new();
    let m = place.mount(&[]);
    let other = tempfile::tempdir().unwrap();
    let args = [
        other.path().to_str().unwrap(),
        "--disk-dir",
        place.disk.to_str().unwrap(),
        "--snapshot-dir",
        place.snaps.to_str().unwrap(),
    ];
    let started = std::time::Instant::now();
    let out = run_mount(&args, Duration::from_secs(60));
    let line = assert_one_line_error(&out, &args, "in use by the mount at");
    assert!(line.contains(m.mnt().to_str().unwrap()), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once, not after a wait"
    );
    // Once it is unmounted, the next mount takes the dir over (after its daemon's save).
    fs::write(m.vram().join("f"), b"saved on the way out").unwrap();
    Command::new("umount").arg(m.mnt()).status().unwrap();
    let again = place.mount(&[]);
    assert_eq!(
        fs::read(again.vram().join("f")).unwrap(),
        b"saved on the way out"
    );
    drop(m);
}

#[test]
fn a_snapshot_holds_writes_the_kernel_still_cached() {
    let place = Place::new();
    let m = place.mount(&["--writeback-cache"]);
    let data = random_bytes(300_000, 9);
    // Written and still open (a close would flush them): with a writeback cache the kernel
    // holds these pages, not the store.
    let mut f = fs::File::create(m.vram().join("cached")).unwrap();
    std::io::Write::write_all(&mut f, &data).unwrap();
    ctl_ok(&m, &["snapshot"]);
    kill(m);
    drop(f);
    let m = place.mount(&[]);
    assert_eq!(
        checksum(&fs::read(m.vram().join("cached")).unwrap()),
        checksum(&data)
    );
}

#[test]
fn file_handles_outlive_a_clean_remount_and_go_stale_after_a_kill() {
    let place = Place::new();
    let m = place.mount(&[]);
    fs::write(m.vram().join("f"), b"handled").unwrap();
    let mut h = handle_of(&m.vram().join("f"));
    unmount(m);
    let m = place.mount(&[]);
    let root = fs::File::open(m.vram()).unwrap();
    let mut f = open_by_handle(&root, &mut h).expect("a handle across a clean remount");
    let mut got = String::new();
    f.read_to_string(&mut got).unwrap();
    assert_eq!(got, "handled");
    drop((f, root));
    // A kill after a snapshot: numbers handed out since may come again, so old handles
    // must not open whatever gets them.
    ctl_ok(&m, &["snapshot"]);
    kill(m);
    let m = place.mount(&[]);
    let root = fs::File::open(m.vram()).unwrap();
    let e = open_by_handle(&root, &mut h).expect_err("stale after a kill");
    assert_eq!(e.raw_os_error(), Some(libc::ESTALE), "{e}");
    assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"handled");
}
