//! From a validated `MountConfig` to a running session: build the tiers, mount, report
//! readiness, serve until unmounted.
//!
//! Without `--foreground` the process forks before any thread exists; the child mounts and
//! tells the parent through a pipe whether the mount answers, so the parent exits 0 only for
//! a usable mount and otherwise prints the child's one-line error. SIGINT and SIGTERM are
//! taken by a dedicated thread (blocked everywhere else) and unmount cleanly.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use fuser::{BackgroundSession, Config, MountOption, Notifier, Session, SessionACL};
use log::{info, warn};

use crate::config::{MountConfig, RamKind};
use crate::disk::DiskTier;
use crate::fs::fuse::{FuseFs, MEMORY_TTL};
use crate::fs::{Ctx, MavFs};
use crate::metrics;
use crate::ram::{MemoryStore, RamStore, RedisStore, Snapshots};

/// Attribute and entry timeout of `vram/` on Redis: other mounts may change the tree, so the
/// kernel may trust what it was told only this long.
pub const REDIS_TTL: std::time::Duration = crate::ram::redis::ATTR_TTL;

fn owner() -> Ctx {
    // SAFETY: getuid/getgid have no preconditions.
    unsafe {
        Ctx {
            uid: libc::getuid(),
            gid: libc::getgid(),
            pid: std::process::id(),
            umask: 0,
        }
    }
}

/// How long a mount waits for the daemon before it (still saving after its unmount) to let
/// go of a snapshot dir.
const SNAPSHOT_DIR_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The in-process store: loaded from its snapshot dir if it has one (each snapshot passed
/// over said in one line), else new.
fn memory_store(cfg: &MountConfig, who: Ctx) -> Result<Arc<MemoryStore>, String> {
    let limit = cfg.memory_limit();
    let Some(dir) = &cfg.snapshot_dir else {
        return Ok(Arc::new(MemoryStore::new(limit, who.uid, who.gid)));
    };
    let snaps = Arc::new(Snapshots::open(dir, &cfg.mountpoint, SNAPSHOT_DIR_WAIT)?);
    let (store, notes) = MemoryStore::from_snapshots(snaps, limit, who.uid, who.gid)?;
    for n in notes {
        warn!("{n}");
        eprintln!("mavfs-mount: {n}");
    }
    Ok(Arc::new(store))
}

/// The filesystem, and the in-process store if it is saved in a snapshot dir.
type Built = (FuseFs, Option<Arc<MemoryStore>>);

fn build(cfg: &MountConfig, notifier: Arc<OnceLock<Notifier>>) -> Result<Built, String> {
    if let Some(t) = cfg.tier {
        crate::fs::inode::set_root_tier(t);
    }
    let who = owner();
    let mut saved = None;
    let (store, ttl): (Arc<dyn RamStore>, _) = match cfg.ram {
        RamKind::Memory => {
            let store = memory_store(cfg, who)?;
            if cfg.snapshot_dir.is_some() {
                saved = Some(store.clone());
            }
            (store, MEMORY_TTL)
        }
        RamKind::Redis => {
            let store = RedisStore::connect(&cfg.redis, cfg.ram_limit, who.uid, who.gid)?;
            (Arc::new(store), REDIS_TTL)
        }
    };
    // The last of the atime options counts, as with mount(8).
    let atime = cfg
        .options
        .iter()
        .rev()
        .find(|o| matches!(o.as_str(), "atime" | "noatime" | "relatime" | "strictatime"))
        .is_none_or(|o| o != "noatime");
    let disk = DiskTier::with_atime(&cfg.disk_dir, atime)
        .map_err(|e| format!("disk dir {}: {e}", cfg.disk_dir.display()))?;
    // The last of acl and noacl counts; ACLs are on unless turned off.
    let acl = cfg
        .options
        .iter()
        .rev()
        .find(|o| matches!(o.as_str(), "acl" | "noacl"))
        .is_none_or(|o| o == "acl");
    let fs = FuseFs::new(
        MavFs::new(store, disk, cfg.disk_dir.clone(), who, ttl, notifier),
        cfg.writeback_cache,
        acl,
    );
    fs.control().start_policy(cfg.policy.clone());
    Ok((fs, saved))
}

/// Saves `store` every `interval` in which it changed, for the daemon's life.
fn save_periodically(store: Arc<MemoryStore>, interval: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("snapshots".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            if let Some(Err(e)) = store.save_if_changed() {
                warn!("{e}");
            }
        });
    if let Err(e) = spawned {
        warn!("cannot start the snapshot thread: {e}; snapshots only at unmount");
    }
}

