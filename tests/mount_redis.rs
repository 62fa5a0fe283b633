//! `vram/` on Redis through real mounts: each test starts its own redis-server.

mod common;

use common::*;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MIB: usize = 1 << 20;

/// FNV-1a over a stream, piece by piece.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn errno_of_write(path: &Path, data: &[u8]) -> i32 {
    let r = File::create(path).and_then(|mut f| {
        f.write_all(data)?;
        f.sync_all()
    });
    errno_or_zero(r)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn basic_operations_work_on_vram_over_redis() {
    let m = TestMount::redis();
    let v = m.vram();
    fs::write(v.join("a.txt"), b"hello redis").unwrap();
    assert_eq!(fs::read(v.join("a.txt")).unwrap(), b"hello redis");
    // A write straddling a chunk boundary, then an overwrite in the middle.
    let mut data = Rng::new(1).bytes(3 * MIB + 77);
    fs::write(v.join("big"), &data).unwrap();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(v.join("big"))
        .unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"PATCH", (MIB - 2) as u64).unwrap();
    drop(f);
    data[MIB - 2..MIB + 3].copy_from_slice(b"PATCH");
    assert_eq!(checksum(&fs::read(v.join("big")).unwrap()), checksum(&data));

    fs::create_dir(v.join("d")).unwrap();
    fs::rename(v.join("a.txt"), v.join("d/b.txt")).unwrap();
    assert!(!v.join("a.txt").exists());
    assert_eq!(fs::read(v.join("d/b.txt")).unwrap(), b"hello redis");
    std::os::unix::fs::symlink("d/b.txt", v.join("sym")).unwrap();
    assert_eq!(
        fs::read_link(v.join("sym")).unwrap(),
        PathBuf::from("d/b.txt")
    );
    assert_eq!(fs::read(v.join("sym")).unwrap(), b"hello redis");
    fs::hard_link(v.join("d/b.txt"), v.join("hard")).unwrap();
    assert_eq!(fs::metadata(v.join("hard")).unwrap().nlink(), 2);
    assert_eq!(
        fs::metadata(v.join("hard")).unwrap().ino(),
        fs::metadata(v.join("d/b.txt")).unwrap().ino()
    );
    fs::remove_file(v.join("d/b.txt")).unwrap();
    assert_eq!(fs::read(v.join("hard")).unwrap(), b"hello redis");
    assert_eq!(err(fs::remove_dir(v.join("missing"))), libc::ENOENT);
    fs::create_dir(v.join("full")).unwrap();
    fs::write(v.join("full/x"), b"x").unwrap();
    assert_eq!(err(fs::remove_dir(v.join("full"))), libc::ENOTEMPTY);
    // truncate, and the bytes past it are gone after growing again
    let f = fs::OpenOptions::new()
        .write(true)
        .open(v.join("big"))
        .unwrap();
    f.set_len(10).unwrap();
    f.set_len(20).unwrap();
    drop(f);
    let back = fs::read(v.join("big")).unwrap();
    assert_eq!(&back[..10], &data[..10]);
    assert_eq!(&back[10..], &[0u8; 10]);
    let mut names: Vec<String> = fs::read_dir(&v)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["big", "d", "full", "hard", "sym"]);
}

#[test]
fn unlinked_open_file_stays_readable_until_close() {
    let m = TestMount::redis();
    let p = m.vram().join("tmp");
    fs::write(&p, b"still here").unwrap();
    let mut f = File::open(&p).unwrap();
    fs::remove_file(&p).unwrap();
    assert!(!p.exists());
    let mut got = Vec::new();
    f.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"still here");
    drop(f);
}

#[test]
fn tree_persists_across_unmount_and_mount() {
    let server = RedisServer::start();
    let stamp = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    let data = Rng::new(7).bytes(2 * MIB + 5);
    let snapshot = |v: &Path| -> Vec<(String, u32, u64, u64, i64, i64)> {
        let mut out = Vec::new();
        for name in ["dir", "dir/file", "dir/link", "hard", "sym"] {
            let md = fs::symlink_metadata(v.join(name)).unwrap();
            out.push((
                name.to_owned(),
                md.mode(),
                md.size(),
                md.nlink(),
                md.mtime(),
                md.mtime_nsec(),
            ));
        }
        out
    };
    let before = {
        let m = TestMount::with_redis(&server, &[]);
        let v = m.vram();
        fs::create_dir(v.join("dir")).unwrap();
        fs::write(v.join("dir/file"), &data).unwrap();
        fs::set_permissions(v.join("dir/file"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::set_permissions(v.join("dir"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::hard_link(v.join("dir/file"), v.join("hard")).unwrap();
        std::os::unix::fs::symlink("dir/file", v.join("sym")).unwrap();
        std::os::unix::fs::symlink("file", v.join("dir/link")).unwrap();
        File::options()
            .write(true)
            .open(v.join("dir/file"))
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        snapshot(&v)
    };
    let m = TestMount::with_redis(&server, &[]);
    let v = m.vram();
    assert_eq!(snapshot(&v), before);
    assert_eq!(fs::read(v.join("hard")).unwrap(), data);
    assert_eq!(
        fs::read_link(v.join("sym")).unwrap(),
        PathBuf::from("dir/file")
    );
    assert_eq!(
        fs::metadata(v.join("dir/file"))
            .unwrap()
            .modified()
            .unwrap(),
        stamp
    );
}

#[test]
fn closed_files_are_whole_after_sigkill_of_the_daemon() {
    let server = RedisServer::start();
    let mut files = Vec::new();
    {
        let mut m = TestMount::with_redis(&server, &[]);
        let v = m.vram();
        fs::create_dir(v.join("d")).unwrap();
        for i in 0..20 {
            let data = Rng::new(100 + i).bytes(1 + (i as usize * 97_003) % (3 * MIB));
            fs::write(v.join(format!("d/f{i}")), &data).unwrap();
            files.push(data);
        }
        fs::rename(v.join("d/f0"), v.join("moved")).unwrap();
        // Busy at the moment of the kill: a file being written.
        let mut busy = File::create(v.join("busy")).unwrap();
        busy.write_all(&[1u8; 4096]).unwrap();
        let st = m
            .signal_and_wait(libc::SIGKILL)
            .expect("daemon exits on SIGKILL");
        assert!(!st.success());
        drop(busy);
        force_unmount(m.mnt());
        assert!(!is_mounted(m.mnt()));
    }
    let m = TestMount::with_redis(&server, &[]);
    let v = m.vram();
    assert_eq!(fs::read(v.join("moved")).unwrap(), files[0]);
    assert!(!v.join("d/f0").exists());
    for (i, want) in files.iter().enumerate().skip(1) {
        let got = fs::read(v.join(format!("d/f{i}"))).unwrap();
        assert_eq!(checksum(&got), checksum(want), "d/f{i}");
    }
}

/// A directory this mount keeps changing (its attributes then come from its own last change,
/// not from Redis) still shows another mount's change within the attribute timeout, and its
/// own changes at once.
#[test]
fn directory_attributes_follow_both_mounts() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let (da, db) = (a.vram().join("d"), b.vram().join("d"));
    fs::create_dir(&da).unwrap();
    for i in 0..50 {
        fs::write(da.join(format!("f{i}")), b"x").unwrap();
    }
    // A's own change: a new subdirectory counts in the link count at once.
    let before = fs::metadata(&da).unwrap().nlink();
    fs::create_dir(da.join("sub")).unwrap();
    assert_eq!(fs::metadata(&da).unwrap().nlink(), before + 1);
    // B's change shows on A, though A keeps creating there.
    fs::create_dir(db.join("from-b")).unwrap();
    let mut i = 50;
    let seen = until(Duration::from_millis(1500), || {
        fs::write(da.join(format!("f{i}")), b"x").unwrap();
        i += 1;
        fs::metadata(&da).unwrap().nlink() == before + 2
    });
    assert!(seen.is_some(), "B's mkdir never counted on A");
}

/// A file read again on the same mount comes from the kernel's pages while nothing changed
/// it; rewritten on another mount with the same size (so no size change gives it away),
/// the next open reads the new bytes.
#[test]
fn warm_reads_keep_the_page_cache_until_another_mount_writes() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let one = Rng::new(5).bytes(2 * MIB);
    fs::write(a.vram().join("f"), &one).unwrap();
    let reads = |m: &TestMount| ctl_stats(m.mnt())["vram"]["by_op"]["read"]["ops"].as_u64();
    assert_eq!(
        checksum(&fs::read(a.vram().join("f")).unwrap()),
        checksum(&one)
    );
    let before = reads(&a);
    assert_eq!(
        checksum(&fs::read(a.vram().join("f")).unwrap()),
        checksum(&one)
    );
    assert_eq!(
        reads(&a),
        before,
        "an unchanged file was read from Redis again"
    );

    let two = Rng::new(6).bytes(2 * MIB);
    fs::write(b.vram().join("f"), &two).unwrap();
    assert_eq!(
        checksum(&fs::read(a.vram().join("f")).unwrap()),
        checksum(&two),
        "the next open on A after B's close read stale pages"
    );
}

/// A file this mount wrote is read back from the pages its kernel wrote, not from Redis, and
/// so is it after a chmod here; once another mount writes it, the next open reads anew.
#[test]
fn this_mounts_writes_stay_in_its_page_cache() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let reads = |m: &TestMount| ctl_stats(m.mnt())["vram"]["by_op"]["read"]["ops"].as_u64();
    let path = a.vram().join("f");
    // Whole pages in one write each: the kernel holds them all.
    let one = Rng::new(7).bytes(MIB);
    fs::write(&path, &one).unwrap();
    let before = reads(&a);
    assert!(fs::read(&path).unwrap() == one);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(fs::read(&path).unwrap() == one);
    assert_eq!(reads(&a), before, "a file written here was read from Redis");

    let two = Rng::new(8).bytes(MIB);
    fs::write(b.vram().join("f"), &two).unwrap();
    assert!(
        fs::read(&path).unwrap() == two,
        "the next open on A after B's close read stale pages"
    );
    // Written here again over B's version: its own pages, and not B's, are read.
    let three = Rng::new(9).bytes(MIB);
    fs::write(&path, &three).unwrap();
    assert!(fs::read(b.vram().join("f")).unwrap() == three);
    assert!(fs::read(&path).unwrap() == three);
}

/// A read that reaches the daemon whatever the kernel caches.
fn open_direct(p: &Path) -> File {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(p)
        .unwrap()
}

fn pread(f: &File, n: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; n];
    let got = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(got);
    buf
}

