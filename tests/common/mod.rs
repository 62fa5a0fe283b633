//! Test harness: mounts `mavfs-mount` on a temporary directory, unmounts it on drop
//! (also after a panic), and keeps a watchdog so that a hung daemon fails the test
//! instead of hanging the whole suite.

#![allow(dead_code)]

pub mod cluster;

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Drops the kernel's unused dentries and inodes (`echo 2 > drop_caches`) and keeps any
/// other test of this binary from dropping them again while the guard lives: a test that
/// counts what the kernel asks after a drop must not see a second drop's lookups.
pub fn drop_kernel_caches() -> MutexGuard<'static, ()> {
    static DROPPING: Mutex<()> = Mutex::new(());
    let guard = DROPPING.lock().unwrap_or_else(|e| e.into_inner());
    fs::write("/proc/sys/vm/drop_caches", "2").expect("drop the kernel's caches (needs root)");
    guard
}

/// The binary under test.
pub const MOUNT_BIN: &str = env!("CARGO_BIN_EXE_mavfs-mount");

/// How long a mount may live before the watchdog kills its daemon.
/// Override with `MAVFS_TEST_DEADLINE_SECS`.
pub fn default_deadline() -> Duration {
    let secs = std::env::var("MAVFS_TEST_DEADLINE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// One line of /proc/self/mountinfo, reduced to what the tests look at.
#[derive(Debug, Clone)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
    pub options: String,
}

/// Undo the octal escapes (`\040` for a space, ...) of /proc/self/mountinfo.
fn unescape(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let s = std::str::from_utf8(&b[i + 1..i + 4]).unwrap();
            out.push(u8::from_str_radix(s, 8).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsStr::from_bytes(&out))
}

pub fn mount_entries() -> Vec<MountEntry> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some(MountEntry {
                mount_point: unescape(left.get(4)?),
                options: left.get(5)?.to_string(),
                fstype: right.first()?.to_string(),
                source: right.get(1)?.to_string(),
            })
        })
        .collect()
}

/// All mounts stacked on `path` (normally zero or one).
pub fn mounts_at(path: &Path) -> Vec<MountEntry> {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mount_entries()
        .into_iter()
        .filter(|e| e.mount_point == path)
        .collect()
}

pub fn is_mounted(path: &Path) -> bool {
    !mounts_at(path).is_empty()
}