fn fs_name(disk_dir: &Path) -> String {
    match disk_dir.to_str() {
        Some(p) if !p.contains(|c: char| c == ',' || c == '\\' || c.is_whitespace()) => {
            p.to_owned()
        }
        _ => "mavfs".into(),
    }
}

fn fuse_config(cfg: &MountConfig) -> Config {
    let mut c = Config::default();
    c.mount_options = vec![
        // What `df` and /proc/mounts show as the source: the disk dir, as a loop or bind
        // mount shows its backing path (where the mount options could not carry it, the
        // name of the filesystem).
        MountOption::FSName(match &cfg.source {
            Some(s) => s.clone(),
            None => fs_name(&cfg.disk_dir),
        }),
        // The type shows as `fuse.mavfs` (what mount(8) picks its helper by, on a remount
        // too). fuser's own subtype option reaches only fusermount; the kernel takes this.
        MountOption::CUSTOM("subtype=mavfs".into()),
        // The kernel checks mode bits itself; with allow_other this is what keeps one user's
        // permission check from serving the next.
        MountOption::DefaultPermissions,
    ];
    // acl and noacl are the daemon's to act on (`FuseFs::init`), not the kernel's.
    for o in cfg
        .options
        .iter()
        .filter(|o| !matches!(o.as_str(), "acl" | "noacl"))
    {
        c.mount_options.push(match o.as_str() {
            "ro" => MountOption::RO,
            "rw" => MountOption::RW,
            "noatime" => MountOption::NoAtime,
            "atime" => MountOption::Atime,
            "noexec" => MountOption::NoExec,
            "exec" => MountOption::Exec,
            "nosuid" => MountOption::NoSuid,
            "suid" => MountOption::Suid,
            "nodev" => MountOption::NoDev,
            "dev" => MountOption::Dev,
            "sync" => MountOption::Sync,
            "async" => MountOption::Async,
            "dirsync" => MountOption::DirSync,
            other => MountOption::CUSTOM(other.to_owned()),
        });
    }
    if cfg.allow_other {
        c.acl = SessionACL::All;
    }
    // Over io_uring the rings serve the requests; `/dev/fuse` carries only forgets, which
    // one reader takes in batches (`uring::rest_after_forgets`).
    c.n_threads = Some(if cfg.uring { 1 } else { cfg.threads.max(1) });
    c.clone_fd = true;
    c
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: the set is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Unmounts `mountpoint`: umount(2) as root (lazily if busy), else fusermount3.
pub fn unmount(mountpoint: &Path) -> std::io::Result<()> {
    let c = CString::new(mountpoint.as_os_str().as_bytes())?;
    // SAFETY: c is a valid C string.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        // SAFETY: c is a valid C string.
        Some(libc::EBUSY) if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 => Ok(()),
        Some(libc::EPERM) => {
            let st = std::process::Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(mountpoint)
                .status()?;
            if st.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "fusermount3 -u failed: {st}"
                )))
            }
        }
        _ => Err(err),
    }
}

/// The `major:minor` of the filesystem mounted at `mountpoint`, as mountinfo gives it.
fn mount_dev(mountpoint: &Path) -> Option<String> {
    let table = crate::config::mount_table();
    table
        .into_iter()
        .find(|m| m.point == mountpoint)
        .map(|m| m.dev)
}