#[test]
fn small_files_come_with_their_open() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let files: Vec<(PathBuf, Vec<u8>)> = (0..20u64)
        .map(|i| {
            let data = Rng::new(40 + i).bytes(100 + 3000 * i as usize);
            (b.vram().join(format!("small{i}")), data)
        })
        .collect();
    for (p, data) in &files {
        fs::write(a.vram().join(p.file_name().unwrap()), data).unwrap();
    }
    // A's notices of its writes are heard on B before B counts (each would send one read
    // to Redis).
    thread::sleep(Duration::from_millis(500));
    let mut con = server.connection();
    // Looked up on B first (a script each).
    for (p, data) in &files {
        assert_eq!(fs::metadata(p).unwrap().len(), data.len() as u64);
    }
    // Opened on B, then read there: the opens' scripts bring the bytes, the reads take none.
    let before = scripts_run(&mut con);
    let open: Vec<File> = files.iter().map(|(p, _)| open_direct(p)).collect();
    for (f, (_, data)) in open.iter().zip(&files) {
        assert_eq!(pread(f, 128 * 1024), *data);
    }
    let ran = scripts_run(&mut con) - before;
    // One open each; a read each more without (and a few a heartbeat or sweep may add).
    assert!(ran < 30, "{ran} scripts for 20 opens and reads");
    drop(open);

    // A file over the size still reads whole, from Redis.
    let big = Rng::new(60).bytes(200 * 1024);
    fs::write(a.vram().join("big"), &big).unwrap();
    assert_eq!(pread(&open_direct(&b.vram().join("big")), 256 * 1024), big);
}

#[test]
fn bytes_brought_by_an_open_give_way_to_this_mounts_changes() {
    use std::os::unix::fs::FileExt;
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let p = a.vram().join("f");
    fs::write(&p, b"hello world, a small file\n").unwrap();

    // Written through another descriptor after the open: the read sees the write.
    let reader = open_direct(&p);
    let writer = fs::OpenOptions::new().write(true).open(&p).unwrap();
    writer.write_at(b"HELLO", 0).unwrap();
    assert_eq!(pread(&reader, 4096), b"HELLO world, a small file\n");
    // Cut short: the read sees the new end.
    writer.set_len(8).unwrap();
    assert_eq!(pread(&reader, 4096), b"HELLO wo");
    writer.set_len(12).unwrap();
    assert_eq!(pread(&reader, 4096), b"HELLO wo\0\0\0\0");
    drop(writer);
    drop(reader);

    // Another mount's change, closed before this mount opens: the open brings it.
    let reader = open_direct(&p);
    assert_eq!(pread(&reader, 4096), b"HELLO wo\0\0\0\0");
    drop(reader);
    fs::write(b.vram().join("f"), b"from b").unwrap();
    let fresh = until(Duration::from_secs(5), || {
        pread(&open_direct(&p), 4096) == b"from b"
    });
    assert!(fresh.is_some(), "A's open never brought B's bytes");
}

#[test]
fn two_mounts_on_one_prefix_share_vram() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let data = Rng::new(3).bytes(3 * MIB + 11);
    fs::write(a.vram().join("shared"), &data).unwrap();
    assert_eq!(
        checksum(&fs::read(b.vram().join("shared")).unwrap()),
        checksum(&data)
    );
    assert_eq!(
        fs::metadata(a.vram().join("shared")).unwrap().ino(),
        fs::metadata(b.vram().join("shared")).unwrap().ino(),
        "inode numbers agree across mounts"
    );

    // A name B has looked up and not found appears there within the metadata timeout.
    assert!(!b.vram().join("newdir").exists());
    fs::create_dir(a.vram().join("newdir")).unwrap();
    let seen = until(Duration::from_millis(1500), || {
        b.vram().join("newdir").is_dir()
    });
    assert!(seen.is_some(), "mkdir on A not visible on B within 1.5 s");

    // Rewritten and closed on A, read whole by B's next open.
    let newer = Rng::new(4).bytes(MIB + 3);
    fs::write(a.vram().join("shared"), &newer).unwrap();
    let fresh = until(Duration::from_millis(1500), || {
        fs::read(b.vram().join("shared")).map(|d| checksum(&d)).ok() == Some(checksum(&newer))
    });
    assert!(fresh.is_some(), "B never read A's new contents");

    // Removal on B shows on A.
    fs::remove_file(b.vram().join("shared")).unwrap();
    let gone = until(Duration::from_millis(1500), || {
        !a.vram().join("shared").exists()
    });
    assert!(gone.is_some());
}

