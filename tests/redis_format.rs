//! What the Redis format shapes, seen through real mounts: directory listings, a small file's
//! chunk kept in its inode, and the move of a prefix an older format wrote (which kept a
//! cookie-sorted set beside each directory's entries) to this one.

mod common;

use common::*;
use std::ffi::{CStr, CString, OsString};
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

fn keys(con: &mut redis::Connection, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS").arg(pattern).query(con).unwrap()
}

/// The format as this build names it (`fmt`), and as older ones did (`format`).
fn format(con: &mut redis::Connection) -> (Option<String>, Option<String>) {
    redis::cmd("HMGET")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .arg("format")
        .query(con)
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// A directory stream through libc, for telldir and seekdir.
struct Dir(*mut libc::DIR);

impl Dir {
    fn open(p: &Path) -> Dir {
        let c = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        let d = unsafe { libc::opendir(c.as_ptr()) };
        assert!(!d.is_null(), "opendir {}", p.display());
        Dir(d)
    }
    fn next(&mut self) -> Option<String> {
        loop {
            let e = unsafe { libc::readdir(self.0) };
            if e.is_null() {
                return None;
            }
            let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) }
                .to_bytes()
                .to_vec();
            if name != b"." && name != b".." {
                return Some(OsString::from_vec(name).into_string().unwrap());
            }
        }
    }
    fn rest(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.next()).collect()
    }
    fn tell(&self) -> libc::c_long {
        unsafe { libc::telldir(self.0) }
    }
    fn seek(&mut self, at: libc::c_long) {
        unsafe { libc::seekdir(self.0, at) }
    }
    fn rewind(&mut self) {
        unsafe { libc::rewinddir(self.0) }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        unsafe { libc::closedir(self.0) };
    }
}

#[test]
fn listings_are_in_creation_order_and_fresh_at_each_start() {
    let m = TestMount::redis();
    let d = m.vram().join("d");
    fs::create_dir(&d).unwrap();
    // Enough names for several of the kernel's readdir pages.
    let made: Vec<String> = (0..700)
        .map(|i| format!("name-{i:04}-{}", "x".repeat(40)))
        .collect();
    for n in &made {
        fs::write(d.join(n), b"").unwrap();
    }
    assert_eq!(names(&d), made);

    // A stream's position holds across its pages: back to a told place, and on a new stream.
    let mut s = Dir::open(&d);
    let first: Vec<String> = (0..250).map(|_| s.next().unwrap()).collect();
    assert_eq!(first, made[..250]);
    let at = s.tell();
    let rest = s.rest();
    assert_eq!(rest, made[250..]);
    s.seek(at);
    assert_eq!(s.rest(), made[250..], "seekdir back to a telldir place");
    let mut other = Dir::open(&d);
    other.seek(at);
    assert_eq!(other.rest(), made[250..], "a told place on another stream");

    // Changes made after a stream began show once it starts again, and on new streams.
    fs::remove_file(d.join(&made[3])).unwrap();
    fs::write(d.join("late"), b"").unwrap();
    s.rewind();
    let again = s.rest();
    assert!(
        !again.contains(&made[3]),
        "a removed name listed after rewinddir"
    );
    assert_eq!(again.last().map(String::as_str), Some("late"));
    let fresh = names(&d);
    assert_eq!(fresh.len(), made.len());
    assert!(!fresh.contains(&made[3]) && fresh.contains(&"late".to_owned()));

    // A rename within the directory keeps the name's place; into it, the name goes last.
    fs::rename(d.join(&made[5]), d.join("renamed")).unwrap();
    fs::write(m.vram().join("outside"), b"").unwrap();
    fs::rename(m.vram().join("outside"), d.join("moved-in")).unwrap();
    let now = names(&d);
    assert_eq!(now.last().map(String::as_str), Some("moved-in"));
    assert!(now.contains(&"renamed".to_owned()) && !now.contains(&made[5]));
    assert_eq!(now.len(), made.len() + 1);
}