/// The file that ends the FUSE connection mounted at `mountpoint` (fusectl names a
/// connection by its device's minor number).
fn connection_abort(mountpoint: &Path) -> Option<std::path::PathBuf> {
    let dev = mount_dev(mountpoint)?;
    let minor = dev.split_once(':')?.1;
    let conns = Path::new("/sys/fs/fuse/connections");
    let abort = conns.join(minor).join("abort");
    if !abort.exists() {
        // Where nothing mounted fusectl yet (systemd does): mount it, as root can.
        let _ = std::fs::create_dir_all(conns);
        // SAFETY: the strings are valid C strings; mount(2) reads them only.
        unsafe {
            libc::mount(
                c"fusectl".as_ptr(),
                c"/sys/fs/fuse/connections".as_ptr(),
                c"fusectl".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
    }
    abort.exists().then_some(abort)
}

/// Raises the FUSE mount's writeback and readahead limits (the kernel's defaults throttle a
/// FUSE mount to a fraction of what it can do). Best effort: needs root.
fn tune_bdi(mountpoint: &Path) {
    let Some(dev) = mount_dev(mountpoint) else {
        return;
    };
    let base = Path::new("/sys/class/bdi").join(&dev);
    for (file, value) in [
        ("read_ahead_kb", "1024"),
        ("max_ratio", "100"),
        ("strict_limit", "0"),
    ] {
        if let Err(e) = std::fs::write(base.join(file), value) {
            info!("bdi {dev}/{file}: {e}");
        }
    }
}

/// The disk tier holds one fd per inode the kernel knows (tens of thousands after a `cp -r`):
/// raise the open-file limit as far as allowed (to `fs.nr_open` as root, else the hard limit).
fn raise_fd_limit() {
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    // SAFETY: getrlimit/setrlimit write and read the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = libc::rlimit {
            rlim_cur: ceiling.max(lim.rlim_max),
            rlim_max: ceiling.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &want) != 0 {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                warn!(
                    "cannot raise the open-file limit: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// Mounts and serves until unmounted. `ready` is told once the mount answers.
fn serve(cfg: &MountConfig, ready: impl FnOnce(Result<(), String>)) -> Result<(), String> {
    let sigs = block_signals();
    // Modes from the kernel already carry the caller's umask; the daemon's must not apply
    // a second time to what it creates on the host.
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0) };
    raise_fd_limit();
    let (bg, saved) = match start(cfg) {
        Ok(started) => {
            ready(Ok(()));
            crate::sd_notify::notify(&format!(
                "READY=1\nSTATUS=serving {}",
                cfg.mountpoint.display()
            ));
            started
        }
        Err(e) => {
            ready(Err(e.clone()));
            return Err(e);
        }
    };
    let mp = cfg.mountpoint.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig = 0;
            // SAFETY: sigs is the initialised set blocked in every thread.
            if unsafe { libc::sigwait(&sigs, &mut sig) } == 0 {
                info!("signal {sig}: unmounting {}", mp.display());
                crate::sd_notify::notify("STOPPING=1");
                if let Err(e) = unmount(&mp) {
                    warn!("unmount {}: {e}", mp.display());
                }
            }
        })
        .map_err(|e| e.to_string())?;
    if let (Some(store), Some(every)) = (&saved, cfg.snapshot_interval) {
        save_periodically(store.clone(), every);
    }
    let ended = join_without_unmount(bg, &cfg.mountpoint);
    // Unmounted: nothing changes the store any more, so this is its last state.
    if let Some(Err(e)) = saved.and_then(|s| s.save_and_close()) {
        warn!("{e}");
        return Err(format!("vram/ not saved at unmount: {e}"));
    }
    ended
}

/// Waits for the session to end. fuser's handle unmounts the mount point when it is dropped,
/// and its check that the mount is still there misses that the kernel ended it: by then
/// `umount` has, and a new mount at the same place (`mount` right after `umount`) would be
/// the one taken away. So the handle is forgotten; only a session that failed while still
/// mounted is unmounted here.
fn join_without_unmount(mut bg: BackgroundSession, mountpoint: &Path) -> Result<(), String> {
    let placeholder = std::thread::spawn(|| Ok(()));
    let session = std::mem::replace(&mut bg.guard, placeholder);
    std::mem::forget(bg);
    let ended = match session.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("session ended with an error: {e}")),
        Err(_) => Err("session ended with an error: its thread panicked".to_owned()),
    };
    if ended.is_err() {
        let _ = unmount(mountpoint);
    }
    ended
}

