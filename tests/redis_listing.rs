//! Listings with attributes on a Redis mount (`ls -l`, `rm -r`, `find`): a directory of up
//! to a reply's worth of names comes with its names' attributes in one script.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::thread;
use std::time::Duration;

/// The commands clients sent Redis since the last call, by name (a script's own calls,
/// logged from client `?:0`, are left out).
fn commands_sent(con: &mut redis::Connection) -> BTreeMap<String, usize> {
    let log: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(100_000)
        .query(con)
        .unwrap();
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(con).unwrap();
    let mut out = BTreeMap::new();
    for entry in log {
        let redis::Value::Array(fields) = entry else {
            continue;
        };
        let Some(redis::Value::Array(args)) = fields.get(3) else {
            continue;
        };
        if matches!(fields.get(4), Some(redis::Value::BulkString(c)) if c == b"?:0") {
            continue;
        }
        if let Some(redis::Value::BulkString(name)) = args.first() {
            *out.entry(String::from_utf8_lossy(name).to_lowercase())
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn a_listing_with_attributes_is_one_script() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let b = TestMount::with_redis(&server, &[]);
    let dir = a.vram().join("d");
    fs::create_dir(&dir).unwrap();
    let mut want = BTreeMap::new();
    // 20 names: one READDIRPLUS reply holds them also where the kernel asks only 4 KiB.
    for i in 0..18u32 {
        let p = dir.join(format!("f{i}"));
        fs::write(&p, vec![7u8; 100 * i as usize]).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600 + i % 8)).unwrap();
        want.insert(format!("f{i}"), (100 * u64::from(i), 0o100600 + i % 8));
    }
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/x"), b"x").unwrap();
    want.insert("sub".into(), (0, 0o40755));
    std::os::unix::fs::symlink("f1", dir.join("link")).unwrap();
    want.insert("link".into(), (2, 0o120777));

    // A's notices of its changes are heard on B before B counts: one heard after B read
    // the listing keeps its names' attributes short, and B's stats then ask Redis.
    thread::sleep(Duration::from_millis(500));
    let db = b.vram().join("d");
    assert!(db.is_dir());
    let mut con = server.connection();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(0)
        .arg("slowlog-max-len")
        .arg(100_000)
        .query(&mut con)
        .unwrap();
    commands_sent(&mut con);
    let mut got = BTreeMap::new();
    for e in fs::read_dir(&db).unwrap() {
        let e = e.unwrap();
        let md = fs::symlink_metadata(e.path()).unwrap();
        let size = if md.is_dir() { 0 } else { md.len() };
        got.insert(e.file_name().into_string().unwrap(), (size, md.mode()));
    }
    let sent = commands_sent(&mut con);
    assert_eq!(got, want, "the listing on the other mount");
    // Each name's attributes were read in the listing's script, not one by one.
    let one_by_one =
        sent.get("hgetall").copied().unwrap_or(0) + sent.get("hlen").copied().unwrap_or(0);
    assert_eq!(
        one_by_one, 0,
        "attributes fetched apart from the listing: {sent:?}"
    );
    let scripts = sent.get("evalsha").copied().unwrap_or(0);
    assert!((1..=3).contains(&scripts), "{scripts} scripts: {sent:?}");
}

/// A file with writes kept back on this mount lists with the size they give it, not the
/// one Redis holds before they are sent.
#[test]
fn a_listing_shows_writes_kept_back() {
    let server = RedisServer::start();
    let a = TestMount::with_redis(&server, &[]);
    let _b = TestMount::with_redis(&server, &[]);
    // A mount keeps writes back only once it hears the others' notices (2 s after it starts
    // listening).
    thread::sleep(Duration::from_millis(2500));
    let dir = a.vram().join("d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("first"), b"x").unwrap();
    let mut f = File::create(dir.join("held")).unwrap();
    f.write_all(&[3u8; 1500]).unwrap();
    for size in [1500, 2000, 2500] {
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2);
        assert_eq!(fs::metadata(dir.join("held")).unwrap().len(), size);
        f.write_all(&[4u8; 500]).unwrap();
    }
    drop(f);
    assert_eq!(fs::metadata(dir.join("held")).unwrap().len(), 3000);
}