/// Requests of these kinds the mount's `vram/` has served so far.
fn vram_ops(m: &TestMount, ops: &[&str]) -> u64 {
    let s = ctl_stats(m.mnt());
    ops.iter()
        .map(|op| s["vram"]["by_op"][op]["ops"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn prefixes_are_isolated() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &["--redis-prefix", "one"]);
    let b = TestMount::with_redis(&server, &["--redis-prefix", "two"]);
    fs::write(a.vram().join("x"), b"from one").unwrap();
    assert!(!b.vram().join("x").exists());
    fs::write(b.vram().join("x"), b"from two").unwrap();
    assert_eq!(fs::read(a.vram().join("x")).unwrap(), b"from one");
    assert_eq!(fs::read(b.vram().join("x")).unwrap(), b"from two");
    let mut con = server.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert!(
            k.starts_with("{one}:")
                || k.starts_with("one:")
                || k.starts_with("{two}:")
                || k.starts_with("two:"),
            "key {k} outside both prefixes"
        );
    }
}

#[test]
fn keys_follow_the_documented_layout() {
    let m = TestMount::redis();
    fs::write(m.vram().join("f"), vec![5u8; MIB + 1]).unwrap();
    fs::create_dir(m.vram().join("d")).unwrap();
    let ino = fs::metadata(m.vram().join("f")).unwrap().ino() & ((1 << 60) - 1);
    let mut con = m.redis_server().unwrap().connection();
    let fmt: String = redis::cmd("HGET")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .query(&mut con)
        .unwrap();
    assert_eq!(fmt, "mavfs-vram-6");
    let sets: Vec<String> = redis::cmd("KEYS")
        .arg("{mavfs}:dc:*")
        .query(&mut con)
        .unwrap();
    assert!(sets.is_empty(), "directories need no sorted set: {sets:?}");
    let entry: String = redis::cmd("HGET")
        .arg("{mavfs}:d:1")
        .arg("f")
        .query(&mut con)
        .unwrap();
    assert!(entry.starts_with(&format!("{ino} f ")), "{entry}");
    let size: u64 = redis::cmd("HGET")
        .arg(format!("{{mavfs}}:i:{ino}"))
        .arg("s")
        .query(&mut con)
        .unwrap();
    assert_eq!(size, MIB as u64 + 1);
    // Each chunk: its length, then slices `sid:pos:n:soff` that are disjoint, inside the
    // chunk, and backed by slice strings long enough.
    // Chunk 0, short, lies in the inode; chunk 1 in the chunk hash.
    let inline: Option<String> = redis::cmd("HGET")
        .arg(format!("{{mavfs}}:l:{ino}"))
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(inline, None, "chunk 0 is in the inode");
    for idx in 0..2u64 {
        let (key, field) = match idx {
            0 => (format!("{{mavfs}}:i:{ino}"), "l".to_owned()),
            _ => (format!("{{mavfs}}:l:{ino}"), idx.to_string()),
        };
        let chunk: String = redis::cmd("HGET")
            .arg(key)
            .arg(field)
            .query(&mut con)
            .unwrap();
        let mut parts = chunk.split('|');
        let len: u64 = parts.next().unwrap().parse().unwrap();
        assert_eq!(len, if idx == 0 { MIB as u64 } else { 1 }, "{chunk}");
        let mut covered = 0;
        for s in parts {
            let n: Vec<u64> = s.split(':').map(|x| x.parse().unwrap()).collect();
            let (sid, pos, len_s, soff) = (n[0], n[1], n[2], n[3]);
            assert!(pos + len_s <= len, "{chunk}");
            let have: u64 = redis::cmd("STRLEN")
                .arg(format!("mavfs:s:{sid}"))
                .query(&mut con)
                .unwrap();
            assert!(
                soff + len_s <= have,
                "slice {sid} holds {have} bytes: {chunk}"
            );
            covered += len_s;
        }
        assert_eq!(covered, len, "every byte written lies in a slice: {chunk}");
    }
    let used: u64 = redis::cmd("HGET")
        .arg("{mavfs}:meta")
        .arg("used")
        .query(&mut con)
        .unwrap();
    assert_eq!(used, MIB as u64 + 1);
    // Unlink frees the slices once the kernel has forgotten the inode (it holds it until
    // then, and sends FORGET soon after the last reference goes).
    fs::remove_file(m.vram().join("f")).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < end, "slices left after unlink: {left:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn write_past_ram_limit_is_enospc_and_keeps_old_files() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &["--ram-limit", "8M"]);
    let v = m.vram();
    let first = Rng::new(11).bytes(5 * MIB);
    fs::write(v.join("first"), &first).unwrap();
    assert_eq!(
        errno_of_write(&v.join("second"), &vec![1u8; 5 * MIB]),
        libc::ENOSPC
    );
    assert_eq!(
        checksum(&fs::read(v.join("first")).unwrap()),
        checksum(&first)
    );
    let st = statvfs(&v);
    assert_eq!(st.f_blocks * st.f_frsize, 8 << 20, "statfs shows the limit");
    fs::remove_file(v.join("second")).unwrap();
    fs::write(v.join("third"), vec![2u8; 2 * MIB]).unwrap();
}

#[test]
fn redis_out_of_memory_is_enospc_and_keeps_old_files() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let v = m.vram();
    let first = Rng::new(12).bytes(2 * MIB);
    fs::write(v.join("first"), &first).unwrap();
    let mut con = server.connection();
    let used = used_memory(&mut con);
    set_maxmemory(&mut con, used + (8 << 20));
    assert_eq!(
        errno_of_write(&v.join("big"), &vec![3u8; 64 * MIB]),
        libc::ENOSPC
    );
    assert_eq!(
        checksum(&fs::read(v.join("first")).unwrap()),
        checksum(&first)
    );
    // A full store can still be emptied, and then takes data again.
    fs::remove_file(v.join("big")).unwrap();
    fs::write(v.join("small"), b"fits").unwrap();
    assert_eq!(fs::read(v.join("small")).unwrap(), b"fits");
}

#[test]
fn outage_fails_with_eio_and_the_mount_recovers() {
    let mut server = RedisServer::start_persistent();
    let m = TestMount::with_redis(&server, &["--redis-timeout", "2"]);
    let v = m.vram();
    fs::write(v.join("before"), b"kept").unwrap();
    server.stop();

    let start = Instant::now();
    assert_eq!(errno_of_write(&v.join("during"), b"x"), libc::EIO);
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "took {:?}",
        start.elapsed()
    );
    for i in 0..3 {
        assert_eq!(err(fs::create_dir(v.join(format!("d{i}")))), libc::EIO);
    }
    fs::write(m.vdisk().join("still"), b"disk works").unwrap();
    assert_eq!(fs::read(m.vdisk().join("still")).unwrap(), b"disk works");

    server.restart();
    let back = until(Duration::from_secs(15), || {
        fs::write(v.join("after"), b"again").is_ok()
    });
    assert!(back.is_some(), "vram did not come back after Redis did");
    assert_eq!(fs::read(v.join("before")).unwrap(), b"kept");
    assert_eq!(fs::read(v.join("after")).unwrap(), b"again");
    let log = m.daemon_stderr();
    assert_eq!(
        log.matches("is unreachable").count(),
        1,
        "the outage is logged once:\n{log}"
    );
}

