//! The mounted tree: the root, both tiers, and what crosses between them.
//!
//! Behaviours that hold on both tiers are written once and run on `vram/` and on
//! `vdisk/` (`on_both_tiers!` makes a module with one test per tier).

#[macro_use]
mod common;

use common::*;
use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{
    chown, lchown, symlink, DirEntryExt, FileExt, FileTypeExt, MetadataExt, OpenOptionsExt,
    PermissionsExt,
};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NOBODY: u32 = 65534;
const MIB: usize = 1 << 20;

/// Where `rel` (a path inside the tier) lives on the host, for `vdisk/` only.
fn host(m: &TestMount, tier: Tier, rel: &str) -> Option<PathBuf> {
    (tier == Tier::Vdisk).then(|| m.disk_dir().join(rel))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, Permissions::from_mode(mode)).unwrap();
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn mkfifo(p: &Path, mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(p);
    cvt(unsafe { libc::mkfifo(c.as_ptr(), mode) }).map(drop)
}

fn fallocate(f: &File, mode: i32, off: u64, len: u64) -> io::Result<()> {
    cvt(unsafe { libc::fallocate(f.as_raw_fd(), mode, off as i64, len as i64) }).map(drop)
}

fn setxattr(p: &Path, name: &str, value: &[u8], flags: i32) -> io::Result<()> {
    let (c, n) = (cstr(p), cstr(Path::new(name)));
    cvt(unsafe {
        libc::setxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    })
    .map(drop)
}