/// Unmount `path`: `fusermount3 -u`, then `umount`, then a lazy `umount -l`.
pub fn force_unmount(path: &Path) {
    let attempts: [(&str, &[&str]); 3] = [
        ("fusermount3", &["-u", "-q"]),
        ("umount", &[]),
        ("umount", &["-l"]),
    ];
    for (cmd, args) in attempts {
        if !is_mounted(path) {
            return;
        }
        let _ = Command::new(cmd)
            .args(args)
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Wait for `child` to exit, at most `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= end {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A mounted mavfs on a temporary directory, with its daemon running in the foreground.
pub struct TestMount {
    mnt: PathBuf,
    disk: PathBuf,
    stderr_path: PathBuf,
    child: Option<Child>,
    watchdog_done: Arc<AtomicBool>,
    /// The mount's own redis-server (`TestMount::redis()`), stopped after the unmount.
    redis: Option<RedisServer>,
    // Dropped last: removes the temporary directory once everything is unmounted.
    dir: tempfile::TempDir,
}

impl TestMount {
    /// A mount with the default (in-process memory) RAM store.
    pub fn memory() -> TestMount {
        TestMount::with_args(&[])
    }

    /// A mount with `--ram redis` on a redis-server of its own (stopped with the mount).
    pub fn redis() -> TestMount {
        let server = RedisServer::start();
        let mut m = TestMount::with_redis(&server, &[]);
        m.redis = Some(server);
        m
    }

    /// A mount with `--ram redis` on `server`, plus extra arguments (`--redis-prefix`, ...).
    pub fn with_redis(server: &RedisServer, args: &[&str]) -> TestMount {
        let url = server.url();
        let mut all = vec!["--ram", "redis", "--redis-url", url.as_str()];
        all.extend_from_slice(args);
        TestMount::with_args(&all)
    }

    /// The redis-server a `TestMount::redis()` runs on.
    pub fn redis_server(&self) -> Option<&RedisServer> {
        self.redis.as_ref()
    }

    /// A mount with extra `mavfs-mount` arguments.
    pub fn with_args(args: &[&str]) -> TestMount {
        TestMount::start(args, None, default_deadline())
    }

    /// Full control: extra arguments, a disk dir (default: `<tmp>/disk`, created first),
    /// and the watchdog's deadline.
    pub fn start(args: &[&str], disk_dir: Option<&Path>, deadline: Duration) -> TestMount {
        TestMount::start_env(args, disk_dir, deadline, &[])
    }

    /// `start`, with variables set in the daemon's environment only (the test build's
    /// hooks: `MAVFS_TEST_BLOCK_PAUSE_MS`, `MAVFS_TEST_CORRUPT_COPIES`).
    pub fn start_env(
        args: &[&str],
        disk_dir: Option<&Path>,
        deadline: Duration,
        env: &[(&str, &str)],
    ) -> TestMount {
        let dir = tempfile::Builder::new()
            .prefix("mavfs-test-")
            .tempdir()
            .expect("create temp dir");
        let root = fs::canonicalize(dir.path()).expect("canonicalize temp dir");
        // Other uids (see `as_user`) must be able to reach the mount point.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        let mnt = root.join("mnt");
        fs::create_dir(&mnt).expect("create mount point");
        let disk = match disk_dir {
            Some(d) => d.to_path_buf(),
            None => {
                let d = root.join("disk");
                fs::create_dir(&d).expect("create disk dir");
                d
            }
        };
        let stderr_path = root.join("daemon.stderr");
        let stderr = fs::File::create(&stderr_path).expect("create stderr file");
        let child = Command::new(MOUNT_BIN)
            .arg(&mnt)
            .arg("--disk-dir")
            .arg(&disk)
            .arg("-f")
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("dup stderr file"))
            .stderr(stderr)
            .spawn()
            .expect("spawn mavfs-mount");
        let watchdog_done = Arc::new(AtomicBool::new(false));
        spawn_watchdog(
            mnt.clone(),
            child.id() as libc::pid_t,
            deadline,
            watchdog_done.clone(),
        );
        let mut tm = TestMount {
            mnt,
            disk,
            stderr_path,
            child: Some(child),
            watchdog_done,
            redis: None,
            dir,
        };
        tm.wait_mounted(Duration::from_secs(10));
        tm
    }

    fn wait_mounted(&mut self, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            // Listed, and answering: the kernel holds the stat until the daemon's handshake
            // is done, so an unmount from here on meets a running session.
            if is_mounted(&self.mnt) && fs::metadata(self.mnt.join(".mavfs-ctl")).is_ok() {
                return;
            }
            let child = self.child.as_mut().unwrap();
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "mavfs-mount exited ({status}) before mounting; stderr:\n{}",
                    self.daemon_stderr()
                );
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} not mounted after {timeout:?}; stderr:\n{}",
                    self.mnt.display(),
                    self.daemon_stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn mnt(&self) -> &Path {
        &self.mnt
    }

    pub fn vram(&self) -> PathBuf {
        self.mnt.join("vram")
    }

    pub fn vdisk(&self) -> PathBuf {
        self.mnt.join("vdisk")
    }

    /// The host directory behind `vdisk/`.
    pub fn disk_dir(&self) -> &Path {
        &self.disk
    }

    /// The temporary directory holding the mount point and the disk dir.
    pub fn temp_root(&self) -> &Path {
        self.mnt.parent().unwrap()
    }

    pub fn daemon_pid(&self) -> Option<libc::pid_t> {
        self.child.as_ref().map(|c| c.id() as libc::pid_t)
    }

    /// What the daemon wrote on stderr so far.
    pub fn daemon_stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Send `sig` to the daemon and wait (at most 10 s) for it to exit.
    pub fn signal_and_wait(&mut self, sig: libc::c_int) -> Option<ExitStatus> {
        let pid = self.daemon_pid()?;
        unsafe { libc::kill(pid, sig) };
        self.wait_exit(Duration::from_secs(10))
    }

    /// Wait (at most `timeout`) for the daemon to exit, e.g. after an unmount.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_timeout(self.child.as_mut()?, timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }
}

impl Drop for TestMount {
    fn drop(&mut self) {
        if is_mounted(&self.mnt) {
            force_unmount(&self.mnt);
        }
        if let Some(mut child) = self.child.take() {
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                eprintln!("mavfs-mount did not exit after unmount; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if is_mounted(&self.mnt) {
            force_unmount(&self.mnt);
        }
        self.watchdog_done.store(true, Ordering::SeqCst);
        if thread::panicking() {
            eprintln!("--- mavfs-mount stderr ---\n{}", self.daemon_stderr());
        }
    }
}

fn spawn_watchdog(mnt: PathBuf, pid: libc::pid_t, deadline: Duration, done: Arc<AtomicBool>) {
    thread::spawn(move || {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            if done.load(Ordering::SeqCst) {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
        if done.load(Ordering::SeqCst) || !is_mounted(&mnt) {
            return;
        }
        eprintln!(
            "watchdog: {} still mounted after {deadline:?}; killing mavfs-mount (pid {pid})",
            mnt.display()
        );
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&mnt)
            .stderr(Stdio::null())
            .status();
    });
}

/// Run `f` in a forked child with the given uid and gid (no supplementary groups) and
/// return the child's exit status (`f`'s result; 101 if it panicked; 128+N if killed by
/// signal N). Keep `f` simple: the child is a copy of a multi-threaded process.
pub fn as_user<F: FnOnce() -> i32>(uid: u32, gid: u32, f: F) -> i32 {
    as_user_in(uid, gid, &[], f)
}

/// `as_user`, with supplementary `groups`.
pub fn as_user_in<F: FnOnce() -> i32>(uid: u32, gid: u32, groups: &[u32], f: F) -> i32 {
    // SAFETY: the child only runs `f` and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        let code = unsafe {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                125
            } else {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101)
            }
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        assert_eq!(err.raw_os_error(), Some(libc::EINTR), "waitpid: {err}");
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// The errno of an I/O error (-1 if it carries none).
pub fn errno_of(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

/// The errno of a result that must be an error.
pub fn err<T: std::fmt::Debug>(r: io::Result<T>) -> i32 {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => errno_of(e),
    }
}

/// The errno of a failed call (0 if it succeeded) — for use inside `as_user` children.
pub fn errno_or_zero<T>(r: io::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => errno_of(e),
    }
}

pub fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

/// Turn a libc return value into an `io::Result`.
pub fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

pub fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    let (a, b) = (cstr(from), cstr(to));
    cvt(unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

pub fn statvfs(p: &Path) -> libc::statvfs {
    let c = cstr(p);
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::statvfs(c.as_ptr(), &mut st) }).expect("statvfs");
    st
}

/// Deterministic pseudo-random bytes, so failures are reproducible.
// Not every test crate that includes this module uses it.
#[allow(unused_imports)]
pub use mavfs::rng::Rng;

/// FNV-1a, enough to compare large buffers in assertion messages.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// `n` bytes that look random, the same for the same `seed` (xorshift).
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A redis-server of the test's own: a free loopback port, a temporary directory, no RDB
/// snapshots; stopped by PID on drop. Never a server of the machine's.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Nothing is written to disk.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&["--appendonly", "no"])
    }

    /// With the append-only file on, so that `stop` then `restart` keeps the data.
    pub fn start_persistent() -> RedisServer {
        RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// With extra `redis-server` options (`--requirepass x`, `--maxmemory-policy ...`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("mavfs-redis-")
            .tempdir()
            .expect("create redis temp dir");
        let mut server = RedisServer {
            child: None,
            port: 0,
            args: extra.iter().map(|a| a.to_string()).collect(),
            dir,
        };
        // A cluster node listens on port + 10000 too: that must be a port as well.
        let cluster = extra.contains(&"--cluster-enabled");
        for _ in 0..5 {
            server.port = free_port();
            while cluster && server.port > 55535 {
                server.port = free_port();
            }
            if server.spawn() {
                return server;
            }
        }
        panic!(
            "redis-server did not start; log:\n{}",
            fs::read_to_string(server.dir.path().join("redis.log")).unwrap_or_default()
        );
    }

    /// Starts the process on `self.port`; false if it exited or never answered.
    fn spawn(&mut self) -> bool {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("redis.log"))
            .expect("create redis log");
        // `--tls-port` among the extra options (with any value) asks for a server that
        // listens with TLS only, on the port picked here.
        let tls = self.args.iter().any(|a| a == "--tls-port");
        let mut extra = Vec::new();
        let mut skip = false;
        for a in &self.args {
            if std::mem::take(&mut skip) {
                continue;
            }
            if a == "--tls-port" {
                skip = true;
                continue;
            }
            extra.push(a.clone());
        }
        let (port, tls_port) = if tls {
            ("0".to_string(), self.port.to_string())
        } else {
            (self.port.to_string(), String::new())
        };
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port]);
        if tls {
            cmd.args(["--tls-port", &tls_port]);
        }
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup redis log"))
            .stderr(log)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                panic!("redis-server is not installed (apt-get install redis-server)")
            }
            Err(e) => panic!("spawn redis-server: {e}"),
        };
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if self.ping() {
                self.child = Some(child);
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn ping(&self) -> bool {
        if self.args.iter().any(|a| a == "--tls-port") {
            // Listening is enough: the handshake needs the test's certificates.
            return std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
        }
        let Ok(client) = redis::Client::open(self.url().as_str()) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return false;
        };
        match redis::cmd("PING").query::<String>(&mut con) {
            Ok(_) => true,
            // Up, but asking for a password: that still counts as answering.
            Err(e) => e.code() == Some("NOAUTH"),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn pid(&self) -> Option<libc::pid_t> {
        self.child.as_ref().map(|c| c.id() as libc::pid_t)
    }

    /// A connection for the test itself (CONFIG SET, inspecting keys, ...).
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url().as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            .expect("connect to the test redis-server")
    }

    /// Stops the server (SIGTERM by PID, SIGKILL after 10 s); the port stays reserved for
    /// `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts it again on the same port and directory (with its append-only file, if on).
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not restart on port {}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

/// How a `mavfs-mount` run ended.
pub struct Outcome {
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `mavfs-mount args...`, killing it after `timeout`. Its output goes to files so that
/// a daemon left behind cannot keep a pipe open.
pub fn run_mount(args: &[&str], timeout: Duration) -> Outcome {
    let out = tempfile::tempdir().unwrap();
    let err_path = out.path().join("stderr");
    let mut child = Command::new(MOUNT_BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn mavfs-mount");
    let status = match wait_timeout(&mut child, timeout) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let s = child.wait().unwrap();
            let stderr = fs::read_to_string(&err_path).unwrap_or_default();
            panic!("mavfs-mount {args:?} still running after {timeout:?} ({s}); stderr: {stderr}");
        }
    };
    Outcome {
        status,
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Asserts a refusal: non-zero exit (not a signal), exactly one line on stderr, starting
/// with `mavfs-mount: ` and naming `key`. Returns that line.
/// `mavfs-mount MNT --disk-dir DISK args...` in daemon mode (the error comes back through
/// the daemon's ready pipe); whether it mounted, and it unmounts whatever it mounted.
pub fn mount_with(args: &[&str]) -> (Outcome, bool) {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let disk = t.path().join("disk");
    let mut all = vec![mnt.to_str().unwrap(), "--disk-dir", disk.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run_mount(&all, Duration::from_secs(30));
    let mounted = is_mounted(&mnt);
    if mounted {
        force_unmount(&mnt);
    }
    (out, mounted)
}

/// A refused mount: non-zero exit, one line `mavfs-mount: ...` containing `key`, no mount.
pub fn assert_refused(args: &[&str], key: &str) -> String {
    let (out, mounted) = mount_with(args);
    assert!(!mounted, "{args:?} left a mount behind");
    assert_one_line_error(&out, args, key)
}

pub fn assert_one_line_error(out: &Outcome, args: &[&str], key: &str) -> String {
    assert!(
        !out.status.success(),
        "{args:?} exited 0; stderr: {}",
        out.stderr
    );
    assert!(
        out.status.code().is_some(),
        "{args:?} died from a signal: {}",
        out.status
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "want one line on stderr, got: {:?}",
        out.stderr
    );
    assert!(
        lines[0].starts_with("mavfs-mount: "),
        "message should start with `mavfs-mount: `: {:?}",
        lines[0]
    );
    assert!(
        lines[0].contains(key),
        "message should name the cause ({key}): {:?}",
        lines[0]
    );
    lines[0].to_owned()
}

/// `stats` through the control file, as `mavfsctl stats --json` would ask: the `result`.
pub fn ctl_stats(mnt: &Path) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(mnt.join(".mavfs-ctl"))
        .expect("open the control file");
    f.write_all(b"{\"v\":1,\"op\":\"stats\"}\n")
        .expect("write a stats request");
    let mut text = String::new();
    f.read_to_string(&mut text).expect("read the answer");
    let last = text.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("answer {last:?}: {e}"));
    assert_eq!(v["state"], "done", "{v}");
    v["result"].clone()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tier {
    Vram,
    Vdisk,
}

/// `both_tiers!(name)` (or `both_tiers!(name, "--mount-arg", ...)`) makes the tests
/// `name::vram`, `name::vram_redis` (on a redis-server of its own) and `name::vdisk`, each
/// calling `name(mount, tier dir, tier)` on a fresh mount.
#[allow(unused_macros)]
macro_rules! both_tiers {
    ($name:ident $(, $arg:expr)*) => {
        mod $name {
            use super::*;

            #[test]
            fn vram() {
                let m = TestMount::with_args(&[$($arg),*]);
                super::$name(&m, &m.vram(), Tier::Vram);
            }

            #[test]
            fn vdisk() {
                let m = TestMount::with_args(&[$($arg),*]);
                super::$name(&m, &m.vdisk(), Tier::Vdisk);
            }

            #[test]
            fn vram_redis() {
                let server = RedisServer::start();
                let m = TestMount::with_redis(&server, &[$($arg),*]);
                super::$name(&m, &m.vram(), Tier::Vram);
                // The mount goes before its server.
                drop(m);
            }
        }
    };
}

/// `path` created empty (or emptied), open for reading and writing.
pub fn fresh(path: &Path) -> fs::File {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

/// Polls `f` every 50 ms until it holds (how long that took) or `limit` passes (None).
pub fn until(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if f() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The mount daemon's resident memory, in bytes.
pub fn daemon_rss(m: &TestMount) -> u64 {
    let pid = m.daemon_pid().expect("daemon pid");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// The daemon's RSS once it has stopped growing: after a big write the memory store maps in
/// a few spare chunk buffers ahead of need, on a thread of its own, for a moment longer.
pub fn settled_rss(m: &TestMount) -> u64 {
    let mut last = daemon_rss(m);
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = daemon_rss(m);
        if now.abs_diff(last) < 1 << 20 {
            return now;
        }
        last = now;
    }
    last
}

/// Proptest's settings for a test on real mounts: `PROPTEST_CASES` cases (else `cases`), no
/// failure files (a found failure is pinned as a `regression_*` test instead).
pub fn proptest_config(cases: u32, max_shrink_iters: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        max_shrink_iters,
        ..proptest::test_runner::Config::default()
    }
}

/// utimensat(2) with (seconds, nanoseconds) pairs; nanoseconds may be UTIME_NOW/UTIME_OMIT.
pub fn utimens(p: &Path, atime: (i64, i64), mtime: (i64, i64), flags: i32) -> io::Result<()> {
    let ts = [
        libc::timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        libc::timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    ];
    let c = cstr(p);
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), flags) }).map(drop)
}

/// `name_to_handle_at` of `p`: the handle's bytes (header included) and the mount id.
pub fn handle_of(p: &Path) -> Vec<u64> {
    let header = std::mem::size_of::<libc::file_handle>();
    let mut buf = vec![0u64; (header + libc::MAX_HANDLE_SZ as usize).div_ceil(8)];
    let fh = buf.as_mut_ptr().cast::<libc::file_handle>();
    let (c, mut mount_id) = (cstr(p), 0);
    unsafe {
        (*fh).handle_bytes = libc::MAX_HANDLE_SZ as u32;
        let r = libc::name_to_handle_at(libc::AT_FDCWD, c.as_ptr(), fh, &mut mount_id, 0);
        assert_eq!(r, 0, "name_to_handle_at: {}", io::Error::last_os_error());
    }
    buf
}

pub fn open_by_handle(mount: &fs::File, handle: &mut [u64]) -> io::Result<fs::File> {
    let fh = handle.as_mut_ptr().cast::<libc::file_handle>();
    let fd = cvt(unsafe {
        libc::open_by_handle_at(std::os::fd::AsRawFd::as_raw_fd(mount), fh, libc::O_RDONLY)
    })?;
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

pub fn set_xattr(p: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let (c, n) = (cstr(p), CString::new(name).unwrap());
    // SAFETY: both strings are NUL-terminated and the value is as long as said.
    cvt(unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(|_| ())
}

pub fn get_xattr(p: &Path, name: &str) -> io::Result<Vec<u8>> {
    let (c, n) = (cstr(p), CString::new(name).unwrap());
    let mut buf = vec![0u8; 65536];
    // SAFETY: both strings are NUL-terminated and the buffer is as long as said.
    let r = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(r as usize);
    Ok(buf)
}

/// Whether the running kernel is at least `major.minor`.
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

/// Redis's `used_memory`.
pub fn used_memory(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Sets Redis's `maxmemory` (0: none).
pub fn set_maxmemory(con: &mut redis::Connection, n: u64) {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(n)
        .query::<()>(con)
        .unwrap()
}

/// Script calls Redis has run so far.
pub fn scripts_run(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|l| l.split(',').next()?.parse().ok())
        .unwrap_or(0)
}