#[test]
fn an_older_format_moves_on_once_its_mounts_are_gone() {
    let server = RedisServer::start();
    let url = server.url();
    let made: Vec<String> = (0..300).map(|i| format!("f{i:03}")).collect();
    {
        let m = TestMount::with_redis(&server, &[]);
        let d = m.vram().join("d");
        fs::create_dir(&d).unwrap();
        for n in &made {
            fs::write(d.join(n), n.as_bytes()).unwrap();
        }
    }
    // What the older format left: its format, a sorted set per directory, and a mount of
    // that build still alive.
    let mut con = server.connection();
    redis::pipe()
        .cmd("HDEL")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .cmd("HSET")
        .arg("{mavfs}:meta")
        .arg("format")
        .arg("mavfs-vram-3")
        .query::<()>(&mut con)
        .unwrap();
    let d_ino: String = {
        let e: String = redis::cmd("HGET")
            .arg("{mavfs}:d:1")
            .arg("d")
            .query(&mut con)
            .unwrap();
        e.split(' ').next().unwrap().to_owned()
    };
    // f123 as that format wrote it: chunk 0 in the chunk hash, times as `secs.nanos`, zero
    // fields present.
    let f_ino: String = {
        let e = hget(&mut con, &format!("{{mavfs}}:d:{d_ino}"), "f123").unwrap();
        e.split(' ').next().unwrap().to_owned()
    };
    let inode = format!("{{mavfs}}:i:{f_ino}");
    let chunk0 = hget(&mut con, &inode, "l").unwrap();
    redis::pipe()
        .cmd("HSET")
        .arg(format!("{{mavfs}}:l:{f_ino}"))
        .arg(0)
        .arg(&chunk0)
        .cmd("HDEL")
        .arg(&inode)
        .arg("l")
        .cmd("HSET")
        .arg(&inode)
        .arg("mt")
        .arg("1500000000.250000000")
        .arg("u")
        .arg(0)
        .arg("o")
        .arg(0)
        .query::<()>(&mut con)
        .unwrap();
    for (i, n) in made.iter().enumerate() {
        redis::cmd("ZADD")
            .arg(format!("{{mavfs}}:dc:{d_ino}"))
            .arg(i + 3)
            .arg(n)
            .query::<()>(&mut con)
            .unwrap();
    }
    redis::cmd("ZADD")
        .arg("{mavfs}:dc:1")
        .arg(3)
        .arg("d")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SADD")
        .arg("{mavfs}:sessions")
        .arg("990")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SET")
        .arg("{mavfs}:alive:990")
        .arg("1")
        .arg("PX")
        .arg(600_000)
        .query::<()>(&mut con)
        .unwrap();

    assert_refused(
        &["--ram", "redis", "--redis-url", &url],
        "mounted by an older mavfs",
    );
    assert_eq!(
        format(&mut con),
        (None, Some("mavfs-vram-3".to_owned())),
        "a refused mount changed the format"
    );
    assert_eq!(keys(&mut con, "{mavfs}:dc:*").len(), 2);

    // That mount ended without unmounting: its heartbeat runs out.
    redis::cmd("DEL")
        .arg("{mavfs}:alive:990")
        .query::<()>(&mut con)
        .unwrap();
    let m = TestMount::with_redis(&server, &[]);
    // Renamed, so a script of an older build that a check missed stops rather than
    // misreads the layout.
    assert_eq!(
        format(&mut con),
        (Some(mavfs::ram::redis::FORMAT.to_owned()), None)
    );
    let d = m.vram().join("d");
    assert_eq!(names(&d), made);
    assert_eq!(fs::read(d.join("f123")).unwrap(), b"f123");
    let meta = fs::metadata(d.join("f123")).unwrap();
    assert_eq!(
        (meta.mtime(), meta.mtime_nsec()),
        (1_500_000_000, 250_000_000)
    );
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(d.join("f123"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"+").unwrap();
    drop(f);
    assert_eq!(fs::read(d.join("f123")).unwrap(), b"f123+");
    assert_eq!(
        hget(&mut con, &format!("{{mavfs}}:l:{f_ino}"), "0"),
        None,
        "a chunk written anew goes to the inode"
    );
    assert!(hget(&mut con, &inode, "l").is_some());
    fs::write(d.join("new"), b"").unwrap();
    assert_eq!(names(&d).last().map(String::as_str), Some("new"));
    let gone = until(Duration::from_secs(30), || {
        keys(&mut con, "{mavfs}:dc:*").is_empty()
    });
    assert!(gone.is_some(), "the older format's sets are still there");
    let sessions: Vec<String> = redis::cmd("SMEMBERS")
        .arg("{mavfs}:sessions")
        .query(&mut con)
        .unwrap();
    assert!(
        !sessions.contains(&"990".to_owned()),
        "the dead mount's session stayed"
    );
}

fn hget(con: &mut redis::Connection, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET").arg(key).arg(field).query(con).unwrap()
}

#[test]
fn a_small_files_chunk_lives_in_its_inode_until_its_entry_grows() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    let path = a.vram().join("f");
    let f = File::create(&path).unwrap();
    let ino = f.metadata().unwrap().ino() & ((1 << 60) - 1);
    let (inode, chunks) = (format!("{{mavfs}}:i:{ino}"), format!("{{mavfs}}:l:{ino}"));
    let mut want = Vec::new();
    // Each fsync publishes its piece as a slice of its own: the entry grows a slice a time.
    for i in 0..8usize {
        let piece = [b'a' + i as u8; 10];
        f.write_all_at(&piece, (i * 100) as u64).unwrap();
        want.resize(i * 100, 0);
        want.extend_from_slice(&piece);
        f.sync_all().unwrap();
        if i == 0 {
            assert!(
                hget(&mut con, &inode, "l").is_some(),
                "one slice: in the inode"
            );
            assert_eq!(hget(&mut con, &chunks, "0"), None);
        }
    }
    let long = hget(&mut con, &chunks, "0").expect("eight slices: in the chunk hash");
    assert!(long.len() > 64, "{long}");
    assert_eq!(hget(&mut con, &inode, "l"), None, "chunk 0 in two places");
    drop(f);
    assert_eq!(
        fs::read(b.vram().join("f")).unwrap(),
        want,
        "the other mount"
    );

    // A truncate has the chunk rewritten as one slice: back in the inode.
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(450).unwrap();
    want.truncate(450);
    drop(f);
    let back = until(Duration::from_secs(20), || {
        hget(&mut con, &inode, "l").is_some() && hget(&mut con, &chunks, "0").is_none()
    });
    assert!(
        back.is_some(),
        "the compacted chunk stayed in the chunk hash"
    );
    assert_eq!(
        fs::read(b.vram().join("f")).unwrap(),
        want,
        "after compaction"
    );
    assert_eq!(fs::read(&path).unwrap(), want);

    // Unlinked, it leaves no key behind.
    fs::remove_file(&path).unwrap();
    let gone = until(Duration::from_secs(20), || {
        keys(&mut con, "mavfs:s:*").is_empty()
            && keys(&mut con, &inode).is_empty()
            && keys(&mut con, &chunks).is_empty()
    });
    assert!(gone.is_some(), "keys left: {:?}", keys(&mut con, "*"));
}