/// getxattr(2) into a buffer of `size` bytes (0: ask for the size); returns the length.
fn getxattr_len(p: &Path, name: &str, buf: &mut [u8]) -> io::Result<usize> {
    let (c, n) = (cstr(p), cstr(Path::new(name)));
    let r = unsafe { libc::getxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

fn getxattr(p: &Path, name: &str) -> io::Result<Vec<u8>> {
    let len = getxattr_len(p, name, &mut [])?;
    let mut buf = vec![0u8; len];
    let got = getxattr_len(p, name, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

fn listxattr(p: &Path) -> io::Result<Vec<String>> {
    let c = cstr(p);
    let mut buf = vec![0u8; 64 * 1024];
    let r = unsafe { libc::listxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(buf[..r as usize]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

fn removexattr(p: &Path, name: &str) -> io::Result<()> {
    let (c, n) = (cstr(p), cstr(Path::new(name)));
    cvt(unsafe { libc::removexattr(c.as_ptr(), n.as_ptr()) }).map(drop)
}

/// Run a command, assert it succeeded, return its stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn command");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// The root and the space between the tiers

#[test]
fn root_refuses_new_entries_with_eperm() {
    let m = TestMount::memory();
    let mnt = m.mnt();
    let both = set(&["vdisk", "vram"]);
    assert_eq!(names(mnt), both);
    assert!(fs::metadata(m.vram()).unwrap().is_dir());
    assert!(fs::metadata(m.vdisk()).unwrap().is_dir());
    let ls = run(Command::new("ls").arg("-1a").arg(mnt));
    assert_eq!(ls.lines().collect::<Vec<_>>(), [".", "..", "vdisk", "vram"]);

    assert_eq!(err(File::create(mnt.join("file"))), libc::EPERM);
    assert_eq!(err(fs::create_dir(mnt.join("dir"))), libc::EPERM);
    assert_eq!(err(symlink("vram", mnt.join("link"))), libc::EPERM);
    assert_eq!(err(mkfifo(&mnt.join("fifo"), 0o644)), libc::EPERM);

    fs::write(m.vram().join("f"), b"x").unwrap();
    let e = err(fs::rename(m.vram().join("f"), mnt.join("f")));
    assert!(
        e == libc::EPERM || e == libc::EXDEV,
        "rename into the root: errno {e}"
    );
    let e = err(fs::hard_link(m.vram().join("f"), mnt.join("f")));
    assert!(
        e == libc::EPERM || e == libc::EXDEV,
        "link into the root: errno {e}"
    );

    assert!(fs::remove_dir(m.vram()).is_err(), "rmdir vram succeeded");
    assert!(fs::remove_dir(m.vdisk()).is_err(), "rmdir vdisk succeeded");
    assert!(fs::rename(m.vram(), mnt.join("other")).is_err());
    assert!(fs::rename(m.vdisk(), m.vram()).is_err());
    assert_eq!(names(mnt), both);
    assert_eq!(fs::read(m.vram().join("f")).unwrap(), b"x");
}

#[test]
fn rename_across_tiers_is_exdev() {
    let m = TestMount::memory();
    let (ram, disk) = (m.vram(), m.vdisk());
    fs::write(ram.join("a"), b"A").unwrap();
    fs::write(disk.join("b"), b"B").unwrap();
    fs::create_dir(ram.join("d")).unwrap();

    assert_eq!(err(fs::rename(ram.join("a"), disk.join("a"))), libc::EXDEV);
    assert_eq!(err(fs::rename(disk.join("b"), ram.join("b"))), libc::EXDEV);
    assert_eq!(err(fs::rename(ram.join("d"), disk.join("d"))), libc::EXDEV);
    assert_eq!(err(fs::rename(ram.join("a"), disk.join("b"))), libc::EXDEV);
    assert_eq!(
        err(renameat2(
            &ram.join("a"),
            &disk.join("b"),
            libc::RENAME_EXCHANGE
        )),
        libc::EXDEV
    );
    assert_eq!(
        err(fs::hard_link(ram.join("a"), disk.join("l"))),
        libc::EXDEV
    );
    assert_eq!(
        err(fs::hard_link(disk.join("b"), ram.join("l"))),
        libc::EXDEV
    );

    assert_eq!(fs::read(ram.join("a")).unwrap(), b"A");
    assert_eq!(fs::read(disk.join("b")).unwrap(), b"B");
    assert_eq!(names(&ram), set(&["a", "d"]));
    assert_eq!(names(&disk), set(&["b"]));
    assert_eq!(names(m.disk_dir()), names(&disk));
}

#[test]
fn mv_and_cp_across_tiers_copy_the_tree() {
    let m = TestMount::memory();
    let src = m.vram().join("proj");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.txt"), b"alpha\n").unwrap();
    let blob = Rng::new(7).bytes(300_000);
    fs::write(src.join("sub/b.bin"), &blob).unwrap();
    symlink("a.txt", src.join("link")).unwrap();
    set_mode(&src.join("a.txt"), 0o640);

    run(Command::new("mv").arg(&src).arg(m.vdisk().join("proj")));
    assert_eq!(err(fs::symlink_metadata(&src)), libc::ENOENT);
    let on_host = m.disk_dir().join("proj");
    assert_eq!(fs::read(on_host.join("a.txt")).unwrap(), b"alpha\n");
    assert!(fs::read(on_host.join("sub/b.bin")).unwrap() == blob);
    assert_eq!(
        fs::read_link(on_host.join("link")).unwrap(),
        Path::new("a.txt")
    );
    assert_eq!(mode(&on_host.join("a.txt")), 0o640);

    let copy = m.vram().join("copy");
    run(Command::new("cp")
        .arg("-a")
        .arg(m.vdisk().join("proj"))
        .arg(&copy));
    run(Command::new("diff")
        .arg("-r")
        .arg(m.vdisk().join("proj"))
        .arg(&copy));
    let ls = run(Command::new("ls").arg(&copy));
    assert_eq!(
        ls.split_whitespace().collect::<Vec<_>>(),
        ["a.txt", "link", "sub"]
    );
    assert_eq!(run(Command::new("cat").arg(copy.join("link"))), "alpha\n");
    assert_eq!(mode(&copy.join("a.txt")), 0o640);
    assert!(fs::symlink_metadata(copy.join("link"))
        .unwrap()
        .is_symlink());
}

#[test]
fn inode_numbers_differ_across_tiers() {
    let m = TestMount::memory();
    fs::write(m.vram().join("same"), b"1").unwrap();
    fs::write(m.vdisk().join("same"), b"2").unwrap();
    let inos: HashSet<u64> = [
        m.vram(),
        m.vdisk(),
        m.vram().join("same"),
        m.vdisk().join("same"),
    ]
    .iter()
    .map(|p| fs::metadata(p).unwrap().ino())
    .collect();
    assert_eq!(inos.len(), 4, "inode numbers collide: {inos:?}");
}

// ---------------------------------------------------------------------------------------
// vram only: the RAM limit

#[test]
fn write_past_ram_limit_is_enospc_and_keeps_old_files() {
    let m = TestMount::with_args(&["--ram-limit", "1M"]);
    let ram = m.vram();
    let st = statvfs(&ram);
    assert_eq!(
        st.f_blocks * st.f_frsize,
        MIB as u64,
        "statfs total of vram"
    );

    let keep = Rng::new(1).bytes(300 * 1024);
    let mut f = File::create(ram.join("keep")).unwrap();
    f.write_all(&keep).unwrap();
    f.sync_all().unwrap();
    drop(f);

    let chunk = vec![0x5au8; 64 * 1024];
    let mut f = File::create(ram.join("big")).unwrap();
    let mut written = 0;
    let mut failure = None;
    while written < 4 * MIB {
        match f.write_all(&chunk) {
            Ok(()) => written += chunk.len(),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() {
        failure = f.sync_all().err();
    }
    drop(f);
    let e = failure.unwrap_or_else(|| panic!("wrote {written} bytes past a 1 MiB limit"));
    assert_eq!(errno_of(e), libc::ENOSPC, "after {written} bytes");

    assert!(fs::read(ram.join("keep")).unwrap() == keep, "keep changed");
    fs::remove_file(ram.join("big")).unwrap();

    // Space comes back once the file is gone.
    let again = Rng::new(2).bytes(256 * 1024);
    fs::write(ram.join("again"), &again).unwrap();
    assert!(fs::read(ram.join("again")).unwrap() == again);

    // fallocate past the limit is refused too.
    let f = File::create(ram.join("prealloc")).unwrap();
    assert_eq!(err(fallocate(&f, 0, 0, 4 * MIB as u64)), libc::ENOSPC);
    drop(f);

    // The disk tier is not bound by the RAM limit.
    let big = Rng::new(3).bytes(2 * MIB);
    fs::write(m.vdisk().join("big"), &big).unwrap();
    assert!(fs::read(m.disk_dir().join("big")).unwrap() == big);
    assert!(fs::read(ram.join("keep")).unwrap() == keep, "keep changed");
}

#[test]
fn statfs_of_vram_shows_limit_and_use() {
    let m = TestMount::with_args(&["--ram-limit", "64M"]);
    let before = statvfs(&m.vram());
    assert_eq!(before.f_blocks * before.f_frsize, 64 << 20);
    assert!(before.f_bavail <= before.f_blocks);
    let mut f = File::create(m.vram().join("eight")).unwrap();
    f.write_all(&vec![1u8; 8 * MIB]).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let after = statvfs(&m.vram());
    let (free0, free1) = (
        before.f_bfree * before.f_frsize,
        after.f_bfree * after.f_frsize,
    );
    assert!(
        free1 + 7 * MIB as u64 <= free0,
        "free space went from {free0} to {free1} after storing 8 MiB"
    );
}

#[test]
fn statfs_of_vdisk_is_the_host_dir() {
    let m = TestMount::memory();
    let ours = statvfs(&m.vdisk());
    let theirs = statvfs(m.disk_dir());
    assert_eq!(
        ours.f_blocks * ours.f_frsize,
        theirs.f_blocks * theirs.f_frsize,
        "total size of vdisk vs the disk dir"
    );
}

// ---------------------------------------------------------------------------------------
// vdisk only: the host directory

#[test]
fn host_change_shows_through_vdisk() {
    let m = TestMount::memory();
    let (disk, hostdir) = (m.vdisk(), m.disk_dir().to_path_buf());

    fs::write(disk.join("through.txt"), b"from mount").unwrap();
    assert_eq!(
        fs::read(hostdir.join("through.txt")).unwrap(),
        b"from mount"
    );
    fs::create_dir(disk.join("dir")).unwrap();
    assert!(hostdir.join("dir").is_dir());

    // Look at things through the mount first, so that the kernel caches them.
    assert_eq!(err(fs::metadata(disk.join("later.txt"))), libc::ENOENT);
    fs::write(hostdir.join("grow.txt"), b"version one").unwrap();
    fs::write(hostdir.join("same.txt"), b"aaaa").unwrap();
    fs::write(hostdir.join("swap.txt"), b"old inode").unwrap();
    assert_eq!(fs::read(disk.join("grow.txt")).unwrap(), b"version one");
    assert_eq!(fs::read(disk.join("same.txt")).unwrap(), b"aaaa");
    assert_eq!(fs::read(disk.join("swap.txt")).unwrap(), b"old inode");
    thread::sleep(Duration::from_millis(50));

    // Now change them on the host.
    fs::write(hostdir.join("later.txt"), b"later").unwrap();
    fs::write(hostdir.join("grow.txt"), b"version two, longer than one").unwrap();
    fs::write(hostdir.join("same.txt"), b"bbbb").unwrap();
    fs::write(hostdir.join("swap.tmp"), b"new inode").unwrap();
    fs::rename(hostdir.join("swap.tmp"), hostdir.join("swap.txt")).unwrap();
    fs::remove_file(hostdir.join("through.txt")).unwrap();
    fs::create_dir(hostdir.join("hostdir")).unwrap();
    thread::sleep(Duration::from_millis(1200));

    assert_eq!(fs::read(disk.join("later.txt")).unwrap(), b"later");
    assert_eq!(
        fs::read(disk.join("grow.txt")).unwrap(),
        b"version two, longer than one"
    );
    assert_eq!(fs::read(disk.join("same.txt")).unwrap(), b"bbbb");
    assert_eq!(fs::read(disk.join("swap.txt")).unwrap(), b"new inode");
    assert_eq!(err(fs::metadata(disk.join("through.txt"))), libc::ENOENT);
    assert!(fs::metadata(disk.join("hostdir")).unwrap().is_dir());
    let expected = set(&[
        "dir",
        "grow.txt",
        "hostdir",
        "later.txt",
        "same.txt",
        "swap.txt",
    ]);
    assert_eq!(names(&disk), expected);
}

#[test]
fn symlink_in_disk_dir_does_not_let_daemon_escape() {
    let m = TestMount::memory();
    let hostdir = m.disk_dir().to_path_buf();

    // A host symlink to a file elsewhere is shown as a symlink; the kernel follows it in
    // the caller's namespace.
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("secret");
    fs::write(&secret, b"outside").unwrap();
    symlink(&secret, hostdir.join("link")).unwrap();
    let link = m.vdisk().join("link");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), secret);
    assert_eq!(fs::read(&link).unwrap(), b"outside");

    // A directory known to the mount is swapped on the host for a symlink that leads out
    // of the disk dir. The relative target resolves outside on the host, but to nothing
    // inside the mount: a file can only land in `outside` if the daemon follows it.
    let outside = m.temp_root().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::create_dir(m.vdisk().join("sub")).unwrap();
    fs::write(m.vdisk().join("sub/known"), b"k").unwrap();
    fs::remove_file(hostdir.join("sub/known")).unwrap();
    fs::remove_dir(hostdir.join("sub")).unwrap();
    symlink("../outside", hostdir.join("sub")).unwrap();

    // At once (the kernel still takes `sub` for a directory), then after the entry
    // timeouts have run out.
    let _ = fs::write(m.vdisk().join("sub/x"), b"escaped");
    let _ = fs::create_dir(m.vdisk().join("sub/d"));
    let _ = symlink("t", m.vdisk().join("sub/l"));
    let _ = fs::write(m.vdisk().join("sub/known"), b"escaped");
    assert_eq!(
        names(&outside),
        set(&[]),
        "the daemon wrote outside the disk dir"
    );
    thread::sleep(Duration::from_millis(1200));
    let _ = fs::write(m.vdisk().join("sub/y"), b"escaped");
    let _ = fs::create_dir(m.vdisk().join("sub/e"));
    assert_eq!(
        names(&outside),
        set(&[]),
        "the daemon wrote outside the disk dir"
    );
    assert_eq!(fs::read(&secret).unwrap(), b"outside");
}

// ---------------------------------------------------------------------------------------
// Both tiers

fn write_then_read_back(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("hello.txt");
    fs::write(&p, b"hello world").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"hello world");
    let md = fs::metadata(&p).unwrap();
    assert!(md.is_file());
    assert_eq!(md.len(), 11);
    fs::write(&p, b"bye").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"bye");
    assert_eq!(fs::metadata(&p).unwrap().len(), 3);
    if let Some(h) = host(m, tier, "hello.txt") {
        assert_eq!(fs::read(h).unwrap(), b"bye");
    }
}
both_tiers!(write_then_read_back);

/// open(O_TRUNC) truncates in the open itself (FUSE_ATOMIC_O_TRUNC): size 0 and new times,
/// as on ext4 also for a read-only open, the setuid bits dropped when another user
/// truncates, and a running program left whole and running (ETXTBSY), whichever the access
/// mode (the kernel checks a read-only O_TRUNC only after the open).
fn open_trunc_truncates_unless_running(_m: &TestMount, dir: &Path, _tier: Tier) {
    let p = dir.join("t");
    fs::write(&p, b"some content").unwrap();
    let before = fs::metadata(&p).unwrap();
    thread::sleep(Duration::from_millis(20));
    let f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    drop(f);
    let after = fs::metadata(&p).unwrap();
    assert_eq!(after.len(), 0);
    assert!(after.modified().unwrap() > before.modified().unwrap());
    assert!(after.ctime_nsec() != before.ctime_nsec() || after.ctime() != before.ctime());

    fs::write(&p, b"gone").unwrap();
    let ro_trunc = cvt(unsafe { libc::open(cstr(&p).as_ptr(), libc::O_RDONLY | libc::O_TRUNC) });
    unsafe { libc::close(ro_trunc.expect("O_RDONLY|O_TRUNC opens")) };
    assert_eq!(fs::read(&p).unwrap(), b"");

    // A running program: every O_TRUNC gets ETXTBSY, and the program and its file live on.
    let prog = dir.join("prog");
    fs::copy("/bin/sleep", &prog).unwrap();
    fs::set_permissions(&prog, Permissions::from_mode(0o755)).unwrap();
    let image = fs::read(&prog).unwrap();
    let mut child = Command::new(&prog)
        .arg("30")
        .spawn()
        .expect("run the copy of sleep");
    let e = errno_or_zero(OpenOptions::new().write(true).truncate(true).open(&prog));
    assert_eq!(e, libc::ETXTBSY);
    for _ in 0..20 {
        let r = cvt(unsafe { libc::open(cstr(&prog).as_ptr(), libc::O_RDONLY | libc::O_TRUNC) });
        assert_eq!(r.map_err(errno_of).err(), Some(libc::ETXTBSY));
    }
    assert_eq!(fs::read(&prog).unwrap(), image);
    assert!(child.try_wait().unwrap().is_none(), "the program died");
    let _ = child.kill();
    let _ = child.wait();
    // Once it has ended, the file is an ordinary one again (the kernel gives the exec open
    // back in the background, so give it a moment).
    let mut r = Err(libc::ETXTBSY);
    for _ in 0..100 {
        r = cvt(unsafe { libc::open(cstr(&prog).as_ptr(), libc::O_RDONLY | libc::O_TRUNC) })
            .map_err(errno_of);
        if r != Err(libc::ETXTBSY) {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::close(r.expect("O_RDONLY|O_TRUNC after the program ended")) };
    assert_eq!(fs::metadata(&prog).unwrap().len(), 0);

    // Another user truncating drops setuid, and setgid with group execute.
    let s = dir.join("suid");
    fs::write(&s, b"x").unwrap();
    std::os::unix::fs::chown(&s, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::set_permissions(&s, Permissions::from_mode(0o6775)).unwrap();
    let code = as_user(NOBODY, NOBODY, || {
        errno_or_zero(OpenOptions::new().write(true).truncate(true).open(&s))
    });
    assert_eq!(code, 0);
    let md = fs::metadata(&s).unwrap();
    assert_eq!(md.len(), 0);
    assert_eq!(md.mode() & 0o7777, 0o775);
}
both_tiers!(open_trunc_truncates_unless_running, "--allow-other");

/// The space of a removed file is there for the very next write, though the kernel tells
/// the daemon that the file is gone (its forget and release) only after the unlink and the
/// close have returned.
fn space_of_a_removed_file_is_free_at_once(_m: &TestMount, dir: &Path, _tier: Tier) {
    let stop = AtomicBool::new(false);
    let failed = thread::scope(|s| {
        // Other clients keep the daemon's threads busy, as on a shared mount.
        for _ in 0..4 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = fs::metadata(dir.join("busy"));
                }
            });
        }
        let data = vec![7u8; 6 * MIB];
        let mut failed = None;
        for round in 0..40 {
            let p = dir.join(format!("f{}", round % 2));
            if let Err(e) = fs::write(&p, &data).and_then(|()| fs::remove_file(&p)) {
                failed = Some(format!("round {round}: {e}"));
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        failed
    });
    assert_eq!(failed, None);
}
both_tiers!(space_of_a_removed_file_is_free_at_once, "--ram-limit", "8M");

fn create_and_open_errors(_m: &TestMount, dir: &Path, _tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    fs::create_dir(dir.join("d")).unwrap();
    assert_eq!(
        err(OpenOptions::new().write(true).create_new(true).open(&f)),
        libc::EEXIST
    );
    assert_eq!(err(File::open(dir.join("missing"))), libc::ENOENT);
    assert_eq!(err(fs::create_dir(dir.join("d"))), libc::EEXIST);
    assert_eq!(err(fs::create_dir(&f)), libc::EEXIST);
    assert_eq!(
        err(OpenOptions::new().write(true).open(dir.join("d"))),
        libc::EISDIR
    );
    assert_eq!(err(File::create(f.join("under"))), libc::ENOTDIR);
    assert_eq!(err(File::create(dir.join("missing/x"))), libc::ENOENT);
}
both_tiers!(create_and_open_errors);

fn name_longer_than_255_bytes_is_enametoolong(_m: &TestMount, dir: &Path, _tier: Tier) {
    let ok = "n".repeat(255);
    fs::write(dir.join(&ok), b"x").unwrap();
    assert!(names(dir).contains(&ok));
    assert_eq!(
        err(File::create(dir.join("n".repeat(256)))),
        libc::ENAMETOOLONG
    );
    assert_eq!(
        err(fs::create_dir(dir.join("d".repeat(300)))),
        libc::ENAMETOOLONG
    );
}
both_tiers!(name_longer_than_255_bytes_is_enametoolong);

fn open_unlinked_file_stays_usable_until_close(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("f");
    let mut f = fresh(&p);
    f.write_all(b"hello").unwrap();
    fs::remove_file(&p).unwrap();
    assert_eq!(err(fs::metadata(&p)), libc::ENOENT);
    assert!(names(dir).is_empty());

    f.write_all(b" world").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello world");
    let md = f.metadata().unwrap();
    assert_eq!(md.len(), 11);
    assert_eq!(md.nlink(), 0);

    // A new file under the same name is a different file.
    fs::write(&p, b"new").unwrap();
    let mut s = String::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello world");
    f.set_len(3).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 3);
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(&mut buf, 0).unwrap(), 3);
    assert_eq!(&buf[..3], b"hel");
    drop(f);

    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(names(dir), set(&["f"]));
    if tier == Tier::Vdisk {
        assert_eq!(names(m.disk_dir()), names(dir), "leftovers on the host");
    }
}
both_tiers!(open_unlinked_file_stays_usable_until_close);

/// A removed directory the kernel still holds (a shell's working directory; here an O_PATH
/// descriptor) stays, with no links and no entries, until it is let go: as on tmpfs.
fn removed_dir_stays_while_held(_m: &TestMount, dir: &Path, _tier: Tier) {
    let d = dir.join("d");
    fs::create_dir(&d).unwrap();
    let fd =
        cvt(unsafe { libc::open(cstr(&d).as_ptr(), libc::O_PATH | libc::O_DIRECTORY) }).unwrap();
    fs::remove_dir(&d).unwrap();
    // Past the attribute timeout (1 s on a shared store), so the kernel asks again.
    thread::sleep(Duration::from_millis(1200));
    let held = PathBuf::from(format!("/proc/self/fd/{fd}"));
    let md = fs::metadata(&held).expect("stat of the removed directory");
    assert!(md.is_dir());
    assert_eq!(md.nlink(), 0);
    assert_eq!(fs::read_dir(&held).expect("list it").count(), 0);
    assert_eq!(err(File::create(held.join("x"))), libc::ENOENT);
    unsafe { libc::close(fd) };
    assert_eq!(err(fs::metadata(&d)), libc::ENOENT);
}
both_tiers!(removed_dir_stays_while_held);

fn rmdir_non_empty_is_enotempty(_m: &TestMount, dir: &Path, _tier: Tier) {
    let d = dir.join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("f"), b"x").unwrap();
    assert_eq!(err(fs::remove_dir(&d)), libc::ENOTEMPTY);
    assert_eq!(err(fs::remove_dir(d.join("f"))), libc::ENOTDIR);
    assert_eq!(err(fs::remove_file(&d)), libc::EISDIR);
    fs::remove_file(d.join("f")).unwrap();
    fs::remove_dir(&d).unwrap();
    assert_eq!(err(fs::metadata(&d)), libc::ENOENT);
    assert_eq!(err(fs::remove_dir(&d)), libc::ENOENT);

    let d2 = dir.join("d2");
    fs::create_dir_all(d2.join("sub")).unwrap();
    assert_eq!(err(fs::remove_dir(&d2)), libc::ENOTEMPTY);
    let nlink = fs::metadata(&d2).unwrap().nlink();
    assert!(
        nlink == 3 || nlink == 1,
        "nlink of a dir with one subdir: {nlink}"
    );
    fs::remove_dir(d2.join("sub")).unwrap();
    fs::remove_dir(&d2).unwrap();
    assert!(names(dir).is_empty());
}
both_tiers!(rmdir_non_empty_is_enotempty);

fn rename_replaces_and_moves(m: &TestMount, dir: &Path, tier: Tier) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    fs::write(&a, b"A").unwrap();
    fs::write(&b, b"B").unwrap();
    let ino_a = fs::metadata(&a).unwrap().ino();
    fs::rename(&a, &b).unwrap();
    assert_eq!(fs::read(&b).unwrap(), b"A");
    assert_eq!(fs::metadata(&b).unwrap().ino(), ino_a);
    assert_eq!(err(fs::metadata(&a)), libc::ENOENT);

    // A directory replaces an empty directory, with its contents.
    fs::create_dir(dir.join("d1")).unwrap();
    fs::write(dir.join("d1/x"), b"x").unwrap();
    fs::create_dir(dir.join("d2")).unwrap();
    fs::rename(dir.join("d1"), dir.join("d2")).unwrap();
    assert_eq!(fs::read(dir.join("d2/x")).unwrap(), b"x");
    assert_eq!(err(fs::metadata(dir.join("d1"))), libc::ENOENT);

    fs::create_dir_all(dir.join("d3/sub")).unwrap();
    let e = err(fs::rename(dir.join("d2"), dir.join("d3")));
    assert!(
        e == libc::ENOTEMPTY || e == libc::EEXIST,
        "dir over non-empty dir: {e}"
    );
    assert_eq!(err(fs::rename(&b, dir.join("d3"))), libc::EISDIR);
    assert_eq!(err(fs::rename(dir.join("d3"), &b)), libc::ENOTDIR);
    assert_eq!(
        err(fs::rename(dir.join("d3"), dir.join("d3/sub/in"))),
        libc::EINVAL
    );
    assert_eq!(
        err(fs::rename(dir.join("missing"), dir.join("x"))),
        libc::ENOENT
    );

    // Into a subdirectory under a new name, and a whole tree at once.
    fs::rename(&b, dir.join("d3/sub/moved")).unwrap();
    assert_eq!(fs::read(dir.join("d3/sub/moved")).unwrap(), b"A");
    fs::rename(dir.join("d3"), dir.join("d2/d3")).unwrap();
    assert_eq!(fs::read(dir.join("d2/d3/sub/moved")).unwrap(), b"A");
    assert_eq!(names(dir), set(&["d2"]));
    if let Some(h) = host(m, tier, "d2/d3/sub/moved") {
        assert_eq!(fs::read(h).unwrap(), b"A");
    }
}
both_tiers!(rename_replaces_and_moves);

fn rename_noreplace_and_exchange(m: &TestMount, dir: &Path, tier: Tier) {
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    fs::write(&a, b"A").unwrap();
    fs::write(&b, b"B").unwrap();

    assert_eq!(err(renameat2(&a, &b, libc::RENAME_NOREPLACE)), libc::EEXIST);
    assert_eq!(fs::read(&a).unwrap(), b"A");
    assert_eq!(fs::read(&b).unwrap(), b"B");

    renameat2(&a, &b, libc::RENAME_EXCHANGE).unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"B");
    assert_eq!(fs::read(&b).unwrap(), b"A");

    renameat2(&a, &c, libc::RENAME_NOREPLACE).unwrap();
    assert_eq!(err(fs::metadata(&a)), libc::ENOENT);
    assert_eq!(fs::read(&c).unwrap(), b"B");

    assert_eq!(err(renameat2(&a, &b, libc::RENAME_EXCHANGE)), libc::ENOENT);
    assert_eq!(err(renameat2(&b, &a, libc::RENAME_EXCHANGE)), libc::ENOENT);

    // A file and a directory, in different directories.
    fs::create_dir(dir.join("d")).unwrap();
    fs::write(dir.join("d/inner"), b"I").unwrap();
    fs::create_dir(dir.join("e")).unwrap();
    renameat2(&b, &dir.join("e/x"), 0).unwrap();
    renameat2(&dir.join("e/x"), &dir.join("d"), libc::RENAME_EXCHANGE).unwrap();
    assert_eq!(fs::read(dir.join("d")).unwrap(), b"A");
    assert_eq!(fs::read(dir.join("e/x/inner")).unwrap(), b"I");
    if let Some(h) = host(m, tier, "e/x/inner") {
        assert_eq!(fs::read(h).unwrap(), b"I");
        assert_eq!(fs::read(m.disk_dir().join("d")).unwrap(), b"A");
    }
}
both_tiers!(rename_noreplace_and_exchange);