/// Builds the filesystem, mounts it and serves it in the background; `Err` is the one line
/// that tells why not.
fn start(cfg: &MountConfig) -> Result<(BackgroundSession, Option<Arc<MemoryStore>>), String> {
    let notifier = Arc::new(OnceLock::new());
    let (fs, saved) = build(cfg, notifier.clone())?;
    // Bound before mounting, so that a taken port is the mount's one-line error.
    let metrics = cfg
        .metrics_addr
        .map(|addr| metrics::Endpoint::bind(addr, &fs.control()))
        .transpose()?;
    if let Some(a) = metrics.as_ref().and_then(|m| m.local_addr()) {
        info!("metrics at http://{a}/metrics");
    }
    let mp = cfg.mountpoint.display();
    let granted = Arc::new(AtomicBool::new(false));
    let fs = if cfg.uring {
        crate::uring::check_switch()?;
        fs.want_uring(granted.clone())
    } else {
        fs
    };
    let session = Session::new(fs, &cfg.mountpoint, &fuse_config(cfg))
        .map_err(|e| format!("cannot mount {mp}: {e}"))?;
    let _ = notifier.set(session.notifier());
    let bg = if cfg.uring {
        if !granted.load(Ordering::Acquire) {
            return Err(format!(
                "cannot mount {mp}: the kernel did not offer FUSE over io_uring (Linux 6.14+)"
            ));
        }
        let dev = session
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("cannot start serving {mp}: {e}"))?;
        let abort = connection_abort(&cfg.mountpoint);
        let (tx, rx) = std::sync::mpsc::channel();
        let bg = session
            .spawn_with(move |d| {
                let _ = tx.send(crate::uring::serve(dev, d, abort));
            })
            .map_err(|e| format!("cannot start serving {mp}: {e}"))?;
        // Dropping the session unmounts it, so a refusal leaves nothing mounted.
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(Ok(())) => bg,
            Ok(Err(e)) => return Err(format!("cannot mount {mp}: {e}")),
            Err(_) => return Err(format!("cannot mount {mp}: io_uring queues did not start")),
        }
    } else {
        session
            .spawn()
            .map_err(|e| format!("cannot start serving {mp}: {e}"))?
    };
    tune_bdi(&cfg.mountpoint);
    if let Some(m) = metrics {
        if let Err(e) = m.spawn() {
            warn!("cannot serve metrics: {e}");
        }
    }
    // In the background, whoever started us waits for proof that the mount answers. In the
    // foreground nobody waits, and a stat of our own would only hold the mount busy for a
    // moment, failing an immediate `umount` with EBUSY.
    if !cfg.foreground {
        if let Err(e) = std::fs::metadata(&cfg.mountpoint) {
            let _ = unmount(&cfg.mountpoint);
            return Err(format!("mount {mp} does not answer: {e}"));
        }
    }
    Ok((bg, saved))
}

/// Runs `mavfs-mount` with a validated config; `Err` is the one line to print.
pub fn run(cfg: MountConfig) -> Result<(), String> {
    if cfg.foreground {
        return serve(&cfg, |r| {
            if r.is_ok() {
                info!("mounted {}", cfg.mountpoint.display());
            }
        });
    }
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two ends.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both ends are fresh fds owned from here on.
    let (mut rx, tx) = unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            OwnedFd::from_raw_fd(fds[1]),
        )
    };
    // SAFETY: no other thread exists yet in this process, so the child may go on freely.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            drop(rx);
            // SAFETY: setsid/chdir have no memory preconditions.
            unsafe {
                libc::setsid();
                libc::chdir(c"/".as_ptr());
            }
            let mut tx = File::from(tx);
            let result = serve(&cfg, move |r| {
                let msg = match r {
                    Ok(()) => "ok\n".to_owned(),
                    Err(e) => format!("error {e}\n"),
                };
                let _ = tx.write_all(msg.as_bytes());
                // Closing the pipe is what lets the parent's read end.
                drop(tx);
                detach_stdio();
            });
            std::process::exit(if result.is_ok() { 0 } else { 1 });
        }
        _ => {
            drop(tx);
            let mut answer = String::new();
            let _ = rx.read_to_string(&mut answer);
            match answer.trim_end().strip_prefix("error ") {
                Some(e) => Err(e.to_owned()),
                None if answer.starts_with("ok") => Ok(()),
                None => Err("the mount daemon exited before the mount was ready".into()),
            }
        }
    }
}

/// Points stdin/stdout/stderr at /dev/null once the daemon no longer talks to a terminal.
fn detach_stdio() {
    // SAFETY: dup2 onto the standard fds; the /dev/null fd is closed after.
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            for std_fd in 0..3 {
                libc::dup2(fd, std_fd);
            }
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}