#[test]
fn a_big_directory_is_listed_in_parts_and_whole() {
    let server = RedisServer::start();
    let url = server.url();
    // Past 50 entries (instead of 50,000) a listing is read in parts.
    let env = [("MAVFS_TEST_LIST_WHOLE_MAX", "50")];
    let m = TestMount::start_env(
        &["--ram", "redis", "--redis-url", &url],
        None,
        default_deadline(),
        &env,
    );
    let d = m.vram().join("big");
    fs::create_dir(&d).unwrap();
    let made: Vec<String> = (0..400).map(|i| format!("n{i:03}")).collect();
    for n in &made {
        fs::write(d.join(n), b"").unwrap();
    }
    let mut con = server.connection();
    let before = hscans(&mut con);
    assert_eq!(names(&d), made, "each name once, in creation order");
    assert!(
        hscans(&mut con) > before,
        "the big directory was not read in parts"
    );
    let mut s = Dir::open(&d);
    let first: Vec<String> = (0..123).map(|_| s.next().unwrap()).collect();
    let at = s.tell();
    assert_eq!(first, made[..123]);
    let mut other = Dir::open(&d);
    other.seek(at);
    assert_eq!(other.rest(), made[123..]);
    // A small one is still read whole.
    let small = m.vram().join("small");
    fs::create_dir(&small).unwrap();
    fs::write(small.join("a"), b"").unwrap();
    let before = hscans(&mut con);
    assert_eq!(names(&small), ["a"]);
    assert_eq!(hscans(&mut con), before);
}