fn hard_links_share_data_and_count(m: &TestMount, dir: &Path, tier: Tier) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    fs::write(&a, b"one").unwrap();
    fs::hard_link(&a, &b).unwrap();
    let (ma, mb) = (fs::metadata(&a).unwrap(), fs::metadata(&b).unwrap());
    assert_eq!(ma.ino(), mb.ino());
    assert_eq!((ma.nlink(), mb.nlink()), (2, 2));

    OpenOptions::new()
        .append(true)
        .open(&b)
        .unwrap()
        .write_all(b"two")
        .unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"onetwo");

    fs::create_dir(dir.join("sub")).unwrap();
    fs::hard_link(&b, dir.join("sub/c")).unwrap();
    assert_eq!(fs::metadata(&a).unwrap().nlink(), 3);
    assert_eq!(err(fs::hard_link(&a, &b)), libc::EEXIST);
    assert_eq!(
        err(fs::hard_link(dir.join("sub"), dir.join("sub2"))),
        libc::EPERM
    );

    fs::remove_file(&a).unwrap();
    assert_eq!(fs::metadata(&b).unwrap().nlink(), 2);
    assert_eq!(fs::read(&b).unwrap(), b"onetwo");
    if let Some(h) = host(m, tier, "b") {
        assert_eq!(fs::metadata(&h).unwrap().nlink(), 2);
        assert_eq!(
            fs::metadata(&h).unwrap().ino(),
            fs::metadata(m.disk_dir().join("sub/c")).unwrap().ino()
        );
    }
    fs::remove_file(dir.join("sub/c")).unwrap();
    assert_eq!(fs::metadata(&b).unwrap().nlink(), 1);
    assert_eq!(fs::read(&b).unwrap(), b"onetwo");
}
both_tiers!(hard_links_share_data_and_count);

