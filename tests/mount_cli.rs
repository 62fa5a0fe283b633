//! The `mavfs-mount` command: refused invocations, daemon and foreground modes, options.

mod common;

use common::*;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Unmounts a path on drop, in case a test mounted something it should not have.
struct UnmountOnDrop(PathBuf);

impl Drop for UnmountOnDrop {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            force_unmount(&self.0);
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Assert a refused invocation: non-zero exit, one line `mavfs-mount: ...` naming `key`,
/// and nothing mounted on `mnt`.
fn assert_refused(args: &[&str], key: &str, mnt: &Path) {
    let _guard = UnmountOnDrop(mnt.to_path_buf());
    let before = mounts_at(mnt).len();
    let out = run_mount(args, Duration::from_secs(30));
    let after = mounts_at(mnt).len();
    assert_one_line_error(&out, args, key);
    assert_eq!(after, before, "{args:?} left a mount on {}", mnt.display());
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(t.path()).unwrap();
    (t, root)
}

#[test]
fn missing_mount_point_is_refused() {
    let (_t, root) = tmp();
    let mnt = root.join("nope");
    let disk = root.join("disk");
    assert_refused(
        &[s(&mnt), "--disk-dir", s(&disk), "-f"],
        "does not exist",
        &mnt,
    );
    assert!(!mnt.exists(), "the mount point was created");
    // The same without -f: the check comes before the daemon starts.
    assert_refused(&[s(&mnt), "--disk-dir", s(&disk)], "does not exist", &mnt);
}

#[test]
fn mount_point_that_is_a_file_is_refused() {
    let (_t, root) = tmp();
    let mnt = root.join("file");
    fs::write(&mnt, b"x").unwrap();
    let disk = root.join("disk");
    assert_refused(
        &[s(&mnt), "--disk-dir", s(&disk), "-f"],
        "not a directory",
        &mnt,
    );
    assert_eq!(fs::read(&mnt).unwrap(), b"x");
}

#[test]
fn mount_point_already_mounted_is_refused() {
    let m = TestMount::memory();
    fs::write(m.vram().join("keep"), b"k").unwrap();
    let (_t, root) = tmp();
    let disk = root.join("disk2");
    let mnt = m.mnt().to_path_buf();
    let args = [s(&mnt), "--disk-dir", s(&disk), "-f"];
    let out = run_mount(&args, Duration::from_secs(30));
    let stacked = mounts_at(&mnt).len();
    if stacked > 1 {
        // Take the second mount off again before failing.
        force_unmount(&mnt);
    }
    assert_one_line_error(&out, &args, "already");
    assert_eq!(
        stacked,
        1,
        "a second mount was stacked on {}",
        mnt.display()
    );
    assert_eq!(fs::read(m.vram().join("keep")).unwrap(), b"k");
}

#[test]
fn disk_dir_that_is_a_file_is_refused() {
    let (_t, root) = tmp();
    let mnt = root.join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = root.join("disk");
    fs::write(&disk, b"x").unwrap();
    assert_refused(
        &[s(&mnt), "--disk-dir", s(&disk), "-f"],
        "not a directory",
        &mnt,
    );
    assert_refused(&[s(&mnt), "--disk-dir", s(&disk)], "not a directory", &mnt);
    assert_eq!(fs::read(&disk).unwrap(), b"x");
}

#[test]
fn invalid_ram_limit_is_refused() {
    let (_t, root) = tmp();
    let mnt = root.join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = root.join("disk");
    for bad in ["lots", "12Q", "1.5.G"] {
        assert_refused(
            &[s(&mnt), "--disk-dir", s(&disk), "--ram-limit", bad, "-f"],
            "invalid size",
            &mnt,
        );
    }
}

#[test]
fn unreachable_redis_is_one_line_naming_the_address() {
    let (_t, root) = tmp();
    let mnt = root.join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = root.join("disk");
    let port = free_port().to_string();
    let url = format!("redis://127.0.0.1:{port}/0");
    for mode in [&["-f"][..], &[][..]] {
        let mut args = vec![
            s(&mnt),
            "--disk-dir",
            s(&disk),
            "--ram",
            "redis",
            "--redis-url",
            &url,
        ];
        args.extend_from_slice(mode);
        assert_refused(
            &args,
            &format!("cannot connect to Redis at 127.0.0.1:{port}: Connection refused"),
            &mnt,
        );
    }
}

#[test]
fn invalid_redis_options_are_refused() {
    let (_t, root) = tmp();
    let mnt = root.join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = root.join("disk");
    let cases: [(&[&str], &str); 13] = [
        (&["--redis-url", "http://localhost"], "--redis-url"),
        (&["--redis-url", "redis://"], "--redis-url"),
        (
            &["--redis-url", "redis://127.0.0.1:6379/zero"],
            "--redis-url",
        ),
        (&["--redis-port", "70000"], "--redis-port"),
        (&["--redis-db", "-1"], "--redis-db"),
        (&["--redis-prefix", ""], "--redis-prefix"),
        (&["--redis-prefix", "a{b}"], "--redis-prefix"),
        (&["--redis-prefix", "with space"], "--redis-prefix"),
        (&["--redis-timeout", "0"], "--redis-timeout"),
        (&["--redis-cluster", "10.0.0.5"], "--redis-cluster"),
        (&["--redis-cluster", "10.0.0.5:99999"], "--redis-cluster"),
        (&["--redis-cluster", ","], "--redis-cluster"),
        (
            &["--redis-cluster", "10.0.0.5:7000", "--redis-db", "2"],
            "--redis-cluster",
        ),
    ];
    for (extra, key) in cases {
        let mut args = vec![s(&mnt), "--disk-dir", s(&disk), "--ram", "redis", "-f"];
        args.extend_from_slice(extra);
        assert_refused(&args, key, &mnt);
    }
    // A cluster is a Redis store.
    let args = [
        s(&mnt),
        "--disk-dir",
        s(&disk),
        "-f",
        "--redis-cluster",
        "h:1",
    ];
    assert_refused(&args, "--ram redis", &mnt);
    // No node answers: one line naming them.
    let port = common::free_port().to_string();
    let node = format!("127.0.0.1:{port}");
    let args = [
        s(&mnt),
        "--disk-dir",
        s(&disk),
        "-f",
        "--ram",
        "redis",
        "--redis-cluster",
        &node,
    ];
    assert_refused(&args, &node, &mnt);
}

#[test]
fn mountinfo_names_the_type_and_the_disk_dir_as_source() {
    let m = TestMount::memory();
    let entries = mounts_at(m.mnt());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.fstype, "fuse.mavfs");
    assert_eq!(Path::new(&e.source), m.disk_dir().canonicalize().unwrap());
    // df shows the same source.
    let df = std::process::Command::new("df")
        .arg("--output=source")
        .arg(m.mnt())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&df.stdout);
    assert_eq!(
        text.lines().nth(1).map(str::trim),
        Some(e.source.as_str()),
        "{text}"
    );
}