/// How many `HSCAN`s the server has run.
fn hscans(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_hscan:calls="))
        .and_then(|l| l.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_run_of_job_temporaries_does_not_end_a_listing() {
    let m = TestMount::redis();
    let mut con = m.redis_server().unwrap().connection();
    let d = m.vram().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("first"), b"").unwrap();
    let dir = fs::metadata(&d).unwrap().ino() & ((1 << 60) - 1);
    let file = fs::metadata(d.join("first")).unwrap().ino() & ((1 << 60) - 1);
    // What a stopped job leaves: more temporaries than one page of the kernel's holds,
    // between the names before and after them.
    let mut p = redis::pipe();
    for i in 0..600 {
        p.cmd("HSET")
            .arg(format!("{{mavfs}}:d:{dir}"))
            .arg(format!(".mavfs-tmp.{i}.1"))
            .arg(format!("{file} f {}", 1000 + i));
    }
    p.cmd("HSET")
        .arg(format!("{{mavfs}}:i:{dir}"))
        .arg("c")
        .arg(2000);
    p.query::<()>(&mut con).unwrap();
    fs::write(d.join("last"), b"").unwrap();
    assert_eq!(names(&d), ["first", "last"]);
}

#[test]
fn names_removed_while_a_directory_is_read_do_not_end_its_listing() {
    let m = TestMount::redis();
    let d = m.vram().join("d");
    fs::create_dir(&d).unwrap();
    let made: Vec<String> = (0..600).map(|i| format!("n{i:03}")).collect();
    for n in &made {
        fs::write(d.join(n), b"").unwrap();
    }
    let mut s = Dir::open(&d);
    assert_eq!(s.next().as_deref(), Some("n000"));
    // More consecutive names than any page holds go while the stream is part way.
    for n in &made[100..500] {
        fs::remove_file(d.join(n)).unwrap();
    }
    let rest = s.rest();
    for n in &made[500..] {
        assert!(
            rest.contains(n),
            "{n} missing after the removed run: {rest:?}"
        );
    }
    assert_eq!(names(&d).len(), 200);
}

/// Small writes into a chunk past the first are appended to its entry as overlays, each
/// covering what comes before it; another mount reads them as written, fallocate keeps them,
/// a clone made while they hide slices shares those too, and every slice goes once both
/// files are gone.
#[test]
fn small_overwrites_go_as_overlays_that_read_back_and_give_back_what_they_hide() {
    const MIB: u64 = 1 << 20;
    let server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let other = TestMount::with_redis(&server, &[]);
    let (f, g) = (m.vram().join("f"), m.vram().join("g"));
    let mut want = random_bytes(3 * MIB as usize / 2, 3);
    fs::write(&f, &want).unwrap();
    let ino = fs::metadata(&f).unwrap().ino() & ((1 << 60) - 1);
    let mut con = server.connection();
    let entry = |con: &mut redis::Connection| hget(con, &format!("{{mavfs}}:l:{ino}"), "1");
    // Each write synced on its own: one publication each, over the ones before.
    let overwrite = |want: &mut Vec<u8>, from: u64, to: u64| {
        let h = fs::OpenOptions::new().write(true).open(&f).unwrap();
        for i in from..to {
            let at = MIB + (i % 4) * 1000;
            let piece = vec![i as u8 + 1; 4096];
            h.write_all_at(&piece, at).unwrap();
            h.sync_data().unwrap();
            want[at as usize..at as usize + 4096].copy_from_slice(&piece);
        }
    };
    overwrite(&mut want, 0, 10);
    let e = entry(&mut con).unwrap();
    assert!(e.contains('/'), "no overlays in {e}");
    assert!(
        fs::read(other.vram().join("f")).unwrap() == want,
        "another mount reads other bytes"
    );
    // fallocate raises the chunk's length and keeps its overlays (and what they hide).
    let h = File::options().write(true).open(&f).unwrap();
    assert_eq!(
        unsafe { libc::fallocate(h.as_raw_fd(), 0, 0, 2 * MIB as i64) },
        0
    );
    drop(h);
    want.resize(2 * MIB as usize, 0);
    assert!(entry(&mut con).unwrap().contains('/'));
    // A clone now names the slices the overlays hide as well.
    ctl_ok(&m, &["clone", "/vram/f", "/vram/g"]);
    let cloned = want.clone();
    // More writes than overlays fit: the entry is rewritten whole, and what it hid goes.
    overwrite(&mut want, 10, 30);
    // Each write is two slices here (`sizes.rs`), 40 in all: the entry was rewritten whole
    // at least twice, fewer than 16 overlays since.
    let e = entry(&mut con).unwrap();
    assert!((1..16).contains(&e.matches('/').count()), "{e}");
    assert!(fs::read(other.vram().join("f")).unwrap() == want);
    assert!(fs::read(other.vram().join("g")).unwrap() == cloned);
    fs::remove_file(&f).unwrap();
    assert!(fs::read(other.vram().join("g")).unwrap() == cloned);
    fs::remove_file(&g).unwrap();
    let gone = common::until(Duration::from_secs(20), || {
        keys(&mut con, "mavfs:s:*").is_empty()
    });
    assert!(
        gone.is_some(),
        "slices left: {:?}",
        keys(&mut con, "mavfs:s:*")
    );
}

fn ctl_ok(m: &TestMount, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mavfsctl"))
        .arg("--mount")
        .arg(m.mnt())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mavfsctl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mavfsctl {args:?} failed: {text}");
    text
}