fn symlink_and_readlink(m: &TestMount, dir: &Path, tier: Tier) {
    let link = dir.join("link");
    symlink("target.txt", &link).unwrap();
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("target.txt"));
    let md = fs::symlink_metadata(&link).unwrap();
    assert!(md.file_type().is_symlink());
    assert_eq!(md.len(), "target.txt".len() as u64);
    assert_eq!(err(fs::metadata(&link)), libc::ENOENT);

    fs::write(dir.join("target.txt"), b"T").unwrap();
    assert_eq!(fs::read(&link).unwrap(), b"T");

    let long = "x/".repeat(500) + "end";
    symlink(&long, dir.join("long")).unwrap();
    assert_eq!(fs::read_link(dir.join("long")).unwrap(), Path::new(&long));
    assert_eq!(err(symlink("other", &link)), libc::EEXIST);
    assert_eq!(err(fs::read_link(dir.join("target.txt"))), libc::EINVAL);
    if let Some(h) = host(m, tier, "link") {
        assert_eq!(fs::read_link(h).unwrap(), Path::new("target.txt"));
    }
}
both_tiers!(symlink_and_readlink);

fn utimens_now_and_omit(m: &TestMount, dir: &Path, tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    utimens(&f, (1_000_000_000, 0), (1_200_000_000, 123_456_789), 0).unwrap();
    let md = fs::metadata(&f).unwrap();
    assert_eq!((md.atime(), md.atime_nsec()), (1_000_000_000, 0));
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_200_000_000, 123_456_789));

    let before = now_secs();
    utimens(&f, (0, libc::UTIME_OMIT), (0, libc::UTIME_NOW), 0).unwrap();
    let after = now_secs();
    let md = fs::metadata(&f).unwrap();
    assert_eq!(md.atime(), 1_000_000_000, "UTIME_OMIT changed atime");
    assert!(
        (before - 1..=after + 1).contains(&md.mtime()),
        "mtime {}",
        md.mtime()
    );
    let mtime = (md.mtime(), md.mtime_nsec());

    utimens(&f, (0, libc::UTIME_NOW), (0, libc::UTIME_OMIT), 0).unwrap();
    let md = fs::metadata(&f).unwrap();
    assert!(
        (before - 1..=now_secs() + 1).contains(&md.atime()),
        "atime {}",
        md.atime()
    );
    assert_eq!(
        (md.mtime(), md.mtime_nsec()),
        mtime,
        "UTIME_OMIT changed mtime"
    );

    // On a symlink with AT_SYMLINK_NOFOLLOW: the link changes, not its target.
    let l = dir.join("l");
    symlink("f", &l).unwrap();
    utimens(
        &l,
        (1_100_000_000, 0),
        (1_100_000_000, 0),
        libc::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    assert_eq!(fs::symlink_metadata(&l).unwrap().mtime(), 1_100_000_000);
    assert_eq!(fs::metadata(&f).unwrap().mtime(), mtime.0);
    if let Some(h) = host(m, tier, "f") {
        assert_eq!(fs::metadata(h).unwrap().mtime(), mtime.0);
        assert_eq!(
            fs::symlink_metadata(m.disk_dir().join("l"))
                .unwrap()
                .mtime(),
            1_100_000_000
        );
    }
}
both_tiers!(utimens_now_and_omit);

fn changes_update_mtime(_m: &TestMount, dir: &Path, _tier: Tier) {
    let d = dir.join("d");
    fs::create_dir(&d).unwrap();
    let f = d.join("f");
    fs::write(&f, b"a").unwrap();
    let old = (1_000_000_000, 0);
    utimens(&f, old, old, 0).unwrap();
    utimens(&d, old, old, 0).unwrap();
    let t0 = now_secs() - 2;

    OpenOptions::new()
        .append(true)
        .open(&f)
        .unwrap()
        .write_all(b"b")
        .unwrap();
    let md = fs::metadata(&f).unwrap();
    assert!(md.mtime() >= t0, "write left mtime at {}", md.mtime());
    assert!(md.ctime() >= t0, "write left ctime at {}", md.ctime());

    fs::write(d.join("g"), b"").unwrap();
    assert!(
        fs::metadata(&d).unwrap().mtime() >= t0,
        "create left the dir's mtime"
    );
    utimens(&d, old, old, 0).unwrap();
    fs::remove_file(d.join("g")).unwrap();
    assert!(
        fs::metadata(&d).unwrap().mtime() >= t0,
        "unlink left the dir's mtime"
    );
}
both_tiers!(changes_update_mtime);