#[test]
fn the_service_manager_hears_ready_then_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut m = TestMount::start_env(
        &[],
        None,
        default_deadline(),
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("READY=1 within 20 s");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    // Ready means answering: the mount is there.
    assert!(fs::metadata(m.vram()).is_ok());
    m.signal_and_wait(libc::SIGTERM)
        .expect("the daemon exits on SIGTERM");
    let n = sock.recv(&mut buf).expect("STOPPING=1 on SIGTERM");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn disk_dir_is_created_if_missing() {
    let (_t, root) = tmp();
    let disk = root.join("new/deeper/disk");
    let m = TestMount::start(&[], Some(&disk), default_deadline());
    assert!(disk.is_dir(), "disk dir not created");
    fs::write(m.vdisk().join("f"), b"x").unwrap();
    assert_eq!(fs::read(disk.join("f")).unwrap(), b"x");
}

#[test]
fn existing_disk_dir_contents_show_in_vdisk() {
    let (_t, root) = tmp();
    let disk = root.join("disk");
    fs::create_dir_all(disk.join("sub")).unwrap();
    fs::write(disk.join("sub/old.txt"), b"was here").unwrap();
    let m = TestMount::start(&[], Some(&disk), default_deadline());
    assert_eq!(
        fs::read(m.vdisk().join("sub/old.txt")).unwrap(),
        b"was here"
    );
}

#[test]
fn daemon_mode_returns_when_ready_and_umount_stops_it() {
    // Orphaned processes (the daemon) become our children, so their exit status is ours
    // to collect.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let (_t, root) = tmp();
    let mnt = root.join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = root.join("disk");
    let _guard = UnmountOnDrop(mnt.clone());

    let out = run_mount(&[s(&mnt), "--disk-dir", s(&disk)], Duration::from_secs(15));
    assert!(
        out.status.success(),
        "exit {}; stderr: {}",
        out.status,
        out.stderr
    );
    // Ready at once, without polling.
    assert!(is_mounted(&mnt), "not mounted when the command returned");
    let listed: Vec<String> = {
        let mut v: Vec<String> = fs::read_dir(&mnt)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listed, ["vdisk", "vram"]);
    fs::write(mnt.join("vram/x"), b"x").unwrap();
    assert_eq!(fs::read(mnt.join("vram/x")).unwrap(), b"x");

    let pids = daemon_pids(&mnt);
    assert_eq!(
        pids.len(),
        1,
        "daemon processes for {}: {pids:?}",
        mnt.display()
    );
    let pid = pids[0];
    let kill_daemon = KillOnDrop(pid);

    let st = Command::new("umount").arg(&mnt).status().unwrap();
    assert!(st.success(), "umount: {st}");
    let status = wait_pid(pid, Duration::from_secs(10));
    std::mem::forget(kill_daemon);
    match status {
        Some(Ok(code)) => assert_eq!(code, 0, "daemon exit code after umount"),
        Some(Err(sig)) => panic!("daemon killed by signal {sig}"),
        None => {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("daemon still running 10 s after umount");
        }
    }
    assert!(!is_mounted(&mnt));
}

struct KillOnDrop(libc::pid_t);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// Live processes of our binary whose command line names `mnt`.
fn daemon_pids(mnt: &Path) -> Vec<libc::pid_t> {
    let exe = Path::new(MOUNT_BIN).file_name().unwrap().to_owned();
    let mut pids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let runs_us = args
            .first()
            .and_then(|a| Path::new(OsStr::from_bytes(a)).file_name())
            .is_some_and(|n| n == exe);
        if runs_us && args.iter().any(|a| *a == s(mnt).as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Reap `pid` (a child of ours): Ok(exit code) or Err(signal); None on timeout.
fn wait_pid(pid: libc::pid_t, timeout: Duration) -> Option<Result<i32, i32>> {
    let end = Instant::now() + timeout;
    loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(if libc::WIFEXITED(status) {
                Ok(libc::WEXITSTATUS(status))
            } else {
                Err(libc::WTERMSIG(status))
            });
        }
        assert!(
            r == 0,
            "waitpid({pid}): {}",
            std::io::Error::last_os_error()
        );
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn foreground_sigterm_unmounts_and_exits_zero() {
    let mut m = TestMount::memory();
    fs::write(m.vram().join("x"), b"x").unwrap();
    let status = m
        .signal_and_wait(libc::SIGTERM)
        .expect("no exit 10 s after SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status}"
    );
    assert!(!is_mounted(m.mnt()), "still mounted after SIGTERM");
}

#[test]
fn foreground_sigint_unmounts_and_exits_zero() {
    let mut m = TestMount::memory();
    let status = m
        .signal_and_wait(libc::SIGINT)
        .expect("no exit 10 s after SIGINT");
    assert_eq!(status.code(), Some(0), "exit status after SIGINT: {status}");
    assert!(!is_mounted(m.mnt()), "still mounted after SIGINT");
}

#[test]
fn fusermount_u_stops_the_foreground_daemon() {
    let mut m = TestMount::memory();
    let out = Command::new("fusermount3")
        .arg("-u")
        .arg(m.mnt())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fusermount3 -u: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let status = m
        .wait_exit(Duration::from_secs(10))
        .expect("no exit after unmount");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after unmount: {status}; stderr:\n{}",
        m.daemon_stderr()
    );
}

#[test]
fn dict_is_an_alias_of_memory() {
    let m = TestMount::with_args(&["--ram", "dict"]);
    fs::write(m.vram().join("f"), b"dict").unwrap();
    assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"dict");
    let m2 = TestMount::with_args(&["--ram", "memory"]);
    fs::write(m2.vram().join("f"), b"memory").unwrap();
    assert_eq!(fs::read(m2.vram().join("f")).unwrap(), b"memory");
}

#[test]
fn ram_limit_accepts_size_suffixes() {
    for (arg, bytes) in [
        ("4G", 4u64 << 30),
        ("512M", 512 << 20),
        ("1536K", 1536 << 10),
    ] {
        let m = TestMount::with_args(&["--ram-limit", arg]);
        let st = statvfs(&m.vram());
        assert_eq!(st.f_blocks * st.f_frsize, bytes, "--ram-limit {arg}");
    }
}

#[test]
fn read_only_option_refuses_writes() {
    let m = TestMount::with_args(&["-o", "ro"]);
    assert!(mounts_at(m.mnt())[0].options.split(',').any(|o| o == "ro"));
    assert_eq!(err(File::create(m.vram().join("f"))), libc::EROFS);
    assert_eq!(err(fs::create_dir(m.vdisk().join("d"))), libc::EROFS);
    assert!(fs::read_dir(m.vram()).unwrap().next().is_none());
}

#[test]
fn threads_option_is_accepted() {
    let m = TestMount::with_args(&["--threads", "1"]);
    fs::write(m.vram().join("f"), b"one thread").unwrap();
    assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"one thread");
}