#[test]
fn a_hung_redis_fails_fast_and_the_mount_recovers_by_itself() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &["--redis-timeout", "2"]);
    let v = m.vram();
    fs::write(v.join("before"), b"kept").unwrap();
    let pid = server.pid().unwrap();
    // A hung host: the socket accepts, nothing answers.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let start = Instant::now();
    assert_eq!(err(fs::metadata(v.join("first"))), libc::EIO);
    let first = start.elapsed();
    assert!(first < Duration::from_secs(4), "first EIO after {first:?}");
    // Eight at once do not queue behind each other: each fails within the timeout.
    let start = Instant::now();
    let errs: Vec<i32> = thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let p = v.join(format!("par{i}"));
                s.spawn(move || err(fs::write(p, b"x")))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let par = start.elapsed();
    assert!(errs.iter().all(|&e| e == libc::EIO), "{errs:?}");
    assert!(par < Duration::from_secs(4), "8 parallel ops took {par:?}");
    let start = Instant::now();
    assert_eq!(err(fs::metadata(v.join("again"))), libc::EIO);
    let stat_hung = start.elapsed();
    // The other tier, the mount's own listing and the control file keep answering.
    fs::write(m.vdisk().join("still"), b"disk").unwrap();
    let mut top: Vec<String> = fs::read_dir(m.mnt())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["vdisk", "vram"]);
    let st = ctl_stats(m.mnt());
    assert!(st["backend_state"].as_str().is_some(), "{st}");

    unsafe { libc::kill(pid, libc::SIGCONT) };
    let back = until(Duration::from_secs(10), || {
        fs::write(v.join("after"), b"again").is_ok()
    });
    assert!(back.is_some(), "vram did not come back after Redis did");
    let start = Instant::now();
    assert_eq!(fs::read(v.join("before")).unwrap(), b"kept");
    let stat_back = start.elapsed();
    assert_eq!(fs::read(v.join("after")).unwrap(), b"again");
    eprintln!(
        "stat while hung: first {first:?}, then {stat_hung:?}; read once back: {stat_back:?}"
    );
}

#[test]
fn big_file_round_trips_with_its_checksum() {
    let mb: usize = std::env::var("MAVFS_BIG_FILE_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let m = TestMount::redis();
    let path = m.vram().join("big");
    let mut rng = Rng::new(99);
    let mut want = Fnv::new();
    let mut f = File::create(&path).unwrap();
    for _ in 0..mb {
        let piece = rng.bytes(MIB);
        want.update(&piece);
        f.write_all(&piece).unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(fs::metadata(&path).unwrap().len(), (mb * MIB) as u64);
    let mut got = Fnv::new();
    let mut f = File::open(&path).unwrap();
    let mut buf = vec![0u8; MIB];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.update(&buf[..n]);
    }
    assert_eq!(got.0, want.0, "checksum of {mb} MiB read back");
}

/// A sequential writer's 1 MiB writes are sent while the next ones come: what a write
/// returned is what this mount reads at once, another mount after the close, and Redis
/// holds it without a quarter more per chunk.
#[test]
fn sequential_writes_sent_behind_the_writer_read_whole() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    fs::write(a.vram().join("warm"), b"scripts loaded").unwrap();
    let before = used_memory(&mut con);
    let mut data = Rng::new(31).bytes(24 * MIB + 1000);
    let path = a.vram().join("seq");
    let mut f = File::create(&path).unwrap();
    // A first write off the chunk's start: every 1 MiB write after it spans two chunks.
    f.write_all(&data[..1000]).unwrap();
    for (i, piece) in data[1000..].chunks(MIB).enumerate() {
        f.write_all(piece).unwrap();
        if i == 11 {
            let mut half = vec![0u8; 12 * MIB + 1000];
            let mut r = File::open(&path).unwrap();
            r.read_exact(&mut half).unwrap();
            assert!(
                half == data[..half.len()],
                "read on this mount while writing"
            );
        }
    }
    // An overwrite over a piece that may still be on its way.
    f.write_all_at(b"OVER", 23 * MIB as u64).unwrap();
    data[23 * MIB..23 * MIB + 4].copy_from_slice(b"OVER");
    drop(f);
    let got = fs::read(b.vram().join("seq")).unwrap();
    assert_eq!(got.len(), data.len());
    assert!(
        got == data,
        "the other mount reads it whole after the close"
    );
    // Read right after its writes, Redis holds some transient memory for a moment.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let grown = used_memory(&mut con) - before;
        if grown < data.len() as u64 * 21 / 20 {
            break;
        }
        assert!(
            Instant::now() < end,
            "Redis grew {grown} bytes for {} bytes written",
            data.len()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Random 4 KiB writes as fast as they come, sent in batches on the sending thread while
/// the next are kept (a batch is bounded: `Behind::brimful`): every write lands.
#[test]
fn random_small_writes_all_land() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let path = m.vram().join("r");
    let mut want = Rng::new(51).bytes(16 * MIB);
    fs::write(&path, &want).unwrap();
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut rng = Rng::new(52);
    let end = Instant::now() + Duration::from_secs(3);
    let mut n = 0;
    while Instant::now() < end {
        let at = rng.below((16 * MIB / 4096) as u64) as usize * 4096;
        let piece = rng.bytes(4096);
        f.write_all_at(&piece, at as u64)
            .unwrap_or_else(|e| panic!("write {n} failed: {e}"));
        want[at..at + 4096].copy_from_slice(&piece);
        n += 1;
    }
    f.sync_all().unwrap();
    drop(f);
    let again = TestMount::with_redis(&server, &[]);
    assert!(
        fs::read(again.vram().join("r")).unwrap() == want,
        "{n} random writes read back"
    );
}

/// A server that forgot the scripts (a restart, `SCRIPT FLUSH`) takes writes all the same:
/// the slices sent with a publication landed, and the publication runs again.
#[test]
fn writes_go_on_after_redis_forgets_its_scripts() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let v = m.vram();
    let first = Rng::new(41).bytes(3 * MIB + 5);
    fs::write(v.join("first"), &first).unwrap();
    let mut con = server.connection();
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query::<()>(&mut con)
        .unwrap();
    let second = Rng::new(42).bytes(2 * MIB + 7);
    let mut f = File::create(v.join("second")).unwrap();
    f.write_all(&second).unwrap();
    f.sync_all().unwrap();
    drop(f);
    fs::write(v.join("small"), b"after the flush").unwrap();
    let again = TestMount::with_redis(&server, &[]);
    let w = again.vram();
    assert!(fs::read(w.join("first")).unwrap() == first);
    assert!(fs::read(w.join("second")).unwrap() == second);
    assert_eq!(fs::read(w.join("small")).unwrap(), b"after the flush");
}