fn truncate_extends_with_zeros(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("t");
    fs::write(&p, b"hello").unwrap();
    let f = OpenOptions::new().read(true).write(true).open(&p).unwrap();
    f.set_len(10).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"hello\0\0\0\0\0");
    f.set_len(2).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"he");
    f.set_len(4).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"he\0\0", "cut bytes came back");

    let c = cstr(&p);
    cvt(unsafe { libc::truncate(c.as_ptr(), 8) }).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().len(), 8);

    // Writing past the end leaves a hole of zeros.
    f.write_all_at(b"x", 100).unwrap();
    let data = fs::read(&p).unwrap();
    assert_eq!(data.len(), 101);
    assert!(data[2..100].iter().all(|&b| b == 0));
    assert_eq!(data[100], b'x');

    // Over several megabytes: cut, then extend again; the cut part reads as zeros.
    f.set_len(0).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().len(), 0);
    f.write_all_at(&vec![0xab; 5 * MIB / 2], 0).unwrap();
    f.set_len(MIB as u64 + 100).unwrap();
    f.set_len(3 * MIB as u64).unwrap();
    let data = fs::read(&p).unwrap();
    assert_eq!(data.len(), 3 * MIB);
    assert!(data[..MIB + 100].iter().all(|&b| b == 0xab));
    let stale = data[MIB + 100..].iter().position(|&b| b != 0);
    assert_eq!(stale, None, "old bytes after the cut at {}", MIB + 100);
    if let Some(h) = host(m, tier, "t") {
        assert_eq!(fs::metadata(h).unwrap().len(), 3 * MIB as u64);
    }
}
both_tiers!(truncate_extends_with_zeros);

fn fallocate_extends_size(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("fa");
    let f = fresh(&p);
    f.write_all_at(b"abc", 0).unwrap();
    fallocate(&f, 0, 0, 10).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"abc\0\0\0\0\0\0\0");
    fallocate(&f, 0, MIB as u64, MIB as u64).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 2 * MIB as u64);
    let data = fs::read(&p).unwrap();
    assert_eq!(&data[..3], b"abc");
    assert!(data[3..].iter().all(|&b| b == 0));

    // KEEP_SIZE may be unsupported, but must never change the size.
    match fallocate(&f, libc::FALLOC_FL_KEEP_SIZE, 2 * MIB as u64, MIB as u64) {
        Ok(()) => {}
        Err(e) => assert_eq!(errno_of(e), libc::EOPNOTSUPP),
    }
    assert_eq!(fs::metadata(&p).unwrap().len(), 2 * MIB as u64);
    if let Some(h) = host(m, tier, "fa") {
        assert_eq!(fs::metadata(h).unwrap().len(), 2 * MIB as u64);
    }
}
both_tiers!(fallocate_extends_size);

fn mkfifo_creates_fifo(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("fifo");
    mkfifo(&p, 0o640).unwrap();
    let md = fs::symlink_metadata(&p).unwrap();
    assert!(md.file_type().is_fifo(), "not a fifo: {:?}", md.file_type());
    assert_eq!(md.mode() & 0o777, 0o640);
    assert_eq!(err(mkfifo(&p, 0o640)), libc::EEXIST);

    // It works as a pipe (non-blocking opens, so nothing can hang here).
    let mut r = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&p)
        .unwrap();
    let mut w = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&p)
        .unwrap();
    w.write_all(b"ping").unwrap();
    let mut buf = [0u8; 16];
    let n = r.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    if let Some(h) = host(m, tier, "fifo") {
        assert!(fs::symlink_metadata(h).unwrap().file_type().is_fifo());
    }
}
both_tiers!(mkfifo_creates_fifo);

fn xattrs_roundtrip(m: &TestMount, dir: &Path, tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    setxattr(&f, "user.color", b"blue", 0).unwrap();
    assert_eq!(getxattr_len(&f, "user.color", &mut []).unwrap(), 4);
    assert_eq!(getxattr(&f, "user.color").unwrap(), b"blue");
    assert!(listxattr(&f).unwrap().contains(&"user.color".to_string()));

    assert_eq!(
        err(setxattr(&f, "user.color", b"red", libc::XATTR_CREATE)),
        libc::EEXIST
    );
    assert_eq!(
        err(setxattr(&f, "user.none", b"v", libc::XATTR_REPLACE)),
        libc::ENODATA
    );
    setxattr(&f, "user.color", b"red", libc::XATTR_REPLACE).unwrap();
    assert_eq!(getxattr(&f, "user.color").unwrap(), b"red");
    assert_eq!(
        err(getxattr_len(&f, "user.color", &mut [0u8; 1])),
        libc::ERANGE
    );
    assert_eq!(err(getxattr(&f, "user.none")), libc::ENODATA);

    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    setxattr(&f, "user.big", &big, 0).unwrap();
    assert_eq!(getxattr(&f, "user.big").unwrap(), big);
    setxattr(&f, "user.empty", b"", 0).unwrap();
    assert_eq!(getxattr(&f, "user.empty").unwrap(), b"");

    removexattr(&f, "user.color").unwrap();
    assert_eq!(err(getxattr(&f, "user.color")), libc::ENODATA);
    assert_eq!(err(removexattr(&f, "user.color")), libc::ENODATA);
    let names: BTreeSet<String> = listxattr(&f).unwrap().into_iter().collect();
    assert!(
        names.contains("user.big") && !names.contains("user.color"),
        "{names:?}"
    );

    fs::create_dir(dir.join("d")).unwrap();
    setxattr(&dir.join("d"), "user.dir", b"yes", 0).unwrap();
    assert_eq!(getxattr(&dir.join("d"), "user.dir").unwrap(), b"yes");
    if let Some(h) = host(m, tier, "f") {
        assert_eq!(getxattr(&h, "user.big").unwrap(), big);
    }
}
both_tiers!(xattrs_roundtrip);

fn chmod_chown(m: &TestMount, dir: &Path, tier: Tier) {
    let f = dir.join("f");
    fs::write(&f, b"x").unwrap();
    set_mode(&f, 0o640);
    assert_eq!(mode(&f), 0o640);
    set_mode(&f, 0o4755);
    assert_eq!(mode(&f), 0o4755);
    set_mode(&f, 0o600);

    chown(&f, Some(1234), Some(5678)).unwrap();
    let md = fs::metadata(&f).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 5678));
    chown(&f, None, Some(42)).unwrap();
    let md = fs::metadata(&f).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 42));
    assert_eq!(mode(&f), 0o600);

    // lchown changes the link, never what it points to.
    let l = dir.join("l");
    symlink("f", &l).unwrap();
    lchown(&l, Some(4321), Some(4321)).unwrap();
    let ml = fs::symlink_metadata(&l).unwrap();
    assert_eq!((ml.uid(), ml.gid()), (4321, 4321));
    let md = fs::metadata(&f).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 42));

    fs::create_dir(dir.join("d")).unwrap();
    set_mode(&dir.join("d"), 0o710);
    assert_eq!(mode(&dir.join("d")), 0o710);
    if let Some(h) = host(m, tier, "f") {
        let md = fs::metadata(h).unwrap();
        assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777), (1234, 42, 0o600));
        let ml = fs::symlink_metadata(m.disk_dir().join("l")).unwrap();
        assert_eq!((ml.uid(), ml.gid()), (4321, 4321));
    }
}
both_tiers!(chmod_chown);

fn permissions_are_enforced_for_other_users(_m: &TestMount, dir: &Path, _tier: Tier) {
    let secret = dir.join("secret");
    fs::write(&secret, b"s").unwrap();
    set_mode(&secret, 0o600);
    let shared = dir.join("shared");
    fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    let rootfile = shared.join("rootfile");
    fs::write(&rootfile, b"r").unwrap();
    set_mode(&rootfile, 0o644);
    let locked = dir.join("locked");
    fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o755);
    let mine = shared.join("mine");

    // Each check returns its number when it does not hold.
    let code = as_user(NOBODY, NOBODY, || {
        let eacces = |e: i32| e == libc::EACCES;
        if !eacces(errno_or_zero(fs::read(&secret))) {
            return 1;
        }
        if !eacces(errno_or_zero(OpenOptions::new().write(true).open(&secret))) {
            return 2;
        }
        if !eacces(errno_or_zero(File::create(locked.join("x")))) {
            return 3;
        }
        if !eacces(errno_or_zero(fs::create_dir(locked.join("y")))) {
            return 4;
        }
        let e = errno_or_zero(fs::remove_file(&rootfile));
        if e != libc::EPERM && e != libc::EACCES {
            return 5; // sticky directory
        }
        if fs::read(&rootfile).ok().as_deref() != Some(&b"r"[..]) {
            return 6;
        }
        if !eacces(errno_or_zero(
            OpenOptions::new().write(true).open(&rootfile),
        )) {
            return 7;
        }
        if errno_or_zero(fs::set_permissions(&secret, Permissions::from_mode(0o666))) != libc::EPERM
        {
            return 8;
        }
        if fs::write(&mine, b"m").is_err() {
            return 9;
        }
        if errno_or_zero(chown(&mine, Some(0), None)) != libc::EPERM {
            return 10;
        }
        if errno_or_zero(utimens(&secret, (1, 0), (1, 0), 0)) != libc::EPERM {
            return 11;
        }
        0
    });
    assert_eq!(code, 0, "check number {code} failed as uid {NOBODY}");
    assert_eq!(fs::read(&secret).unwrap(), b"s");
    assert_eq!(mode(&secret), 0o600);
    assert_eq!(fs::read(&rootfile).unwrap(), b"r");
    assert!(names(&locked).is_empty());
    assert_eq!(fs::metadata(&mine).unwrap().uid(), NOBODY);
}
both_tiers!(permissions_are_enforced_for_other_users, "--allow-other");