#[test]
fn without_allow_other_other_users_are_refused() {
    let m = TestMount::memory();
    let vram = m.vram();
    let code = as_user(65534, 65534, || errno_or_zero(fs::metadata(&vram)));
    assert_eq!(
        code,
        libc::EACCES,
        "errno for another user without --allow-other"
    );
}

#[test]
fn allow_other_lets_other_users_in() {
    let m = TestMount::with_args(&["--allow-other"]);
    let vram = m.vram();
    let code = as_user(65534, 65534, || errno_or_zero(fs::read_dir(&vram)));
    assert_eq!(code, 0, "errno for another user with --allow-other");
}

#[test]
fn watchdog_unblocks_a_hung_mount() {
    // The harness itself: a daemon that stops answering must not hang the test.
    let m = TestMount::start(&[], None, Duration::from_secs(3));
    let pid = m.daemon_pid().unwrap();
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let start = Instant::now();
    let r = fs::metadata(m.vram().join("never-looked-up"));
    assert!(r.is_err(), "a stopped daemon answered");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    // The watchdog unmounts right after the kill that unblocked us.
    let end = Instant::now() + Duration::from_secs(10);
    while is_mounted(m.mnt()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!is_mounted(m.mnt()), "the watchdog left the mount in place");
}

/// Unmounts `mnt` when dropped, so that a failed assertion leaves no mount behind.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        if is_mounted(self.0) {
            force_unmount(self.0);
        }
    }
}