#[test]
fn foreign_data_under_the_prefix_is_refused() {
    let server = RedisServer::start();
    let url = server.url();
    let mut con = server.connection();
    redis::cmd("HSET")
        .arg("{old}:meta")
        .arg("format")
        .arg("mavfs-vram-0")
        .query::<()>(&mut con)
        .unwrap();
    assert_refused(
        &[
            "--ram",
            "redis",
            "--redis-url",
            &url,
            "--redis-prefix",
            "old",
        ],
        "another format",
    );
    redis::cmd("SET")
        .arg("py:files:/x")
        .arg("data")
        .query::<()>(&mut con)
        .unwrap();
    assert_refused(
        &[
            "--ram",
            "redis",
            "--redis-url",
            &url,
            "--redis-prefix",
            "py",
        ],
        "did not write",
    );
    // Nothing was touched.
    let fmt: String = redis::cmd("HGET")
        .arg("{old}:meta")
        .arg("format")
        .query(&mut con)
        .unwrap();
    assert_eq!(fmt, "mavfs-vram-0");
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 2);
}

#[test]
fn mount_time_errors_are_one_line() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    assert_refused(
        &["--ram", "redis", "--redis-url", &url],
        &format!("cannot connect to Redis at 127.0.0.1:{port}: Connection refused"),
    );
    let p = port.to_string();
    assert_refused(
        &[
            "--ram",
            "redis",
            "--redis-host",
            "127.0.0.1",
            "--redis-port",
            &p,
        ],
        &format!("cannot connect to Redis at 127.0.0.1:{port}"),
    );

    let server = RedisServer::start();
    let url = server.url();
    for bad in ["", "a b", "x{y", "x}"] {
        assert_refused(
            &["--ram", "redis", "--redis-url", &url, "--redis-prefix", bad],
            "--redis-prefix",
        );
    }
    assert_refused(
        &["--ram", "redis", "--redis-url", &url, "--redis-db", "99"],
        "no database 99",
    );

    let locked = RedisServer::start_with(&["--requirepass", "s3cret"]);
    let lp = locked.port();
    assert_refused(
        &["--ram", "redis", "--redis-url", &locked.url()],
        "requires a password",
    );
    let line = assert_refused(
        &[
            "--ram",
            "redis",
            "--redis-url",
            &format!("redis://:wrong@127.0.0.1:{lp}/0"),
        ],
        "refused the credentials",
    );
    assert!(!line.contains("wrong"), "the password is not shown: {line}");
    // The right password mounts.
    let good = format!("redis://:s3cret@127.0.0.1:{lp}/0");
    let m = TestMount::with_args(&["--ram", "redis", "--redis-url", &good]);
    fs::write(m.vram().join("ok"), b"ok").unwrap();
}

#[test]
fn evicting_memory_policy_refuses_the_mount_and_a_late_one_turns_vram_read_only() {
    let server = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lru"]);
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let disk = tempfile::tempdir().unwrap();
    let args = [
        dir.path().to_str().unwrap(),
        "--disk-dir",
        disk.path().to_str().unwrap(),
        "--ram",
        "redis",
        "--redis-url",
        &url,
    ];
    let out = run_mount(&args, Duration::from_secs(20));
    let line = assert_one_line_error(&out, &args, "allkeys-lru");
    assert!(
        line.contains("CONFIG SET maxmemory-policy noeviction"),
        "{line}"
    );
    assert!(!is_mounted(dir.path()));

    // A policy changed under a running mount: vram/ turns read-only (never loses data),
    // and writable again once the policy is safe.
    let mut con = server.connection();
    let set_policy = |con: &mut redis::Connection, p: &str| {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory-policy")
            .arg(p)
            .query::<()>(con)
            .unwrap()
    };
    set_policy(&mut con, "noeviction");
    let m = TestMount::with_redis(&server, &[]);
    fs::write(m.vram().join("kept"), b"kept").unwrap();
    set_policy(&mut con, "volatile-lru");
    // `stats` checks the policy at once (the watch thread would within a heartbeat).
    let st = ctl_stats(m.mnt());
    assert!(st.is_object());
    assert_eq!(
        err(fs::write(m.vram().join("new"), b"x")),
        libc::EROFS,
        "a change under an evicting policy"
    );
    assert_eq!(fs::read(m.vram().join("kept")).unwrap(), b"kept");
    assert!(
        m.daemon_stderr().contains("volatile-lru"),
        "no error logged:\n{}",
        m.daemon_stderr()
    );
    set_policy(&mut con, "noeviction");
    let _ = ctl_stats(m.mnt());
    fs::write(m.vram().join("new"), b"x").unwrap();
}

/// The kernel asks for `security.capability` before a file's first write and before a
/// chown: for a file this mount has just seen without extended attributes, that is answered
/// without Redis. An xattr set on this mount shows at once, one set on another mount within
/// the kernel's attribute time.
#[test]
fn xattr_free_files_answer_without_redis_and_xattrs_still_show() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &["--redis-timeout", "1"]);
    let b = TestMount::with_redis(&server, &[]);
    let (bare, dressed, shared) = (
        a.vram().join("bare"),
        a.vram().join("dressed"),
        a.vram().join("shared"),
    );
    for p in [&bare, &dressed, &shared] {
        fs::write(p, b"x").unwrap();
    }
    // Seen without xattrs as the write answered, then given one here: it shows at once.
    set_xattr(&dressed, "user.k", b"v").unwrap();
    assert_eq!(get_xattr(&dressed, "user.k").unwrap(), b"v");
    // Seen without xattrs here, given one on the other mount: it shows here soon.
    assert_eq!(err(get_xattr(&shared, "user.k")), libc::ENODATA);
    set_xattr(&b.vram().join("shared"), "user.k", b"w").unwrap();
    let seen = until(Duration::from_secs(5), || {
        get_xattr(&shared, "user.k").is_ok_and(|v| v == b"w")
    });
    assert!(seen.is_some(), "B's xattr never showed on A");

    // A chmod answers with the attributes, so `bare` is freshly seen; with Redis hung, the
    // question about it is still answered, while one about `dressed` needs Redis.
    fs::set_permissions(&bare, fs::Permissions::from_mode(0o640)).unwrap();
    let pid = server.pid().unwrap();
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let answers = (
        err(get_xattr(&bare, "security.capability")),
        err(get_xattr(&dressed, "user.k")),
    );
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(answers, (libc::ENODATA, libc::EIO));
}