fn create_as_other_user_owns_host_file(m: &TestMount, dir: &Path, tier: Tier) {
    let open = dir.join("open");
    fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let code = as_user(NOBODY, NOBODY, || {
        if fs::write(open.join("f"), b"x").is_err() {
            return 1;
        }
        if fs::create_dir(open.join("d")).is_err() {
            return 2;
        }
        if symlink("f", open.join("l")).is_err() {
            return 3;
        }
        if mkfifo(&open.join("p"), 0o600).is_err() {
            return 4;
        }
        if fs::hard_link(open.join("f"), open.join("h")).is_err() {
            return 5;
        }
        0
    });
    assert_eq!(code, 0, "step {code} failed as uid {NOBODY}");
    for name in ["f", "d", "l", "p", "h"] {
        let md = fs::symlink_metadata(open.join(name)).unwrap();
        assert_eq!(
            (md.uid(), md.gid()),
            (NOBODY, NOBODY),
            "owner of {name} in the mount"
        );
        if let Some(h) = host(m, tier, &format!("open/{name}")) {
            let md = fs::symlink_metadata(h).unwrap();
            assert_eq!(
                (md.uid(), md.gid()),
                (NOBODY, NOBODY),
                "owner of {name} on the host"
            );
        }
    }
}
both_tiers!(create_as_other_user_owns_host_file, "--allow-other");

fn setgid_dir_passes_its_group_to_new_entries(m: &TestMount, dir: &Path, tier: Tier) {
    let team = dir.join("team");
    fs::create_dir(&team).unwrap();
    chown(&team, None, Some(4242)).unwrap();
    set_mode(&team, 0o2777);
    assert_eq!(mode(&team), 0o2777);
    let code = as_user(NOBODY, NOBODY, || {
        if fs::write(team.join("f"), b"x").is_err() {
            return 1;
        }
        if fs::create_dir(team.join("sub")).is_err() {
            return 2;
        }
        0
    });
    assert_eq!(code, 0, "step {code} failed as uid {NOBODY}");
    let f = fs::metadata(team.join("f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (NOBODY, 4242));
    let sub = fs::metadata(team.join("sub")).unwrap();
    assert_eq!(sub.gid(), 4242);
    assert_ne!(sub.mode() & 0o2000, 0, "a subdir of a setgid dir is setgid");
    if let Some(h) = host(m, tier, "team/f") {
        assert_eq!(fs::metadata(h).unwrap().gid(), 4242);
    }
}
both_tiers!(setgid_dir_passes_its_group_to_new_entries, "--allow-other");

fn append_mode_appends(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("log");
    fs::write(&p, b"abc").unwrap();
    let mut a = OpenOptions::new().append(true).open(&p).unwrap();
    a.write_all(b"def").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"abcdef");

    let mut b = OpenOptions::new().append(true).open(&p).unwrap();
    a.write_all(b"1").unwrap();
    b.write_all(b"2").unwrap();
    a.write_all(b"3").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"abcdef123");

    // Someone else extends the file: appends still go to the end.
    let w = OpenOptions::new().write(true).open(&p).unwrap();
    w.write_all_at(b"XYZ", 9).unwrap();
    a.write_all(b"!").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"abcdef123XYZ!");

    // Seeking does not move where an append lands.
    let mut rw = OpenOptions::new().read(true).append(true).open(&p).unwrap();
    rw.seek(SeekFrom::Start(0)).unwrap();
    rw.write_all(b"?").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"abcdef123XYZ!?");
    if let Some(h) = host(m, tier, "log") {
        assert_eq!(fs::read(h).unwrap(), b"abcdef123XYZ!?");
    }
}
both_tiers!(append_mode_appends);

fn large_file_roundtrip(m: &TestMount, dir: &Path, tier: Tier) {
    const SIZE: usize = 20 * MIB;
    let mut rng = Rng::new(0x5eed);
    let mut model = rng.bytes(SIZE);
    let p = dir.join("big.bin");
    let mut f = File::create(&p).unwrap();
    for chunk in model.chunks(777_777) {
        f.write_all(chunk).unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(fs::metadata(&p).unwrap().len(), SIZE as u64);
    let back = fs::read(&p).unwrap();
    assert!(
        back == model,
        "read back differs: checksum {:x} vs {:x}",
        checksum(&back),
        checksum(&model)
    );

    // Random writes, some past the end, then random reads against the model.
    let f = OpenOptions::new().read(true).write(true).open(&p).unwrap();
    for _ in 0..300 {
        let len = 1 + rng.below(70_000) as usize;
        let off = rng.below(SIZE as u64 + 100_000) as usize;
        let patch = rng.bytes(len);
        f.write_all_at(&patch, off as u64).unwrap();
        if model.len() < off + len {
            model.resize(off + len, 0);
        }
        model[off..off + len].copy_from_slice(&patch);
    }
    for i in 0..300 {
        let off = rng.below(model.len() as u64) as usize;
        let end = (off + 1 + rng.below(200_000) as usize).min(model.len());
        let mut buf = vec![0u8; end - off];
        f.read_exact_at(&mut buf, off as u64).unwrap();
        assert!(
            buf == model[off..end],
            "random read {i} of {off}..{end} differs"
        );
    }
    f.sync_all().unwrap();
    drop(f);
    let back = fs::read(&p).unwrap();
    assert_eq!(back.len(), model.len());
    assert!(back == model, "final read back differs");
    if let Some(h) = host(m, tier, "big.bin") {
        assert!(fs::read(h).unwrap() == model, "host copy differs");
    }
}
both_tiers!(large_file_roundtrip);

/// A shared mapping of the start of `f`.
fn map_shared(f: &File, len: usize, prot: i32) -> *mut libc::c_void {
    // SAFETY: a fresh mapping of an open file; the caller unmaps it.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(
        addr,
        libc::MAP_FAILED,
        "mmap: {}",
        io::Error::last_os_error()
    );
    addr
}

fn mmap_shared_writes_reach_the_file(m: &TestMount, dir: &Path, tier: Tier) {
    let p = dir.join("mapped");
    let f = fresh(&p);
    f.set_len(8192).unwrap();
    unsafe {
        let addr = map_shared(&f, 8192, libc::PROT_READ | libc::PROT_WRITE);
        let s = std::slice::from_raw_parts_mut(addr as *mut u8, 8192);
        s[..6].copy_from_slice(b"mapped");
        s[5000..5005].copy_from_slice(b"page2");
        assert_eq!(libc::msync(addr, 8192, libc::MS_SYNC), 0);
        libc::munmap(addr, 8192);
    }
    drop(f);
    let data = fs::read(&p).unwrap();
    assert_eq!(data.len(), 8192);
    assert_eq!(&data[..6], b"mapped");
    assert_eq!(&data[5000..5005], b"page2");

    // A mapping sees what write() stored.
    fs::write(&p, b"written by write").unwrap();
    let f = File::open(&p).unwrap();
    unsafe {
        let addr = map_shared(&f, 16, libc::PROT_READ);
        let s = std::slice::from_raw_parts(addr as *const u8, 16);
        assert_eq!(s, b"written by write");
        libc::munmap(addr, 16);
    }
    if let Some(h) = host(m, tier, "mapped") {
        assert_eq!(fs::read(h).unwrap(), b"written by write");
    }
}
both_tiers!(mmap_shared_writes_reach_the_file);

/// A write through a shared mapping dates the file: mtime and ctime move, seen by the next
/// stat after the mapping and the file are closed (fstests generic/080 and 215). On `vdisk/`
/// such a write goes from the kernel to the host file without a word to the daemon.
fn mmap_writes_update_mtime_and_ctime(_m: &TestMount, dir: &Path, _tier: Tier) {
    let p = dir.join("dated");
    fs::write(&p, vec![0u8; 4096]).unwrap();
    utimens(&p, (1_000_000_000, 0), (1_000_000_000, 0), 0).unwrap();
    let before = fs::metadata(&p).unwrap();
    assert_eq!(before.mtime(), 1_000_000_000);
    let f = OpenOptions::new().read(true).write(true).open(&p).unwrap();
    unsafe {
        let addr = map_shared(&f, 4096, libc::PROT_READ | libc::PROT_WRITE);
        std::slice::from_raw_parts_mut(addr as *mut u8, 4096)[..5].copy_from_slice(b"dated");
        libc::munmap(addr, 4096);
    }
    drop(f);
    let after = fs::metadata(&p).unwrap();
    assert!(
        after.mtime() > 1_000_000_000,
        "mtime stayed {}",
        after.mtime()
    );
    assert!(
        (after.ctime(), after.ctime_nsec()) > (before.ctime(), before.ctime_nsec()),
        "ctime stayed"
    );
    assert_eq!(&fs::read(&p).unwrap()[..5], b"dated");
}
both_tiers!(mmap_writes_update_mtime_and_ctime);

fn lxattr(op: &str, p: &Path, name: &str, value: &[u8]) -> io::Result<Vec<u8>> {
    let (c, n) = (cstr(p), cstr(Path::new(name)));
    let mut buf = vec![0u8; 4096];
    let r = unsafe {
        match op {
            "set" => libc::lsetxattr(
                c.as_ptr(),
                n.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            ) as isize,
            "get" => libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()),
            "list" => libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()),
            _ => libc::lremovexattr(c.as_ptr(), n.as_ptr()) as isize,
        }
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(r as usize);
    Ok(buf)
}

