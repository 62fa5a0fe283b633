//! Packs on Redis, seen through real mounts: small files' bytes lie many to a string, the
//! string goes when its files do, a mostly unnamed one is packed again, and one a killed
//! mount was filling is closed by the next.

mod common;

use common::*;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What stands for a pack in `{mavfs}:rc`: more names than any chunk count reaches, so that
/// a mount of the build before packs never frees one.
const PACK_RC: &str = "1000000000";

fn hget(con: &mut redis::Connection, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET").arg(key).arg(field).query(con).unwrap()
}

fn clone_tree(m: &TestMount, from: &str, to: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_mavfsctl"))
        .arg("--mount")
        .arg(m.mnt())
        .args(["clone", from, to])
        .stdin(Stdio::null())
        .output()
        .expect("run mavfsctl");
    assert!(out.status.success(), "{out:?}");
}

fn keys(con: &mut redis::Connection, pattern: &str) -> Vec<String> {
    let mut k: Vec<String> = redis::cmd("KEYS").arg(pattern).query(con).unwrap();
    k.sort();
    k
}

fn hash(con: &mut redis::Connection, key: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL").arg(key).query(con).unwrap()
}

fn strlen(con: &mut redis::Connection, key: &str) -> u64 {
    redis::cmd("STRLEN").arg(key).query(con).unwrap()
}

/// The packs (`{mavfs}:pk:<sid>`) as slice ids.
fn packs(con: &mut redis::Connection) -> Vec<String> {
    keys(con, "{mavfs}:pk:*")
        .into_iter()
        .map(|k| k.rsplit(':').next().unwrap().to_owned())
        .collect()
}

fn file_bytes(i: usize, len: usize) -> Vec<u8> {
    random_bytes(len, i as u64 + 1)
}

#[test]
fn small_files_share_a_pack_that_another_mount_reads() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let mut con = server.connection();
    let sizes: Vec<usize> = (0..60).map(|i| 1 + (i * 97) % 3000).collect();
    for (i, &n) in sizes.iter().enumerate() {
        fs::write(a.vram().join(format!("f{i}")), file_bytes(i, n)).unwrap();
    }
    // 60 files, about 90 KB: two packs, no string of their own.
    let slices = keys(&mut con, "mavfs:s:*");
    assert!((1..=3).contains(&slices.len()), "slice strings: {slices:?}");
    assert!(keys(&mut con, "{mavfs}:l:*").is_empty());
    let mut named = 0;
    for sid in packs(&mut con) {
        let pk = hash(&mut con, &format!("{{mavfs}}:pk:{sid}"));
        let lv: u64 = pk["lv"].parse().unwrap();
        let per_file: u64 = pk
            .iter()
            .filter(|(k, _)| *k != "lv" && *k != "o")
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .sum();
        assert_eq!(lv, per_file, "{pk:?}");
        assert!(lv <= strlen(&mut con, &format!("mavfs:s:{sid}")));
        assert_eq!(hget(&mut con, "{mavfs}:rc", &sid).as_deref(), Some(PACK_RC));
        named += lv;
    }
    assert_eq!(named, sizes.iter().sum::<usize>() as u64);
    // Overwritten in part, then grown past what a pack takes.
    let f = fs::OpenOptions::new()
        .write(true)
        .open(a.vram().join("f7"))
        .unwrap();
    f.write_all_at(b"middle", 5).unwrap();
    drop(f);
    let mut f7 = file_bytes(7, sizes[7]);
    f7[5..11].copy_from_slice(b"middle");
    let big = file_bytes(99, 200_000);
    fs::write(a.vram().join("f8"), &big).unwrap();
    for (i, &n) in sizes.iter().enumerate() {
        let want = match i {
            7 => f7.clone(),
            8 => big.clone(),
            _ => file_bytes(i, n),
        };
        assert_eq!(
            fs::read(b.vram().join(format!("f{i}"))).unwrap(),
            want,
            "f{i} on the other mount"
        );
    }
}

#[test]
fn a_pack_goes_with_its_files_and_a_sparse_one_is_packed_again() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let a = TestMount::with_redis(&server, &[]);
    for i in 0..40 {
        fs::write(a.vram().join(format!("f{i}")), file_bytes(i, 1000)).unwrap();
    }
    let first = packs(&mut con);
    assert_eq!(first.len(), 1, "{first:?}");
    for i in 0..30 {
        fs::remove_file(a.vram().join(format!("f{i}"))).unwrap();
    }
    // At unmount the pack is sealed and, three quarters unnamed, packed again into one
    // that holds just the bytes still named.
    drop(a);
    let now = packs(&mut con);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, first, "packed again");
    assert_eq!(
        keys(&mut con, "mavfs:s:*"),
        vec![format!("mavfs:s:{}", now[0])]
    );
    assert_eq!(strlen(&mut con, &format!("mavfs:s:{}", now[0])), 10_000);
    let pk = hash(&mut con, &format!("{{mavfs}}:pk:{}", now[0]));
    assert_eq!(pk.get("lv").map(String::as_str), Some("10000"));
    assert!(
        !pk.contains_key("o"),
        "a sealed pack is filled no more: {pk:?}"
    );
    assert!(keys(&mut con, "{mavfs}:sparse").is_empty());

    let b = TestMount::with_redis(&server, &[]);
    for i in 30..40 {
        assert_eq!(
            fs::read(b.vram().join(format!("f{i}"))).unwrap(),
            file_bytes(i, 1000)
        );
    }
    // Its last files gone, no string is left, even from a pack still being filled.
    fs::write(b.vram().join("new"), b"new").unwrap();
    for i in 30..40 {
        fs::remove_file(b.vram().join(format!("f{i}"))).unwrap();
    }
    fs::remove_file(b.vram().join("new")).unwrap();
    let gone = until(Duration::from_secs(10), || {
        keys(&mut con, "mavfs:s:*").is_empty() && packs(&mut con).is_empty()
    });
    assert!(gone.is_some(), "left: {:?}", keys(&mut con, "*"));
    assert!(
        keys(&mut con, "{mavfs}:rc").is_empty(),
        "a pack's stand-in stays"
    );
    // The mount goes on filling a pack of its own.
    fs::write(b.vram().join("after"), b"after").unwrap();
    assert_eq!(fs::read(b.vram().join("after")).unwrap(), b"after");
    assert_eq!(packs(&mut con).len(), 1);
}