/// Mounts of one prefix tell each other of their changes: a mount's kernel keeps names and
/// attributes for seconds (a second `stat` pass asks nothing), yet shows another mount's
/// rename, unlink, chmod and append at once (a notice's travel), not when its cache runs
/// out.
#[test]
fn other_mounts_changes_show_at_once_though_the_kernel_keeps_long() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let (va, vb) = (a.vram(), b.vram());
    for i in 0..20 {
        fs::write(va.join(format!("f{i}")), b"12345").unwrap();
    }
    // Past the new mounts' greeting, after which they keep things long.
    thread::sleep(Duration::from_millis(2500));
    let asked = |m: &TestMount| vram_ops(m, &["lookup", "getattr"]);
    let stat_all = |v: &Path| {
        for i in 0..20 {
            fs::metadata(v.join(format!("f{i}"))).unwrap();
        }
    };
    let kept = until(Duration::from_secs(8), || {
        stat_all(&va);
        thread::sleep(Duration::from_millis(1500));
        let before = asked(&a);
        stat_all(&va);
        asked(&a) == before
    });
    assert!(
        kept.is_some(),
        "names and attributes were asked for again after 1.5 s"
    );

    // Each change on B shows on A long before the 10 s the kernel would keep things.
    let soon = Duration::from_secs(2);
    let p = |i: u32| va.join(format!("f{i}"));
    fs::rename(vb.join("f0"), vb.join("moved")).unwrap();
    assert!(until(soon, || !p(0).exists() && va.join("moved").exists()).is_some());
    fs::remove_file(vb.join("f1")).unwrap();
    assert!(until(soon, || !p(1).exists()).is_some(), "unlink on B");
    fs::set_permissions(vb.join("f2"), fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        until(soon, || fs::metadata(p(2)).unwrap().mode() & 0o777 == 0o600).is_some(),
        "chmod on B"
    );
    fs::OpenOptions::new()
        .append(true)
        .open(vb.join("f3"))
        .unwrap()
        .write_all(b"678")
        .unwrap();
    assert!(
        until(soon, || fs::metadata(p(3)).unwrap().len() == 8).is_some(),
        "append on B"
    );
    let nlink = fs::metadata(&va).unwrap().nlink();
    fs::create_dir(vb.join("d")).unwrap();
    assert!(
        until(soon, || fs::metadata(&va).unwrap().nlink() == nlink + 1).is_some(),
        "mkdir on B"
    );
}

/// A directory made on this mount answers lookups of names it lacks without Redis, and
/// still shows at once the names another mount makes in it, or moves or links into it.
#[test]
fn names_made_elsewhere_show_in_a_directory_made_here() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let (va, vb) = (a.vram(), b.vram());
    // Past the greeting: the mounts hear each other.
    thread::sleep(Duration::from_millis(2500));
    fs::create_dir(va.join("d")).unwrap();
    let mut con = server.connection();
    let before = scripts_run(&mut con);
    for i in 0..100 {
        assert!(!va.join(format!("d/n{i}")).exists());
    }
    let ran = scripts_run(&mut con) - before;
    assert!(
        ran < 10,
        "{ran} scripts ran for 100 lookups of absent names"
    );
    fs::write(va.join("d/mine"), b"1").unwrap();
    assert_eq!(fs::read(va.join("d/mine")).unwrap(), b"1");

    let soon = Duration::from_secs(2);
    fs::write(vb.join("d/n1"), b"from b").unwrap();
    assert!(
        until(soon, || va.join("d/n1").exists()).is_some(),
        "made on B"
    );
    assert_eq!(fs::read(va.join("d/n1")).unwrap(), b"from b");
    fs::write(vb.join("elsewhere"), b"x").unwrap();
    fs::rename(vb.join("elsewhere"), vb.join("d/n2")).unwrap();
    assert!(
        until(soon, || va.join("d/n2").exists()).is_some(),
        "moved in on B"
    );
    fs::hard_link(vb.join("d/n2"), vb.join("d/n3")).unwrap();
    assert!(
        until(soon, || va.join("d/n3").exists()).is_some(),
        "linked on B"
    );
    fs::remove_file(vb.join("d/mine")).unwrap();
    assert!(
        until(soon, || !va.join("d/mine").exists()).is_some(),
        "removed on B"
    );
}

/// A name found absent is kept absent by the kernel as names are kept (a `stat` of it again
/// asks nothing), and shows at once when another mount makes it, moves, links or
/// symlinks it there, or makes a directory of that name.
#[test]
fn absent_names_are_kept_until_another_mount_makes_them() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let (va, vb) = (a.vram(), b.vram());
    // Made on B: A knows nothing of its names but what Redis says.
    fs::create_dir(vb.join("d")).unwrap();
    fs::write(vb.join("elsewhere"), b"moved").unwrap();
    // Past the greeting: the mounts hear each other.
    thread::sleep(Duration::from_millis(2500));
    let names = ["made", "moved", "linked", "sym", "dir"];
    for n in names {
        assert!(!va.join("d").join(n).exists(), "{n}");
    }
    // Past the 1 s a mount that does not hear keeps things: kept this long, they are kept
    // for a mount that hears.
    thread::sleep(Duration::from_millis(1500));
    let before = vram_ops(&a, &["lookup"]);
    for _ in 0..5 {
        for n in names {
            assert!(!va.join("d").join(n).exists(), "{n}");
        }
    }
    assert_eq!(
        vram_ops(&a, &["lookup"]),
        before,
        "absent names were asked again"
    );

    let soon = Duration::from_secs(2);
    let shows = |n: &str| until(soon, || va.join("d").join(n).exists()).is_some();
    fs::write(vb.join("d/made"), b"from b").unwrap();
    assert!(shows("made"), "made on B");
    assert_eq!(fs::read(va.join("d/made")).unwrap(), b"from b");
    fs::rename(vb.join("elsewhere"), vb.join("d/moved")).unwrap();
    assert!(shows("moved"), "moved in on B");
    fs::hard_link(vb.join("d/made"), vb.join("d/linked")).unwrap();
    assert!(shows("linked"), "linked on B");
    std::os::unix::fs::symlink("made", vb.join("d/sym")).unwrap();
    assert!(shows("sym"), "symlinked on B");
    fs::create_dir(vb.join("d/dir")).unwrap();
    assert!(shows("dir"), "mkdir on B");
    assert_eq!(fs::read(va.join("d/sym")).unwrap(), b"from b");
}

/// Notices that went by while a mount's listening connection was down are not known: when
/// it listens again, its kernel looks every name up anew, and asks again for the attributes
/// of what it holds open.
#[test]
fn after_a_gap_in_the_notices_the_kernel_looks_names_up_again() {
    if !kernel_at_least(6, 16) {
        eprintln!("skipped: the kernel drops all names at once only from Linux 6.16");
        return;
    }
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let v = m.vram();
    for i in 0..20 {
        fs::write(v.join(format!("f{i}")), b"x").unwrap();
    }
    thread::sleep(Duration::from_millis(2500));
    let lookups = || vram_ops(&m, &["lookup"]);
    let stat_all = || {
        for i in 0..20 {
            fs::metadata(v.join(format!("f{i}"))).unwrap();
        }
    };
    // Kept once the mount hears its own beat (past its greeting).
    let kept = until(Duration::from_secs(5), || {
        stat_all();
        let before = lookups();
        stat_all();
        lookups() == before
    });
    assert!(kept.is_some(), "names were never kept");
    // An open file's attributes, which the kernel reaches without a lookup.
    let held = File::open(v.join("f0")).unwrap();
    let getattrs = || vram_ops(&m, &["getattr"]);
    let held_kept = until(Duration::from_secs(5), || {
        held.metadata().unwrap();
        let before = getattrs();
        held.metadata().unwrap();
        getattrs() == before
    });
    assert!(
        held_kept.is_some(),
        "an open file's attributes were never kept"
    );
    let (before, asked_before) = (lookups(), getattrs());
    let mut con = server.connection();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut con)
        .unwrap();
    assert!(killed >= 1, "no listening connection to cut");
    let asked_again = until(Duration::from_secs(5), || {
        held.metadata().unwrap();
        getattrs() > asked_before
    });
    assert!(
        asked_again.is_some(),
        "an open file's attributes kept after a gap in the notices"
    );
    let again = until(Duration::from_secs(5), || {
        stat_all();
        lookups() >= before + 20
    });
    assert!(again.is_some(), "names kept after a gap in the notices");
}