fn mount_options(mnt: &Path) -> String {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mnt = mnt.to_str().unwrap();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(mnt))
        .and_then(|l| l.split(' ').nth(5))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_mount_helper_takes_mount8s_arguments() {
    let (_t, root) = tmp();
    let (mnt, disk) = (root.join("mnt"), root.join("disk"));
    fs::create_dir(&mnt).unwrap();
    let helper = root.join("mount.fuse.mavfs");
    std::os::unix::fs::symlink(MOUNT_BIN, &helper).unwrap();
    let o = Command::new(&helper)
        .arg(&disk)
        .arg(&mnt)
        .args([
            "-o",
            "ram=memory,ram-limit=256M,noatime,nofail,_netdev,x-systemd.automount",
        ])
        .output()
        .unwrap();
    let _u = Unmount(&mnt);
    assert!(o.status.success(), "{o:?}");
    let e = mounts_at(&mnt);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].fstype, "fuse.mavfs");
    assert_eq!(Path::new(&e[0].source), disk);
    assert!(mount_options(&mnt).split(',').any(|o| o == "noatime"));
    fs::write(mnt.join("vram/x"), b"x").unwrap();
    let st = statvfs(&mnt.join("vram"));
    assert_eq!(st.f_blocks * st.f_frsize, 256 << 20, "ram_limit=256M");
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    until(Duration::from_secs(10), || !is_mounted(&mnt)).expect("unmounted");

    // An unknown option: one line naming it, nothing mounted.
    let o = Command::new(&helper)
        .arg(&disk)
        .arg(&mnt)
        .args(["-o", "ram=memory,colour=blue"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("'colour=blue'"), "{err}");
    assert!(!is_mounted(&mnt));
}

#[test]
fn mount_and_umount_work_with_type_fuse_mavfs() {
    // mount(8) looks for its helper in /sbin: put one there for this test if none is.
    let link = Path::new("/sbin/mount.fuse.mavfs");
    let ours = fs::symlink_metadata(link).is_err();
    if ours {
        std::os::unix::fs::symlink(MOUNT_BIN, link).unwrap();
    }
    struct Gone(bool);
    impl Drop for Gone {
        fn drop(&mut self) {
            if self.0 {
                let _ = fs::remove_file("/sbin/mount.fuse.mavfs");
            }
        }
    }
    let _gone = Gone(ours);
    let (_t, root) = tmp();
    let (mnt, disk) = (root.join("mnt"), root.join("disk"));
    fs::create_dir(&mnt).unwrap();
    let o = Command::new("mount")
        .args(["-t", "fuse.mavfs"])
        .arg(&disk)
        .arg(&mnt)
        .args(["-o", "ram=memory,ram_limit=128M"])
        .output()
        .unwrap();
    let _u = Unmount(&mnt);
    assert!(o.status.success(), "{o:?}");
    fs::write(mnt.join("vdisk/f"), b"kept").unwrap();
    // A remount read-only: writes fail with EROFS, reads go on.
    let o = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&mnt)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(err(fs::write(mnt.join("vdisk/g"), b"no")), libc::EROFS);
    assert_eq!(fs::read(mnt.join("vdisk/f")).unwrap(), b"kept");
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    until(Duration::from_secs(10), || !is_mounted(&mnt)).expect("unmounted");
    assert_eq!(fs::read(disk.join("f")).unwrap(), b"kept");
}
