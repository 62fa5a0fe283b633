//! Tests that count a file's closes on a Redis mount. A close is the kernel's FLUSH for
//! every copy of the descriptor, and a child forked by another test in this process closes
//! its copies at exec (they are close-on-exec): that FLUSH sends a file's kept writes as a
//! close does. So these run here, one at a time, in a binary of their own.

mod common;

use common::*;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Held by each test: no other forks while one runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Setattrs while writes are kept back (`tar -x` sets times, owner and mode before its
/// close) wait with them and go in the script that publishes them: no round trip of their
/// own, and the attributes this mount showed are the ones Redis keeps. A write after them
/// moves the mtime again.
#[test]
fn setattrs_go_to_redis_with_the_writes_kept_back() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use std::os::unix::fs::fchown;
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    // A mount keeps setattrs back only once it hears the others' notices (2 s after it
    // starts listening): a change one makes meanwhile must end what it keeps.
    thread::sleep(Duration::from_millis(2500));
    // The mount's first small write opens its pack, a script of its own.
    fs::write(a.vram().join("first"), b"x").unwrap();
    let mut f = File::create(a.vram().join("f")).unwrap();
    f.write_all(&[1u8; 1536]).unwrap();
    f.write_all(&[2u8; 2579]).unwrap();
    let mtime = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // Closes are given back to Redis a little later, in batches: the count must not move
    // but for the setattrs.
    let mut before = scripts_run(&mut con);
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = scripts_run(&mut con);
        if now == before {
            break;
        }
        before = now;
    }
    f.set_times(fs::FileTimes::new().set_modified(mtime))
        .unwrap();
    fchown(&f, Some(1000), Some(1000)).unwrap();
    f.set_permissions(fs::Permissions::from_mode(0o640))
        .unwrap();
    assert_eq!(
        scripts_run(&mut con) - before,
        0,
        "times, owner and mode wait with the writes"
    );
    let shown = f.metadata().unwrap();
    drop(f);
    let mut want = vec![1u8; 1536];
    want.extend_from_slice(&[2u8; 2579]);
    let key = |m: &fs::Metadata| {
        (
            (m.mode(), m.uid(), m.gid(), m.size(), m.blocks(), m.nlink()),
            (m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()),
        )
    };
    let stored = fs::metadata(b.vram().join("f")).unwrap();
    assert_eq!(
        key(&shown),
        key(&stored),
        "shown before the close, stored after"
    );
    assert_eq!(stored.modified().unwrap(), mtime);
    assert_eq!(
        (stored.uid(), stored.gid(), stored.mode() & 0o7777),
        (1000, 1000, 0o640)
    );
    assert_eq!(fs::read(b.vram().join("f")).unwrap(), want);

    // Times set, then a write: the write's time stands.
    let mut g = File::create(a.vram().join("g")).unwrap();
    g.write_all(b"one").unwrap();
    g.set_times(fs::FileTimes::new().set_modified(mtime))
        .unwrap();
    let t0 = SystemTime::now() - Duration::from_secs(1);
    g.write_all(b"two").unwrap();
    g.set_permissions(fs::Permissions::from_mode(0o600))
        .unwrap();
    drop(g);
    let stored = fs::metadata(b.vram().join("g")).unwrap();
    assert!(stored.modified().unwrap() >= t0, "the last write's mtime");
    assert_eq!(stored.mode() & 0o7777, 0o600);
    assert_eq!(fs::read(b.vram().join("g")).unwrap(), b"onetwo");
}

/// Small writes wait on the writing mount and go to Redis together: that mount sees them at
/// once, another one at its next open after the close, and a close that cannot store them
/// says so and gives them up.
#[test]
fn small_writes_go_to_redis_together_and_show_at_close() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::IntoRawFd;
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    let path = a.vram().join("log");
    let mut want = Vec::new();
    let mut f = File::create(&path).unwrap();
    let before = scripts_run(&mut con);
    for i in 0..100u8 {
        f.write_all(&[i; 100]).unwrap();
        want.extend_from_slice(&[i; 100]);
    }
    f.write_all_at(b"XYZ", 5000).unwrap();
    want[5000..5003].copy_from_slice(b"XYZ");
    let ran = scripts_run(&mut con) - before;
    assert!(ran < 10, "{ran} scripts ran for 101 small writes");
    assert_eq!(fs::metadata(&path).unwrap().len(), want.len() as u64);
    assert_eq!(fs::read(&path).unwrap(), want, "read on the writing mount");
    f.write_all(b"tail").unwrap();
    want.extend_from_slice(b"tail");
    drop(f);
    let other = b.vram().join("log");
    assert_eq!(
        fs::read(&other).unwrap(),
        want,
        "the other mount, after the close"
    );
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"more").unwrap();
    want.extend_from_slice(b"more");
    drop(f);
    assert_eq!(
        fs::read(&other).unwrap(),
        want,
        "the other mount's next open, its pages of the old version dropped"
    );

    // Redis full: the writes return, the writer's close fails with ENOSPC and they are
    // given up. A reader's close sends nothing and reports nothing, as on NFS.
    let full = a.vram().join("full");
    // Setattrs are kept back once the mount hears the others' notices (see the test above).
    thread::sleep(Duration::from_millis(2500));
    let f = File::create(&full).unwrap();
    let reader = File::open(&full).unwrap();
    let used = used_memory(&mut con);
    set_maxmemory(&mut con, used + (64 << 10));
    for i in 0..15u64 {
        f.write_all_at(&[7u8; 60 << 10], i * (60 << 10)).unwrap();
    }
    // Setattrs kept with them are given up with them.
    let mode = f.metadata().unwrap().mode();
    let set = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    f.set_times(fs::FileTimes::new().set_modified(set)).unwrap();
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .unwrap();
    assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o600, "shown at once");
    let close = |f: File| {
        let fd = f.into_raw_fd();
        // SAFETY: the descriptor was taken from the File, which no longer closes it.
        let closed = unsafe { libc::close(fd) };
        (closed, std::io::Error::last_os_error().raw_os_error())
    };
    let first = close(reader);
    let second = close(f);
    set_maxmemory(&mut con, 0);
    assert_eq!(first.0, 0, "the reader's close: {first:?}");
    assert_eq!(second, (-1, Some(libc::ENOSPC)), "the writer's close");
    let md = fs::metadata(&full).unwrap();
    assert_eq!(md.len(), 0, "given up");
    assert_eq!(md.mode(), mode, "the mode kept with them given up");
    assert_ne!(
        md.modified().unwrap(),
        set,
        "the mtime kept with them given up"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        want,
        "older files keep their bytes"
    );
    let mut again = File::create(&full).unwrap();
    again.write_all(b"fits").unwrap();
    assert_eq!(close(again).0, 0, "a descriptor opened after starts clean");
    assert_eq!(fs::read(&full).unwrap(), b"fits");
}