/// A change whose answer was lost (Redis answered after the call timed out) is told to no
/// other mount as it happens: once Redis answers again, this mount's kernel and the others'
/// look every name up anew, so a name it made shows on both, though both had found it absent;
/// and a write's new size shows on a mount that held the file's attributes.
#[test]
fn changes_whose_answers_were_lost_show_once_redis_answers_again() {
    if !kernel_at_least(6, 16) {
        eprintln!("skipped: the kernel drops all names at once only from Linux 6.16");
        return;
    }
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &["--redis-timeout", "1"]);
    let b = TestMount::with_redis(&server, &[]);
    let (va, vb) = (a.vram(), b.vram());
    // Redis then knows the create script: the create A sends runs once Redis runs again.
    fs::write(vb.join("warm"), b"x").unwrap();
    // Past the greeting: absent names are kept long on both.
    thread::sleep(Duration::from_millis(2500));
    assert!(!va.join("late").exists() && !vb.join("late").exists());
    let pid = server.pid().unwrap();
    // The create is sent: the kernel holds the directory's attributes, and a lookup A
    // never made has just used a connection (one idle for a second is PINGed first).
    fs::metadata(&va).unwrap();
    assert!(va.join("warm").exists());
    // Stopped for less than the listeners' three beats: no gap in the notices.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let made = fs::write(va.join("late"), b"made");
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(err(made), libc::EIO);
    let mut con = server.connection();
    let reached = until(Duration::from_secs(2), || {
        let inodes: Vec<String> = redis::cmd("KEYS").arg("*:i:*").query(&mut con).unwrap();
        inodes.len() >= 3
    });
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(reached.is_some(), "the create never reached Redis: {all:?}");
    for (m, v) in [("A", &va), ("B", &vb)] {
        let shows = until(Duration::from_secs(5), || v.join("late").exists());
        assert!(shows.is_some(), "the name made on A never showed on {m}");
    }

    // A's append is kept back for its fsync, whose answer is lost (a first one gives A what
    // a publication needs beforehand: slice ids, a pack). B holds the file's attributes.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(va.join("warm"))
        .unwrap();
    f.write_all(b"2").unwrap();
    f.sync_all().unwrap();
    let two = until(Duration::from_secs(5), || {
        fs::metadata(vb.join("warm")).is_ok_and(|m| m.len() == 2)
    });
    assert!(two.is_some(), "the first append never showed on B");
    let asked = || vram_ops(&b, &["lookup", "getattr"]);
    let kept = until(Duration::from_secs(8), || {
        thread::sleep(Duration::from_millis(1200));
        let before = asked();
        fs::metadata(vb.join("warm")).unwrap();
        asked() == before
    });
    assert!(
        kept.is_some(),
        "B never kept the file's attributes past 1 s"
    );
    f.write_all(b"345").unwrap();
    assert!(!va.join("absent").exists());
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let synced = f.sync_all();
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(err(synced), libc::EIO);
    drop(f);
    let grown = until(Duration::from_secs(5), || {
        fs::metadata(vb.join("warm")).is_ok_and(|m| m.len() == 5)
    });
    assert!(grown.is_some(), "the write on A never showed on B");
}

#[test]
fn times_survive_remount_exactly() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let stamps = [
        (
            "new",
            UNIX_EPOCH + Duration::new(1_700_000_000, 987_654_321),
        ),
        // Whole seconds: fuser 0.18 decodes a negative time's nanoseconds backwards.
        ("old", UNIX_EPOCH - Duration::from_secs(86_400)),
    ];
    for (name, t) in stamps {
        let p = m.vram().join(name);
        fs::write(&p, b"t").unwrap();
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    drop(m);
    let m = TestMount::with_redis(&server, &[]);
    for (name, t) in stamps {
        let got: SystemTime = fs::metadata(m.vram().join(name))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(got, t, "{name}");
    }
}

#[test]
fn opens_of_a_killed_mount_are_given_back() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let used = |con: &mut redis::Connection| -> u64 {
        redis::cmd("HGET")
            .arg("{mavfs}:meta")
            .arg("used")
            .query(con)
            .unwrap()
    };
    let orphan_ino;
    {
        let mut m = TestMount::with_redis(&server, &[]);
        let v = m.vram();
        fs::write(v.join("keep"), vec![1u8; 1000]).unwrap();
        fs::write(v.join("orphan"), vec![2u8; 2 * MIB]).unwrap();
        let f = File::open(v.join("orphan")).unwrap();
        orphan_ino = f.metadata().unwrap().ino() & ((1 << 60) - 1);
        fs::remove_file(v.join("orphan")).unwrap();
        assert_eq!(used(&mut con), 1000 + 2 * MIB as u64, "held while open");
        m.signal_and_wait(libc::SIGKILL)
            .expect("daemon exits on SIGKILL");
        force_unmount(m.mnt());
        drop(f);
    }
    // Its heartbeat would expire within a minute; make that now.
    let alive: Vec<String> = redis::cmd("KEYS")
        .arg("{mavfs}:alive:*")
        .query(&mut con)
        .unwrap();
    assert_eq!(alive.len(), 1);
    redis::cmd("DEL").arg(&alive).query::<()>(&mut con).unwrap();
    let m = TestMount::with_redis(&server, &[]);
    assert_eq!(used(&mut con), 1000, "the orphan's bytes are given back");
    // Only `keep`'s slices are left: 1,000 bytes of slice strings in all.
    let slices: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
    let mut held = 0;
    for k in &slices {
        held += redis::cmd("STRLEN").arg(k).query::<u64>(&mut con).unwrap();
    }
    assert_eq!(held, 1000, "slices left: {slices:?}");
    let inode: u64 = redis::cmd("EXISTS")
        .arg(format!("{{mavfs}}:i:{orphan_ino}"))
        .arg(format!("{{mavfs}}:l:{orphan_ino}"))
        .query(&mut con)
        .unwrap();
    assert_eq!(inode, 0);
    assert_eq!(fs::read(m.vram().join("keep")).unwrap(), vec![1u8; 1000]);
}

#[test]
fn a_chunk_cut_by_small_writes_is_compacted_and_keeps_its_bytes() {
    let m = TestMount::redis();
    let path = m.vram().join("frag");
    let f = File::create(&path).unwrap();
    let mut want = vec![0u8; 199 * 3000 + 10];
    for i in 0..200usize {
        let piece = [(i % 250) as u8 + 1; 10];
        std::os::unix::fs::FileExt::write_all_at(&f, &piece, (i * 3000) as u64).unwrap();
        want[i * 3000..i * 3000 + 10].copy_from_slice(&piece);
    }
    drop(f);
    let ino = fs::metadata(&path).unwrap().ino() & ((1 << 60) - 1);
    let mut con = m.redis_server().unwrap().connection();
    // Chunk 0's entry: in the chunk hash while long, in the inode once short.
    let slices = |con: &mut redis::Connection| -> usize {
        let (long, short): (Option<String>, Option<String>) = redis::pipe()
            .cmd("HGET")
            .arg(format!("{{mavfs}}:l:{ino}"))
            .arg(0)
            .cmd("HGET")
            .arg(format!("{{mavfs}}:i:{ino}"))
            .arg("l")
            .query(con)
            .unwrap();
        long.or(short).unwrap().matches('|').count()
    };
    let compacted = until(Duration::from_secs(10), || slices(&mut con) <= 32);
    assert!(compacted.is_some(), "still {} slices", slices(&mut con));
    assert!(
        fs::read(&path).unwrap() == want,
        "bytes changed by compaction"
    );
    // The slices it replaced are deleted: what is left is about one chunk's worth.
    let keys: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
    let gone = until(Duration::from_secs(10), || {
        let keys: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(&mut con).unwrap();
        keys.len() <= 33
    });
    assert!(gone.is_some(), "{} slice keys left", keys.len());
}