#[test]
fn a_pack_a_killed_mount_was_filling_is_closed_by_the_next() {
    let server = RedisServer::start();
    let mut con = server.connection();
    let mut a = TestMount::with_redis(&server, &[]);
    fs::create_dir(a.vram().join("d")).unwrap();
    for i in 0..60 {
        fs::write(a.vram().join(format!("d/f{i}")), file_bytes(i, 700)).unwrap();
    }
    let open = packs(&mut con);
    assert_eq!(open.len(), 1);
    let pk = format!("{{mavfs}}:pk:{}", open[0]);
    assert!(hash(&mut con, &pk).contains_key("o"));
    // Clones name it too: 180 names of 126,000 bytes, past what a pack takes; it still goes
    // into a new one, alone, its bytes copied once.
    clone_tree(&a, "/vram/d", "/vram/c1");
    clone_tree(&a, "/vram/d", "/vram/c2");
    assert_eq!(hget(&mut con, &pk, "lv").as_deref(), Some("126000"));
    a.signal_and_wait(libc::SIGKILL).expect("killed");
    force_unmount(a.mnt());
    // Its heartbeat runs out.
    for k in keys(&mut con, "{mavfs}:alive:*") {
        redis::cmd("DEL").arg(k).query::<()>(&mut con).unwrap();
    }
    let b = TestMount::with_redis(&server, &[]);
    for dir in ["d", "c1", "c2"] {
        for i in 0..60 {
            assert_eq!(
                fs::read(b.vram().join(format!("{dir}/f{i}"))).unwrap(),
                file_bytes(i, 700),
                "{dir}/f{i}"
            );
        }
    }
    // Stored again at its length, and no longer being filled.
    let now = packs(&mut con);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, open);
    let h = hash(&mut con, &format!("{{mavfs}}:pk:{}", now[0]));
    assert!(!h.contains_key("o"), "{h:?}");
    assert_eq!(h.get("lv").map(String::as_str), Some("126000"));
    assert_eq!(strlen(&mut con, &format!("mavfs:s:{}", now[0])), 42_000);
    assert!(keys(&mut con, "{mavfs}:sparse").is_empty());
    for w in keys(&mut con, "{mavfs}:w:*") {
        let listed: bool = redis::cmd("SISMEMBER")
            .arg(&w)
            .arg(&open[0])
            .query(&mut con)
            .unwrap();
        assert!(!listed, "the old pack is still listed in {w}");
    }
}

#[test]
fn a_prefix_of_the_format_before_packs_moves_on_once_its_mounts_are_gone() {
    let server = RedisServer::start();
    let mut con = server.connection();
    {
        let a = TestMount::with_redis(&server, &[]);
        fs::write(a.vram().join("f"), b"older").unwrap();
    }
    // Made to look like the format before packs, with a live mount of it.
    redis::pipe()
        .cmd("HSET")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .arg("mavfs-vram-4")
        .ignore()
        .cmd("SADD")
        .arg("{mavfs}:sessions")
        .arg("990")
        .ignore()
        .cmd("SET")
        .arg("{mavfs}:alive:990")
        .arg("rc")
        .ignore()
        .query::<()>(&mut con)
        .unwrap();
    let url = server.url();
    assert_refused(
        &["--ram", "redis", "--redis-url", &url],
        "mounted by an older mavfs (mavfs-vram-4)",
    );
    let fmt: String = redis::cmd("HGET")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .query(&mut con)
        .unwrap();
    assert_eq!(fmt, "mavfs-vram-4", "a refused mount changed the format");
    redis::cmd("DEL")
        .arg("{mavfs}:alive:990")
        .query::<()>(&mut con)
        .unwrap();
    let b = TestMount::with_redis(&server, &[]);
    let fmt: String = redis::cmd("HGET")
        .arg("{mavfs}:meta")
        .arg("fmt")
        .query(&mut con)
        .unwrap();
    assert_eq!(fmt, mavfs::ram::redis::FORMAT);
    assert_eq!(fs::read(b.vram().join("f")).unwrap(), b"older");
}