/// A reader's close costs no round trip: the kernel sends FLUSH only for descriptors
/// that may write, on either tier.
#[test]
fn only_writers_closes_reach_the_daemon() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let flushes = |m: &TestMount| {
        ["vram", "vdisk"].map(|t| ctl_stats(m.mnt())[t]["by_op"]["flush"]["ops"].as_u64())
    };
    let path = a.vram().join("f");
    fs::write(&path, b"one").unwrap();
    fs::write(a.vdisk().join("g"), b"two").unwrap();
    let before = flushes(&a);
    assert!(before[0].unwrap() >= 1, "the writer's close: {before:?}");
    assert_eq!(fs::read(&path).unwrap(), b"one");
    assert_eq!(fs::read(a.vdisk().join("g")).unwrap(), b"two");
    assert_eq!(flushes(&a), before, "readers' closes reached the daemon");
    let disk_writer = fs::OpenOptions::new()
        .append(true)
        .open(a.vdisk().join("g"))
        .unwrap();
    drop(disk_writer);
    let after = flushes(&a);
    assert_eq!(
        (after[0], after[1].unwrap_or(0)),
        (before[0], before[1].unwrap_or(0) + 1),
        "a vdisk/ writer's close (the kernel writes a mapping's pages back at it)"
    );
    let before = after;

    // A reader comes and goes while writes are kept (its open sends them, as any use of
    // the file on the mount does): the only FLUSH is the writer's, and another mount then
    // reads the bytes.
    let mut w = fs::OpenOptions::new().append(true).open(&path).unwrap();
    w.write_all(b" more").unwrap();
    drop(File::open(&path).unwrap());
    drop(w);
    assert_eq!(
        flushes(&a)[0],
        before[0].map(|n| n + 1),
        "the writer's close"
    );
    assert_eq!(fs::read(b.vram().join("f")).unwrap(), b"one more");
}

/// Writes given up at one descriptor's close are told to every other descriptor that was
/// open then, once each, at its next close or fsync, as Linux tells a writeback error: a
/// descriptor opened and closed in between takes the news from nobody, and one opened
/// after hears nothing.
#[test]
fn a_given_up_write_is_told_to_each_descriptor_open_then() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::{AsRawFd, IntoRawFd};
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    let path = a.vram().join("full");
    let writer = || fs::OpenOptions::new().write(true).open(&path).unwrap();
    let first = File::create(&path).unwrap();
    let second = writer();
    let third = writer();
    let reader = File::open(&path).unwrap();
    // SAFETY: dup of a descriptor the File holds open.
    let third_dup = unsafe { libc::dup(third.as_raw_fd()) };
    assert!(third_dup >= 0);
    let close = |fd: i32| {
        // SAFETY: each descriptor is closed once, by whoever owned it.
        let closed = unsafe { libc::close(fd) };
        (closed, std::io::Error::last_os_error().raw_os_error())
    };
    let fsync = |f: &File| f.sync_all().map_err(|e| e.raw_os_error());

    let used = used_memory(&mut con);
    set_maxmemory(&mut con, used + (64 << 10));
    for i in 0..15u64 {
        first
            .write_all_at(&[7u8; 60 << 10], i * (60 << 10))
            .unwrap();
    }
    let told = close(first.into_raw_fd());
    set_maxmemory(&mut con, 0);
    assert_eq!(told, (-1, Some(libc::ENOSPC)), "the close that sent them");
    assert_eq!(fs::metadata(&path).unwrap().len(), 0, "given up");

    drop(File::open(&path).unwrap());
    let later = writer();
    assert_eq!(
        close(second.into_raw_fd()),
        (-1, Some(libc::ENOSPC)),
        "another writer's close, after an open and close in between"
    );
    assert_eq!(fsync(&reader), Err(Some(libc::ENOSPC)), "a reader's fsync");
    assert_eq!(fsync(&reader), Ok(()), "the same reader's next fsync");
    assert_eq!(
        close(third_dup),
        (-1, Some(libc::ENOSPC)),
        "the first close of a dup"
    );
    assert_eq!(
        close(third.into_raw_fd()).0,
        0,
        "the other close of the same descriptor"
    );
    assert_eq!(fsync(&later), Ok(()), "a descriptor opened after");
    assert_eq!(close(later.into_raw_fd()).0, 0, "a descriptor opened after");
    drop(reader);
}