/// A symlink carries extended attributes of its own, apart from its target's: trusted.*
/// for root, while Linux refuses user.* on symlinks (fstests generic/062).
fn symlinks_carry_their_own_xattrs(m: &TestMount, dir: &Path, tier: Tier) {
    fs::write(dir.join("target"), b"t").unwrap();
    let l = dir.join("lnk");
    std::os::unix::fs::symlink("target", &l).unwrap();
    lxattr("set", &l, "trusted.name", b"\xba\xbe").unwrap();
    assert_eq!(lxattr("get", &l, "trusted.name", b"").unwrap(), b"\xba\xbe");
    assert_eq!(lxattr("list", &l, "", b"").unwrap(), b"trusted.name\0");
    let on_target = getxattr(&dir.join("target"), "trusted.name");
    assert_eq!(on_target.unwrap_err().raw_os_error(), Some(libc::ENODATA));
    let user = lxattr("set", &l, "user.name", b"1");
    assert_eq!(user.unwrap_err().raw_os_error(), Some(libc::EPERM));
    if let Some(h) = host(m, tier, "lnk") {
        assert_eq!(lxattr("get", &h, "trusted.name", b"").unwrap(), b"\xba\xbe");
    }
    lxattr("remove", &l, "trusted.name", b"").unwrap();
    let gone = lxattr("get", &l, "trusted.name", b"");
    assert_eq!(gone.unwrap_err().raw_os_error(), Some(libc::ENODATA));
}
both_tiers!(symlinks_carry_their_own_xattrs);

fn readdir_lists_many_entries(m: &TestMount, dir: &Path, tier: Tier) {
    const N: usize = 3000;
    let d = dir.join("many");
    fs::create_dir(&d).unwrap();
    let expected: BTreeSet<String> = (0..N).map(|i| format!("file-{i:05}")).collect();
    for name in &expected {
        File::create(d.join(name)).unwrap();
    }
    let listed: Vec<String> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(listed.len(), N, "entries listed (with repeats)");
    assert_eq!(listed.iter().cloned().collect::<BTreeSet<_>>(), expected);

    let ls = run(Command::new("ls").arg("-1a").arg(&d));
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), N + 2);
    assert_eq!(
        lines.iter().filter(|l| **l == "." || **l == "..").count(),
        2
    );
    if let Some(h) = host(m, tier, "many") {
        assert_eq!(names(&h), expected);
    }
}
both_tiers!(readdir_lists_many_entries);

fn readdir_while_unlinking_returns_every_entry(_m: &TestMount, dir: &Path, _tier: Tier) {
    const N: usize = 1000;
    let d = dir.join("shrinking");
    fs::create_dir(&d).unwrap();
    for i in 0..N {
        File::create(d.join(format!("entry-{i:04}"))).unwrap();
    }
    let mut seen = 0;
    for e in fs::read_dir(&d).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
        seen += 1;
    }
    assert_eq!(seen, N, "entries seen while unlinking");
    assert!(names(&d).is_empty());
    fs::remove_dir(&d).unwrap();
}
both_tiers!(readdir_while_unlinking_returns_every_entry);

fn concurrent_creates_in_one_directory(_m: &TestMount, dir: &Path, _tier: Tier) {
    let d = dir.join("par");
    fs::create_dir(&d).unwrap();
    thread::scope(|s| {
        for t in 0..4 {
            let d = &d;
            s.spawn(move || {
                for i in 0..250 {
                    fs::write(d.join(format!("t{t}-{i}")), format!("{t}:{i}")).unwrap();
                }
            });
        }
    });
    assert_eq!(names(&d).len(), 1000);
    for t in 0..4 {
        for i in 0..250 {
            let got = fs::read_to_string(d.join(format!("t{t}-{i}"))).unwrap();
            assert_eq!(got, format!("{t}:{i}"));
        }
    }
}
both_tiers!(concurrent_creates_in_one_directory);

fn inode_numbers_stable(_m: &TestMount, dir: &Path, _tier: Tier) {
    let a = dir.join("a");
    fs::write(&a, b"a").unwrap();
    fs::create_dir(dir.join("d")).unwrap();
    let ino = fs::metadata(&a).unwrap().ino();
    let dino = fs::metadata(dir.join("d")).unwrap().ino();

    // After the kernel's entry and attribute timeouts.
    thread::sleep(Duration::from_millis(1300));
    assert_eq!(fs::metadata(&a).unwrap().ino(), ino);
    assert_eq!(fs::metadata(dir.join("d")).unwrap().ino(), dino);

    fs::rename(&a, dir.join("d/a2")).unwrap();
    assert_eq!(fs::metadata(dir.join("d/a2")).unwrap().ino(), ino);

    let mut inos = HashSet::new();
    for i in 0..50 {
        let p = dir.join(format!("f{i}"));
        fs::write(&p, b"").unwrap();
        assert!(
            inos.insert(fs::metadata(&p).unwrap().ino()),
            "duplicate inode for {p:?}"
        );
    }
    assert!(!inos.contains(&ino) && !inos.contains(&dino));

    // readdir's d_ino matches stat's st_ino.
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let st = fs::symlink_metadata(e.path()).unwrap().ino();
        assert_eq!(e.ino(), st, "d_ino vs st_ino of {:?}", e.file_name());
    }
}
both_tiers!(inode_numbers_stable);

fn open_with_o_nofollow_opens_regular_files(_m: &TestMount, dir: &Path, _tier: Tier) {
    let p = dir.join("f");
    fs::write(&p, b"plain").unwrap();
    let nofollow = |write: bool| {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
    };
    let mut s = String::new();
    nofollow(false).unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "plain");
    nofollow(true).unwrap().write_all_at(b"P", 0).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"Plain");

    // On a symlink it is refused, as everywhere.
    symlink("f", dir.join("l")).unwrap();
    let e = err(OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join("l")));
    assert_eq!(e, libc::ELOOP);
}
both_tiers!(open_with_o_nofollow_opens_regular_files);

fn fsync_file_and_directory(_m: &TestMount, dir: &Path, _tier: Tier) {
    let mut f = File::create(dir.join("f")).unwrap();
    f.write_all(b"durable").unwrap();
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    drop(f);
    File::open(dir).unwrap().sync_all().unwrap();
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"durable");
}
both_tiers!(fsync_file_and_directory);

/// Setuid and setgid go where Linux drops them (fstests generic/683-687 check the same):
/// on a write, truncate or allocation by a user without CAP_FSETID, and on any chown, even
/// root's; root's own writes keep them. Setgid without group execute stays for a member of
/// the file's group (by its own group or a supplementary one) and goes for anyone else. On
/// `vdisk/` the write goes by passthrough (the file exists before the open).
fn setuid_and_setgid_drop_as_on_linux(m: &TestMount, dir: &Path, tier: Tier) {
    type Op = fn(&Path) -> io::Result<()>;
    let write: Op = |p| {
        OpenOptions::new()
            .write(true)
            .open(p)?
            .write_all_at(b"y", 1)
    };
    let truncate: Op = |p| OpenOptions::new().write(true).open(p)?.set_len(1);
    let allocate: Op = |p| {
        let f = OpenOptions::new().write(true).open(p)?;
        cvt(unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, 8192) }).map(drop)
    };
    let chown: Op = |p| chown(p, Some(NOBODY), Some(NOBODY));
    const G: u32 = 4242; // a group NOBODY is given as a supplementary one
                         // What, as whom, supplementary groups, the file's group, mode before, mode after.
    type Case = (&'static str, Op, u32, &'static [u32], u32, u32, u32);
    let cases: [Case; 14] = [
        ("write", write, NOBODY, &[], 0, 0o6777, 0o0777),
        ("write", write, NOBODY, &[], 0, 0o2767, 0o0767),
        ("write", write, NOBODY, &[], NOBODY, 0o2767, 0o2767),
        ("write", write, NOBODY, &[G], G, 0o2767, 0o2767),
        ("write", write, NOBODY, &[G], G, 0o6777, 0o0777),
        ("write", write, 0, &[], 0, 0o6777, 0o6777),
        ("truncate", truncate, NOBODY, &[], 0, 0o6777, 0o0777),
        ("truncate", truncate, NOBODY, &[], 0, 0o2767, 0o0767),
        ("truncate", truncate, NOBODY, &[G], G, 0o2767, 0o2767),
        ("truncate", truncate, 0, &[], 0, 0o6777, 0o6777),
        ("allocate", allocate, NOBODY, &[], 0, 0o6777, 0o0777),
        ("allocate", allocate, NOBODY, &[], 0, 0o2767, 0o0767),
        ("allocate", allocate, 0, &[], 0, 0o6777, 0o6777),
        ("chown", chown, 0, &[], 0, 0o6777, 0o0777),
    ];
    for (i, (what, op, uid, groups, gid, before, after)) in cases.into_iter().enumerate() {
        let name = format!("f{i}");
        let p = dir.join(&name);
        fs::write(&p, b"xx").unwrap();
        std::os::unix::fs::chown(&p, None, Some(gid)).unwrap();
        set_mode(&p, before);
        let code = if uid == 0 {
            i32::from(op(&p).is_err())
        } else {
            as_user_in(uid, uid, groups, || i32::from(op(&p).is_err()))
        };
        assert_eq!(code, 0, "{what} as uid {uid} failed");
        let got = mode(&p) & 0o7777;
        let who =
            format!("{what} as uid {uid} (groups {groups:?}) of a {before:o} file of group {gid}");
        assert_eq!(got, after, "{who} left {got:o}");
        if let Some(h) = host(m, tier, &name) {
            let got = mode(&h) & 0o7777;
            assert_eq!(got, after, "on the host, {who} left {got:o}");
        }
    }
    assert_eq!(fs::read(dir.join("f0")).unwrap(), b"xy");
}
both_tiers!(setuid_and_setgid_drop_as_on_linux, "--allow-other");