#[test]
fn redis_emptied_under_the_mount_says_so_and_starts_again() {
    let m = TestMount::redis();
    let v = m.vram();
    fs::write(v.join("old"), b"old bytes").unwrap();
    let mut con = m.redis_server().unwrap().connection();
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    // The tier answers again by itself, empty: the lost file is gone, never another's bytes.
    let back = until(Duration::from_secs(5), || fs::read_dir(&v).is_ok());
    assert!(back.is_some(), "vram/ does not answer after FLUSHALL");
    fs::write(v.join("new"), b"new bytes").unwrap();
    assert_eq!(fs::read(v.join("new")).unwrap(), b"new bytes");
    let gone = until(Duration::from_secs(5), || {
        err(fs::read(v.join("old"))) == libc::ENOENT
    });
    assert!(gone.is_some(), "old: {:?}", fs::read(v.join("old")));
    let log = m.daemon_stderr();
    assert!(log.contains("lost all of vram/"), "not said:\n{log}");
    // Ids start again past any another mount may still hold in its batch.
    let next: u64 = redis::cmd("HGET")
        .arg("{mavfs}:meta")
        .arg("next_slice")
        .query(&mut con)
        .unwrap();
    assert!(next > 1 << 40, "next_slice {next}");

    // Part of the data gone (keys deleted by hand): no id starts again over what is left;
    // vram/ turns read-only, at the next create or heartbeat.
    redis::cmd("DEL")
        .arg("{mavfs}:meta")
        .query::<()>(&mut con)
        .unwrap();
    assert_eq!(err(fs::write(v.join("x"), b"x")), libc::EIO);
    let ro = until(Duration::from_secs(20), || {
        errno_or_zero(fs::write(v.join("y"), b"y")) == libc::EROFS
    });
    assert!(ro.is_some(), "vram/ still writable with its meta gone");
    // Read-only for good: the memory policy's check (noeviction) does not lift it.
    let _ = ctl_stats(m.mnt());
    assert_eq!(err(fs::write(v.join("z"), b"z")), libc::EROFS);
    assert_eq!(fs::read(v.join("new")).unwrap(), b"new bytes");
    assert!(m.daemon_stderr().contains("lost part of prefix"));
}

#[test]
fn cut_chunks_give_their_memory_back() {
    let m = TestMount::redis();
    let mut con = m.redis_server().unwrap().connection();
    let held = |con: &mut redis::Connection| -> u64 {
        let keys: Vec<String> = redis::cmd("KEYS").arg("mavfs:s:*").query(con).unwrap();
        keys.iter()
            .map(|k| redis::cmd("STRLEN").arg(k).query::<u64>(con).unwrap())
            .sum()
    };
    let p = m.vram().join("cut");
    fs::write(&p, vec![9u8; MIB]).unwrap();
    assert!(held(&mut con) >= MIB as u64);
    // A truncate to 10 bytes, and a punch in a second file: the slices that held the cut
    // bytes are rewritten to what is left.
    let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(10).unwrap();
    drop(f);
    let back = until(Duration::from_secs(10), || held(&mut con) < 4096);
    assert!(back.is_some(), "slices still hold {} bytes", held(&mut con));
    assert_eq!(fs::read(&p).unwrap(), vec![9u8; 10]);
}

/// While the notices between mounts flow, the kernel keeps names and attributes 60 s (on a
/// kernel that drops them all at once after a gap): a `stat` 12 s after the last one asks
/// the mount nothing.
#[test]
fn names_and_attributes_are_kept_past_ten_seconds_while_notices_flow() {
    if !kernel_at_least(6, 16) {
        eprintln!("skipped: before Linux 6.16 the kernel keeps them 10 s");
        return;
    }
    let m = TestMount::redis();
    let v = m.vram();
    for i in 0..20 {
        fs::write(v.join(format!("f{i}")), b"12345").unwrap();
    }
    // Past the mount's greeting, in which it keeps things 1 s.
    thread::sleep(Duration::from_millis(2500));
    let asked = || vram_ops(&m, &["lookup", "getattr"]);
    let stat_all = || {
        for i in 0..20 {
            assert_eq!(fs::metadata(v.join(format!("f{i}"))).unwrap().len(), 5);
        }
    };
    // A pass that read names while this mount's beat was late kept them 1 s: passes go
    // on until one right after another asks nothing.
    let kept = until(Duration::from_secs(10), || {
        stat_all();
        let before = asked();
        stat_all();
        asked() == before
    });
    assert!(kept.is_some(), "names and attributes not kept at all");
    let before = asked();
    thread::sleep(Duration::from_secs(12));
    stat_all();
    assert_eq!(
        asked(),
        before,
        "names or attributes asked for again after 12 s"
    );
}

/// Closes are given back to Redis together (what comes within 2 ms, in one script), each
/// counted once: files unlinked while open go at their last close, and a file open twice
/// stays, readable, until both are closed.
#[test]
fn closes_given_back_together_each_count_once() {
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    let keys = |con: &mut redis::Connection, pattern: &str| -> usize {
        redis::cmd("KEYS")
            .arg(pattern)
            .query::<Vec<String>>(con)
            .unwrap()
            .len()
    };
    let v = m.vram();
    let before = keys(&mut con, "{mavfs}:i:*");
    let files: Vec<File> = (0..50)
        .map(|i| {
            let p = v.join(format!("u{i}"));
            fs::write(&p, format!("file {i}")).unwrap();
            File::open(&p).unwrap()
        })
        .collect();
    let twice = v.join("twice");
    fs::write(&twice, b"still here").unwrap();
    let (first, mut second) = (File::open(&twice).unwrap(), File::open(&twice).unwrap());
    for i in 0..50 {
        fs::remove_file(v.join(format!("u{i}"))).unwrap();
    }
    fs::remove_file(&twice).unwrap();
    assert_eq!(
        keys(&mut con, "{mavfs}:i:*"),
        before + 51,
        "reaped while open"
    );
    drop(files);
    drop(first);
    let one_left = until(Duration::from_secs(10), || {
        keys(&mut con, "{mavfs}:i:*") == before + 1
    });
    assert!(
        one_left.is_some(),
        "{} inodes left, {} expected",
        keys(&mut con, "{mavfs}:i:*"),
        before + 1
    );
    let mut got = String::new();
    second.read_to_string(&mut got).unwrap();
    assert_eq!(got, "still here");
    drop(second);
    let none_left = until(Duration::from_secs(10), || {
        keys(&mut con, "{mavfs}:i:*") == before
    });
    assert!(
        none_left.is_some(),
        "the file open twice outlived its closes"
    );
    assert_eq!(
        keys(&mut con, "{mavfs}:s:*"),
        0,
        "opens still counted in the session"
    );
}