#[test]
fn unlinked_open_file_holds_ram_until_close() {
    let m = TestMount::with_args(&["--ram-limit", "1M"]);
    let ram = m.vram();
    let mut f = fresh(&ram.join("held"));
    f.write_all(&vec![7u8; 700 * 1024]).unwrap();
    f.sync_all().unwrap();
    fs::remove_file(ram.join("held")).unwrap();

    // The data is still there, so the space is still taken.
    let other = fs::write(ram.join("other"), vec![8u8; 700 * 1024]);
    assert_eq!(
        err(other),
        libc::ENOSPC,
        "the unlinked file's space was given away"
    );
    let _ = fs::remove_file(ram.join("other"));
    let mut buf = vec![0u8; 700 * 1024];
    f.read_exact_at(&mut buf, 0).unwrap();
    assert!(buf.iter().all(|&b| b == 7));

    drop(f);
    fs::write(ram.join("other"), vec![8u8; 700 * 1024]).unwrap();
    assert_eq!(fs::metadata(ram.join("other")).unwrap().len(), 700 * 1024);
}

/// The caller's umask applies once (in the kernel); the daemon's own umask must not strip
/// bits a second time from what it creates.
fn modes_are_exactly_what_the_caller_asked(m: &TestMount, dir: &Path, tier: Tier) {
    let d = dir.join("m777");
    let f = dir.join("f666");
    let (dc, fc) = (cstr(&d), cstr(&f));
    let status = as_user(0, 0, move || {
        // SAFETY: plain syscalls in the forked child.
        unsafe {
            libc::umask(0);
            if libc::mkdir(dc.as_ptr(), 0o777) != 0 {
                return 1;
            }
            let fd = libc::open(fc.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o666);
            if fd < 0 {
                return 2;
            }
            libc::close(fd);
        }
        0
    });
    assert_eq!(status, 0);
    assert_eq!(
        fs::metadata(&d).unwrap().permissions().mode() & 0o7777,
        0o777
    );
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o7777,
        0o666
    );
    if let Some(h) = host(m, tier, "m777") {
        assert_eq!(
            fs::metadata(h).unwrap().permissions().mode() & 0o7777,
            0o777
        );
    }
}
both_tiers!(modes_are_exactly_what_the_caller_asked);

/// A `noatime` mount dates nothing on reads: not through the daemon, nor by the kernel's own
/// passthrough reads and runs of `vdisk/` files, on the host file either (fstests
/// generic/120).
#[test]
fn noatime_mounts_leave_access_times_alone() {
    let m = TestMount::with_args(&["-o", "noatime"]);
    for dir in [m.vram(), m.vdisk()] {
        let p = dir.join("prog");
        fs::copy("/bin/true", &p).unwrap();
        // An access time before the modification: relatime would move it on a read.
        utimens(&p, (1_000_000_000, 0), (0, libc::UTIME_OMIT), 0).unwrap();
        fs::read(&p).unwrap();
        assert!(Command::new(&p).status().unwrap().success());
        assert_eq!(
            fs::metadata(&p).unwrap().atime(),
            1_000_000_000,
            "{}",
            p.display()
        );
    }
    let host = fs::metadata(m.disk_dir().join("prog")).unwrap();
    assert_eq!(host.atime(), 1_000_000_000, "the host file was dated");
}

/// File handles outlive the kernel's hold on their inodes (fstests generic/426, 467): once
/// the kernel has dropped its caches, a handle of a linked file or directory opens it again,
/// and one of a removed file is stale.
fn file_handles_open_after_the_kernel_let_go(_m: &TestMount, dir: &Path, _tier: Tier) {
    let (kept, gone, sub) = (dir.join("kept"), dir.join("gone"), dir.join("sub"));
    fs::write(&kept, b"still here").unwrap();
    fs::write(&gone, b"x").unwrap();
    fs::create_dir(&sub).unwrap();
    let (mut hk, mut hg, mut hd) = (handle_of(&kept), handle_of(&gone), handle_of(&sub));
    fs::remove_file(&gone).unwrap();
    let mount = File::open(dir).unwrap();
    drop(drop_kernel_caches());
    let mut f = open_by_handle(&mount, &mut hk).expect("a linked file's handle");
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "still here");
    let d = open_by_handle(&mount, &mut hd).expect("a directory's handle");
    assert!(d.metadata().unwrap().is_dir());
    assert_eq!(err(open_by_handle(&mount, &mut hg)), libc::ESTALE);
}
both_tiers!(file_handles_open_after_the_kernel_let_go);

/// A create asks the daemon for attributes once: the directory's, which the kernel drops
/// after each change in it and needs for the next path walk. The new file's come with the
/// create's answer and last past the permission check that follows it (on `vdisk/` too,
/// where a file open for writing through passthrough is otherwise not cached).
fn a_create_asks_no_attributes_of_the_new_file(m: &TestMount, dir: &Path, tier: Tier) {
    let d = dir.join("made");
    fs::create_dir(&d).unwrap();
    let tier_name = match tier {
        Tier::Vram => "vram",
        Tier::Vdisk => "vdisk",
    };
    let getattrs = || {
        ctl_stats(m.mnt())[tier_name]["by_op"]["getattr"]["ops"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = getattrs();
    let n = 50;
    for i in 0..n {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(d.join(format!("f{i}")))
            .unwrap();
        drop(f);
    }
    let asked = getattrs() - before;
    // A little slack: a creator preempted past the kernel's next tick asks once more.
    assert!(asked <= n + n / 10, "{asked} getattrs for {n} creates");
    assert_eq!(fs::read_dir(&d).unwrap().count(), n as usize);
    if tier == Tier::Vdisk {
        // What this checks on `vdisk/` needs passthrough, which a root daemon has here:
        // reads then never reach it.
        let reads = || ctl_stats(m.mnt())["vdisk"]["by_op"]["read"]["ops"].as_u64();
        let before = reads();
        fs::write(d.join("f0"), b"through").unwrap();
        assert_eq!(fs::read(d.join("f0")).unwrap(), b"through");
        assert_eq!(
            reads(),
            before,
            "vdisk/ reads reached the daemon: no passthrough"
        );
    }
}
both_tiers!(a_create_asks_no_attributes_of_the_new_file);

/// A listing carries each name's attributes (READDIRPLUS): `stat` of every listed name
/// after the kernel let go of them asks nothing more, each answer is right, and the
/// lookups the listing counted are given back (a removed file's space comes back).
fn a_listing_answers_the_stats_after_it(m: &TestMount, dir: &Path, tier: Tier) {
    let d = dir.join("listed");
    fs::create_dir(&d).unwrap();
    for i in 0..300 {
        fs::write(d.join(format!("f{i}")), vec![b'x'; i]).unwrap();
    }
    fs::create_dir(d.join("sub")).unwrap();
    symlink("f7", d.join("link")).unwrap();
    let tier_name = match tier {
        Tier::Vram => "vram",
        Tier::Vdisk => "vdisk",
    };
    let lookups = || ctl_stats(m.mnt())[tier_name]["by_op"]["lookup"]["ops"].as_u64();
    // Held until the count is taken: another test's drop in between would make the
    // listed names be looked up again.
    let caches = drop_kernel_caches();
    let before = lookups().unwrap_or(0);
    let mut seen = Vec::new();
    for e in fs::read_dir(&d).unwrap() {
        let e = e.unwrap();
        let md = fs::symlink_metadata(e.path()).unwrap();
        seen.push((e.file_name().into_string().unwrap(), md));
    }
    let asked = lookups().unwrap_or(0) - before;
    drop(caches);
    assert_eq!(seen.len(), 302);
    for (name, md) in &seen {
        match name.as_str() {
            "sub" => assert!(md.is_dir()),
            "link" => assert!(md.file_type().is_symlink()),
            f => assert_eq!(md.len(), f[1..].parse::<u64>().unwrap(), "{f}"),
        }
    }
    // Without the attributes in the listing each name is one lookup; the few left are
    // the path down to the directory.
    assert!(asked < 10, "{asked} lookups for 302 listed names");

    if tier == Tier::Vram {
        let used = || ctl_stats(m.mnt())["vram_used"].as_u64().unwrap();
        fs::write(d.join("big"), vec![7u8; 4 << 20]).unwrap();
        let with_big = used();
        fs::read_dir(&d).unwrap().for_each(drop);
        fs::remove_file(d.join("big")).unwrap();
        let back = until(Duration::from_secs(5), || used() + (4 << 20) <= with_big);
        assert!(back.is_some(), "a listed file's space never came back");
    }
}
both_tiers!(a_listing_answers_the_stats_after_it);
