//! Moves you can trust: push and pull through the real `mavfsctl` on real mounts, on both
//! RAM stores. What a job did shows through the mount right away; everything a file is
//! travels (xattrs, holes, hard links, special files); `--verify` catches a damaged copy; a
//! source changed during its copy is kept; a job a killed daemon left unfinished is listed,
//! resumed or cancelled after the remount, and nothing half-written is ever left behind.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const TMP_PREFIX: &str = ".mavfs-tmp.";
const JOURNAL: &str = ".mavfs-tmp.journal";
const MIB: usize = 1 << 20;

// ------------------------------------------------------------------------------------------
// Mounts on either store

/// Where vram keeps its data: the in-process store, or a redis-server of the test's own that
/// outlives its mounts (for remounts).
struct Store {
    server: Option<RedisServer>,
}

impl Store {
    fn new(redis: bool) -> Store {
        Store {
            server: redis.then(RedisServer::start),
        }
    }

    fn mount_env(&self, disk: Option<&Path>, env: &[(&str, &str)]) -> TestMount {
        let url = self.server.as_ref().map(RedisServer::url);
        // Other users may look in: what an ACL that travelled grants is tried as them.
        let mut args = vec!["--allow-other"];
        if let Some(u) = &url {
            args.extend(["--ram", "redis", "--redis-url", u]);
        }
        TestMount::start_env(&args, disk, default_deadline(), env)
    }

    fn mount(&self) -> TestMount {
        self.mount_env(None, &[])
    }
}

/// `on_both_stores!(name)` makes `name::memory` and `name::redis`, each calling `name(&store)`.
macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[test]
            fn memory() {
                super::$name(&super::Store::new(false));
            }

            #[test]
            fn redis() {
                super::$name(&super::Store::new(true));
            }
        }
    };
}

// ------------------------------------------------------------------------------------------
// Running mavfsctl

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn ctl_cmd(m: &TestMount, args: &[&str]) -> Command {
    let mut c = Command::new(CTL_BIN);
    c.arg("--mount")
        .arg(m.mnt())
        .args(args)
        .env_remove("MAVFS_MOUNT")
        .current_dir("/")
        .stdin(Stdio::null());
    c
}

fn ctl(m: &TestMount, args: &[&str]) -> Out {
    let o = ctl_cmd(m, args).output().expect("run mavfsctl");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(o: &Out) {
    assert_eq!(o.code, Some(0), "mavfsctl should succeed: {o:?}");
    assert_eq!(o.stderr, "", "nothing on stderr when all went well: {o:?}");
}

fn fails(o: &Out, needles: &[&str]) {
    assert_eq!(o.code, Some(1), "mavfsctl should fail: {o:?}");
    for n in needles {
        assert!(
            o.stderr.contains(n),
            "{:?} does not mention {n:?}",
            o.stderr
        );
    }
}

fn jobs(m: &TestMount) -> Vec<Value> {
    let o = ctl(m, &["jobs", "--json"]);
    ok(&o);
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    v["jobs"].as_array().cloned().unwrap_or_default()
}

// ------------------------------------------------------------------------------------------
// Files

fn data(seed: u64, len: usize) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// Every temporary name under `root` (the journal's directory aside: it is no file).
fn leftovers(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if name.starts_with(TMP_PREFIX) {
                out.push(e.path());
            }
        }
    }
    out
}

/// Checksums of every file under `root`, by relative path.
fn sums(root: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, checksum(&fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// A tree of `n` small files (in 10 directories) and one file of `big` bytes.
fn make_tree(root: &Path, n: usize, big: usize) {
    fs::create_dir(root).unwrap();
    for d in 0..10 {
        fs::create_dir(root.join(format!("d{d}"))).unwrap();
    }
    for i in 0..n {
        let p = root.join(format!("d{}/f{i}", i % 10));
        fs::write(p, data(i as u64, 100 + i % 3000)).unwrap();
    }
    if big > 0 {
        let mut f = File::create(root.join("big")).unwrap();
        for i in 0..big / MIB {
            f.write_all(&data(1_000_000 + i as u64, MIB)).unwrap();
        }
    }
}

// ------------------------------------------------------------------------------------------
// Read after a job

fn a_read_right_after_a_job_sees_its_result(store: &Store) {
    let m = store.mount();
    // push --force onto a file the mount has read.
    fs::write(m.vdisk().join("f"), b"old").unwrap();
    assert_eq!(fs::read(m.vdisk().join("f")).unwrap(), b"old");
    fs::write(m.vram().join("f"), b"the new version").unwrap();
    ok(&ctl(&m, &["push", "-q", "--force", "/vram/f", "/vdisk/f"]));
    assert_eq!(fs::read(m.vdisk().join("f")).unwrap(), b"the new version");
    assert_eq!(fs::metadata(m.vdisk().join("f")).unwrap().len(), 15);

    // pull --force onto a vram file the mount has read.
    fs::write(m.vram().join("g"), b"old").unwrap();
    assert_eq!(fs::read(m.vram().join("g")).unwrap(), b"old");
    fs::write(m.vdisk().join("g"), b"fresh from the disk").unwrap();
    ok(&ctl(&m, &["pull", "-q", "--force", "/vdisk/g", "/vram/g"]));
    assert_eq!(
        fs::read(m.vram().join("g")).unwrap(),
        b"fresh from the disk"
    );

    // A name the kernel knows to be missing (a cached negative entry) shows once pulled.
    assert_eq!(err(fs::metadata(m.vram().join("h"))), libc::ENOENT);
    ok(&ctl(&m, &["pull", "-q", "/vdisk/g", "/vram/h"]));
    assert_eq!(
        fs::read(m.vram().join("h")).unwrap(),
        b"fresh from the disk"
    );

    // pull --move of a directory the mount has listed: gone from vdisk/ at once.
    fs::create_dir(m.vdisk().join("dd")).unwrap();
    fs::write(m.vdisk().join("dd/x"), b"x").unwrap();
    assert_eq!(fs::read_dir(m.vdisk().join("dd")).unwrap().count(), 1);
    assert!(fs::metadata(m.vdisk().join("dd/x")).is_ok());
    ok(&ctl(&m, &["pull", "-q", "--move", "/vdisk/dd", "/vram/dd"]));
    assert_eq!(
        err(fs::symlink_metadata(m.vdisk().join("dd"))),
        libc::ENOENT
    );
    assert_eq!(err(fs::read_dir(m.vdisk().join("dd"))), libc::ENOENT);
    assert!(!fs::read_dir(m.vdisk())
        .unwrap()
        .any(|e| e.unwrap().file_name() == "dd"));
    assert_eq!(fs::read(m.vram().join("dd/x")).unwrap(), b"x");

    // push --move back: gone from vram/ at once, there on vdisk/.
    ok(&ctl(&m, &["push", "-q", "--move", "/vram/dd", "/vdisk/dd"]));
    assert_eq!(err(fs::symlink_metadata(m.vram().join("dd"))), libc::ENOENT);
    assert_eq!(fs::read(m.vdisk().join("dd/x")).unwrap(), b"x");
}
on_both_stores!(a_read_right_after_a_job_sees_its_result);

// ------------------------------------------------------------------------------------------
// Everything a file is

fn xattrs_travel_and_what_cannot_is_named(store: &Store) {
    let m = store.mount();
    let f = m.vram().join("tagged");
    fs::write(&f, b"data").unwrap();
    set_xattr(&f, "user.tag", b"blue").unwrap();
    set_xattr(&f, "user.empty", b"").unwrap();
    fs::create_dir(m.vram().join("dir")).unwrap();
    set_xattr(&m.vram().join("dir"), "user.dirtag", b"green").unwrap();
    fs::write(m.vram().join("dir/inner"), b"i").unwrap();
    set_xattr(&m.vram().join("dir/inner"), "user.deep", &[0, 1, 2, 255]).unwrap();
    ok(&ctl(&m, &["push", "-q", "/vram/tagged", "/vdisk/"]));
    ok(&ctl(&m, &["push", "-q", "/vram/dir", "/vdisk/"]));
    let host = m.disk_dir();
    assert_eq!(
        get_xattr(&host.join("tagged"), "user.tag").unwrap(),
        b"blue"
    );
    assert_eq!(get_xattr(&host.join("tagged"), "user.empty").unwrap(), b"");
    assert_eq!(
        get_xattr(&host.join("dir"), "user.dirtag").unwrap(),
        b"green"
    );
    assert_eq!(
        get_xattr(&host.join("dir/inner"), "user.deep").unwrap(),
        [0, 1, 2, 255]
    );

    // Back to vram, with an ACL on the host: it travels, and the kernel enforces it there.
    let h = host.join("acl");
    fs::write(&h, b"acl").unwrap();
    set_xattr(&h, "user.tag", b"red").unwrap();
    // user::rw- user:1000:r-- group::r-- mask::r-- other::---
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, 1000),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    let has_acl = set_xattr(&h, "system.posix_acl_access", &acl).is_ok();
    let o = ctl(&m, &["pull", "-q", "/vdisk/acl", "/vram/acl"]);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(!o.stderr.contains("warning"), "{o:?}");
    let pulled = m.vram().join("acl");
    assert_eq!(get_xattr(&pulled, "user.tag").unwrap(), b"red");
    if has_acl {
        assert_eq!(get_xattr(&pulled, "system.posix_acl_access").unwrap(), acl);
        let read = as_user(1000, 1000, || i32::from(fs::read(&pulled).is_err()));
        assert_eq!(read, 0, "user 1000 reads through its ACL entry");
        let read = as_user(1001, 1001, || i32::from(fs::read(&pulled).is_ok()));
        assert_eq!(read, 0, "others do not");
    }

    // An attribute the host has no room for fails that file, named, and leaves nothing
    // behind: ext4 keeps one block of attributes per inode.
    let big = vec![7u8; 8000];
    fs::write(host.join("probe"), b"").unwrap();
    let host_takes_big = set_xattr(&host.join("probe"), "user.big", &big).is_ok();
    set_xattr(&m.vram().join("tagged"), "user.big", &big).unwrap();
    let o = ctl(&m, &["push", "-q", "/vram/tagged", "/vdisk/tagged2"]);
    if !host_takes_big {
        assert_eq!(o.code, Some(1), "{o:?}");
        assert!(o.stderr.contains("/vdisk/tagged2"), "{o:?}");
        assert!(!host.join("tagged2").exists());
        assert!(leftovers(host).is_empty());
        assert_eq!(
            get_xattr(&m.vram().join("tagged"), "user.big").unwrap(),
            big
        );
    }
    ok(&ctl(&m, &["pull", "-q", "/vdisk/dir", "/vram/dir2"]));
    assert_eq!(
        get_xattr(&m.vram().join("dir2"), "user.dirtag").unwrap(),
        b"green"
    );
}
on_both_stores!(xattrs_travel_and_what_cannot_is_named);

fn holes_stay_holes(store: &Store) {
    let m = store.mount();
    let size = 2u64 << 30;
    let f = File::create(m.vram().join("sparse")).unwrap();
    f.set_len(size).unwrap();
    let block = data(7, 4096);
    f.write_all_at(&block, 1 << 30).unwrap();
    drop(f);
    ok(&ctl(&m, &["push", "-q", "/vram/sparse", "/vdisk/"]));
    let host = m.disk_dir().join("sparse");
    let md = fs::metadata(&host).unwrap();
    assert_eq!(md.len(), size);
    assert!(
        md.blocks() * 512 <= 64 * 1024,
        "a 2 GiB file with one 4 KiB block takes {} bytes on the host",
        md.blocks() * 512
    );
    let mut got = vec![0u8; 4096];
    File::open(&host)
        .unwrap()
        .read_exact_at(&mut got, 1 << 30)
        .unwrap();
    assert_eq!(got, block);

    // Back: the hole stays a hole in vram too.
    ok(&ctl(&m, &["pull", "-q", "/vdisk/sparse", "/vram/back"]));
    let md = fs::metadata(m.vram().join("back")).unwrap();
    assert_eq!(md.len(), size);
    assert!(
        md.blocks() * 512 <= MIB as u64,
        "vram holds {} bytes",
        md.blocks() * 512
    );
    File::open(m.vram().join("back"))
        .unwrap()
        .read_exact_at(&mut got, 1 << 30)
        .unwrap();
    assert_eq!(got, block);
    let mut head = vec![1u8; 8192];
    File::open(m.vram().join("back"))
        .unwrap()
        .read_exact_at(&mut head, (1 << 30) - 4096)
        .unwrap();
    assert!(head[..4096].iter().all(|&b| b == 0));
    assert_eq!(&head[4096..], &block[..]);
}
on_both_stores!(holes_stay_holes);

fn mknod(p: &Path, mode: u32, dev: libc::dev_t) {
    let c = cstr(p);
    cvt(unsafe { libc::mknod(c.as_ptr(), mode, dev) }).unwrap();
}

fn hard_links_fifos_and_devices_travel(store: &Store) {
    let m = store.mount();
    let t = m.vram().join("t");
    fs::create_dir(&t).unwrap();
    fs::write(t.join("a"), b"linked").unwrap();
    fs::hard_link(t.join("a"), t.join("b")).unwrap();
    mknod(&t.join("p"), libc::S_IFIFO | 0o640, 0);
    mknod(&t.join("n"), libc::S_IFCHR | 0o600, libc::makedev(1, 3));
    std::os::unix::fs::symlink("a", t.join("l")).unwrap();
    let o = ctl(&m, &["push", "/vram/t", "/vdisk/"]);
    ok(&o);
    assert!(o.stdout.contains("2 special files"), "{o:?}");
    let check = |root: &Path| {
        let (a, b) = (
            fs::metadata(root.join("a")).unwrap(),
            fs::metadata(root.join("b")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino(), "{}: a and b are one file", root.display());
        assert_eq!(a.nlink(), 2);
        let p = fs::symlink_metadata(root.join("p")).unwrap();
        assert!(p.file_type().is_fifo());
        assert_eq!(p.mode() & 0o7777, 0o640);
        let n = fs::symlink_metadata(root.join("n")).unwrap();
        assert!(n.file_type().is_char_device());
        assert_eq!(n.rdev(), libc::makedev(1, 3));
        assert_eq!(fs::read_link(root.join("l")).unwrap(), Path::new("a"));
    };
    check(&m.disk_dir().join("t"));
    ok(&ctl(&m, &["pull", "-q", "/vdisk/t", "/vram/t2"]));
    check(&m.vram().join("t2"));
}
on_both_stores!(hard_links_fifos_and_devices_travel);

// ------------------------------------------------------------------------------------------
// Verify, and a source that changes

fn verify_reads_each_copy_back(store: &Store) {
    let m = store.mount();
    let d = data(3, 3 * MIB + 5);
    fs::write(m.vram().join("v"), &d).unwrap();
    let o = ctl(&m, &["push", "--verify", "/vram/v", "/vdisk/"]);
    ok(&o);
    assert!(o.stdout.contains("verified"), "{o:?}");
    assert_eq!(fs::read(m.disk_dir().join("v")).unwrap(), d);
    let st = ctl_stats(m.mnt());
    assert_eq!(st["verified_bytes"], (3 * MIB + 5) as u64, "{st}");
    let text = ctl(&m, &["stats"]);
    assert!(text.stdout.contains("verified"), "{text:?}");

    // A copy damaged between writing and reading back (a test-build hook).
    drop(m);
    let m = store.mount_env(None, &[("MAVFS_TEST_CORRUPT_COPIES", "1")]);
    fs::write(m.vram().join("v"), &d).unwrap();
    let o = ctl(&m, &["push", "--verify", "/vram/v", "/vdisk/"]);
    fails(&o, &["verify failed", "/vdisk/v"]);
    assert!(
        !m.disk_dir().join("v").exists(),
        "a damaged copy was placed"
    );
    assert_eq!(leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    assert_eq!(
        fs::read(m.vram().join("v")).unwrap(),
        d,
        "the source is kept"
    );
    fs::write(m.vdisk().join("w"), &d).unwrap();
    let o = ctl(&m, &["pull", "--verify", "--move", "/vdisk/w", "/vram/"]);
    fails(&o, &["verify failed", "/vram/w"]);
    assert_eq!(err(fs::metadata(m.vram().join("w"))), libc::ENOENT);
    assert_eq!(
        fs::read(m.vdisk().join("w")).unwrap(),
        d,
        "the source is kept"
    );
    // Without --verify the same hook goes unseen: the check is what catches it.
    ok(&ctl(&m, &["push", "-q", "/vram/v", "/vdisk/"]));
}
on_both_stores!(verify_reads_each_copy_back);

fn a_source_written_during_its_copy_is_reported_and_kept(store: &Store) {
    let m = store.mount_env(None, &[("MAVFS_TEST_BLOCK_PAUSE_MS", "20")]);
    let src = m.vram().join("busy");
    let d = data(9, 8 * MIB);
    fs::write(&src, &d).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, src) = (stop.clone(), src.clone());
        thread::spawn(move || {
            let f = OpenOptions::new().write(true).open(&src).unwrap();
            let mut n = 0u8;
            while !stop.load(Ordering::Relaxed) {
                f.write_all_at(&[n], 4096).unwrap();
                n = n.wrapping_add(1);
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let o = ctl(&m, &["push", "--move", "/vram/busy", "/vdisk/"]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    fails(&o, &["/vram/busy", "changed while it was copied"]);
    assert_eq!(fs::metadata(&src).unwrap().len(), d.len() as u64, "kept");
    assert!(!m.disk_dir().join("busy").exists());
    assert_eq!(leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    // Once quiet, it moves.
    ok(&ctl(&m, &["push", "-q", "--move", "/vram/busy", "/vdisk/"]));
    assert_eq!(err(fs::metadata(&src)), libc::ENOENT);
}
on_both_stores!(a_source_written_during_its_copy_is_reported_and_kept);

// ------------------------------------------------------------------------------------------
// Dry run, jobs, cancel

#[test]
fn a_dry_run_says_what_would_move_and_changes_nothing() {
    let m = TestMount::memory();
    make_tree(&m.vram().join("t"), 30, 2 * MIB);
    fs::create_dir(m.disk_dir().join("t")).unwrap();
    fs::create_dir(m.disk_dir().join("t/d3")).unwrap();
    fs::write(m.disk_dir().join("t/d3/f3"), b"in the way").unwrap();
    let before = sums(m.disk_dir());
    let o = ctl(&m, &["push", "--dry-run", "--move", "/vram/t", "/vdisk/"]);
    ok(&o);
    assert!(
        o.stdout.contains("would be moved to /vdisk: 30 files"),
        "{o:?}"
    );
    assert!(o.stdout.contains("conflicts: 1"), "{o:?}");
    assert!(o.stdout.contains("/vdisk/t/d3/f3: already exists"), "{o:?}");
    assert_eq!(sums(m.disk_dir()), before, "a dry run changed the disk");
    assert_eq!(
        sums(&m.vram().join("t")).len(),
        31,
        "a dry run changed vram"
    );
    let o = ctl(&m, &["push", "--dry-run", "--force", "/vram/t", "/vdisk/"]);
    ok(&o);
    assert!(o.stdout.contains("conflicts: 0"), "{o:?}");
    assert!(jobs(&m).is_empty());
}

fn until_running(m: &TestMount, n: usize) -> Vec<Value> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let js = jobs(m);
        let moving = js
            .iter()
            .filter(|j| j["state"] == "running" && j["progress"]["bytes_done"].as_u64() > Some(0))
            .count();
        if moving >= n {
            return js;
        }
        assert!(
            Instant::now() < end,
            "{n} jobs not running within 20 s: {js:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

fn wait_out(mut child: Child) -> Out {
    let status = wait_timeout(&mut child, Duration::from_secs(60)).expect("mavfsctl ended");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Out {
        code: status.code(),
        stdout: String::new(),
        stderr,
    }
}

#[test]
fn jobs_run_side_by_side_and_cancel_stops_one_from_another_shell() {
    let m = TestMount::start_env(
        &[],
        None,
        default_deadline(),
        &[("MAVFS_TEST_BLOCK_PAUSE_MS", "50")],
    );
    fs::write(m.vram().join("one"), data(1, 20 * MIB)).unwrap();
    fs::write(m.vram().join("two"), data(2, 4 * MIB)).unwrap();
    let spawn = |src: &str| {
        ctl_cmd(&m, &["push", "-q", "--verify", src, "/vdisk/"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (one, two) = (spawn("/vram/one"), spawn("/vram/two"));
    let listed = until_running(&m, 2);
    let one_id = listed
        .iter()
        .find(|j| j["src"] == "/vram/one")
        .expect("job one listed")["id"]
        .as_u64()
        .unwrap();
    let j = listed.iter().find(|j| j["id"] == one_id).unwrap();
    assert_eq!(j["op"], "push");
    assert_eq!(j["dst"], "/vdisk");
    assert_eq!(j["verify"], true);
    assert_eq!(j["progress"]["bytes_total"], (20 * MIB) as u64);
    let text = ctl(&m, &["jobs"]);
    assert!(
        text.stdout.contains("running") && text.stdout.contains("/vram/one -> /vdisk"),
        "{text:?}"
    );
    // The mount answers meanwhile.
    assert_eq!(fs::read(m.vram().join("two")).unwrap().len(), 4 * MIB);

    let o = ctl(&m, &["cancel", &one_id.to_string()]);
    ok(&o);
    assert!(o.stdout.contains("cancelled"), "{o:?}");
    let o = wait_out(one);
    assert_eq!(o.code, Some(130), "the cancelled push exits 130: {o:?}");
    assert!(!m.disk_dir().join("one").exists());
    // The other job went on, and finished whole.
    let o = wait_out(two);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(
        fs::read(m.disk_dir().join("two")).unwrap(),
        data(2, 4 * MIB)
    );
    assert_eq!(leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    assert!(jobs(&m).is_empty());
    assert!(
        !m.disk_dir().join(JOURNAL).exists(),
        "the journal goes with its last job"
    );
    fails(&ctl(&m, &["cancel", "999"]), &["no job 999"]);
    fails(&ctl(&m, &["resume", "999"]), &["no job 999"]);
}

#[test]
fn leftovers_never_make_a_directory_unremovable() {
    let m = TestMount::memory();
    fs::create_dir(m.disk_dir().join("t")).unwrap();
    fs::write(m.disk_dir().join(format!("t/{TMP_PREFIX}77.1")), b"half").unwrap();
    assert_eq!(fs::read_dir(m.vdisk().join("t")).unwrap().count(), 0);
    fs::remove_dir(m.vdisk().join("t")).expect("rmdir of a directory that lists as empty");
    assert!(!m.disk_dir().join("t").exists());
    // A real file still keeps its directory.
    fs::create_dir(m.disk_dir().join("u")).unwrap();
    fs::write(m.disk_dir().join(format!("u/{TMP_PREFIX}78.1")), b"half").unwrap();
    fs::write(m.disk_dir().join("u/real"), b"r").unwrap();
    assert_eq!(err(fs::remove_dir(m.vdisk().join("u"))), libc::ENOTEMPTY);
    assert!(m.disk_dir().join("u/real").exists());
}

// ------------------------------------------------------------------------------------------
// Killed mid-job: listed, resumed, cancelled

/// Starts `mavfsctl ARGS` on `m`, waits until its job has moved some bytes and `files`
/// files, then kills the daemon with SIGKILL. Returns the job's id.
fn kill_mid_job(m: &mut TestMount, args: &[&str], files: u64) -> u64 {
    let child = ctl_cmd(m, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let js = jobs(m);
        if let Some(j) = js.iter().find(|j| {
            j["progress"]["bytes_done"].as_u64() > Some(0)
                && j["progress"]["files_done"].as_u64() >= Some(files)
        }) {
            break j["id"].as_u64().unwrap();
        }
        assert!(Instant::now() < end, "the job made no progress: {js:?}");
        thread::sleep(Duration::from_millis(5));
    };
    m.signal_and_wait(libc::SIGKILL).expect("the daemon died");
    let o = wait_out(child);
    assert_ne!(o.code, Some(0), "the job cannot have finished: {o:?}");
    id
}

/// The remount sweeps the job's temporary files and lists it as interrupted.
fn listed_interrupted(m: &TestMount, id: u64) {
    let js = jobs(m);
    assert_eq!(js.len(), 1, "{js:?}");
    assert_eq!(js[0]["id"], id);
    assert_eq!(js[0]["state"], "interrupted");
    let text = ctl(m, &["jobs"]);
    assert!(text.stdout.contains("interrupted"), "{text:?}");
    until(Duration::from_secs(20), || {
        leftovers(m.disk_dir()).is_empty()
    })
    .unwrap_or_else(|| panic!("leftovers: {:?}", leftovers(m.disk_dir())));
}

fn a_killed_pull_is_resumed_or_cancelled(store: &Store, resume: bool) {
    let disk = tempfile::tempdir().unwrap();
    let env = [("MAVFS_TEST_BLOCK_PAUSE_MS", "2")];
    let mut m = store.mount_env(Some(disk.path()), &env);
    let src = m.disk_dir().join("w");
    make_tree(&src, 5000, 64 * MIB);
    let want = sums(&src);
    let id = kill_mid_job(
        &mut m,
        &["pull", "--move", "--verify", "/vdisk/w", "/vram/"],
        500,
    );
    drop(m);

    let m = store.mount_env(Some(disk.path()), &[]);
    listed_interrupted(&m, id);
    if resume {
        let o = ctl(&m, &["resume", &id.to_string()]);
        ok(&o);
        // A memory store starts empty: only Redis still holds what had arrived.
        if store.server.is_some() {
            assert!(o.stdout.contains("already there"), "{o:?}");
        }
        assert_eq!(sums(&m.vram().join("w")), want, "every file, every byte");
        assert!(!src.exists(), "the move removes its source");
        let st = ctl_stats(m.mnt());
        assert_eq!(st["vram"]["files"], 5001, "no temporary left in vram: {st}");
    } else {
        let o = ctl(&m, &["cancel", &id.to_string()]);
        ok(&o);
        assert!(o.stdout.contains("given up"), "{o:?}");
        assert_eq!(sums(&src), want, "the source is whole");
        // What had arrived stays, and is whole.
        for (p, s) in sums(&m.vram().join("w")) {
            assert_eq!(want.get(&p), Some(&s), "{p}");
        }
    }
    assert!(jobs(&m).is_empty());
    assert_eq!(leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    assert!(!m.disk_dir().join(JOURNAL).exists());
}

#[test]
fn a_killed_pull_is_resumed_memory() {
    a_killed_pull_is_resumed_or_cancelled(&Store::new(false), true);
}

#[test]
fn a_killed_pull_is_resumed_redis() {
    a_killed_pull_is_resumed_or_cancelled(&Store::new(true), true);
}

#[test]
fn a_killed_pull_is_cancelled_redis() {
    a_killed_pull_is_resumed_or_cancelled(&Store::new(true), false);
}

fn a_killed_push_is_resumed_or_cancelled(resume: bool) {
    let store = Store::new(true);
    let disk = tempfile::tempdir().unwrap();
    let env = [("MAVFS_TEST_BLOCK_PAUSE_MS", "2")];
    let mut m = store.mount_env(Some(disk.path()), &env);
    let src = m.vram().join("w");
    make_tree(&src, 5000, 64 * MIB);
    let want = sums(&src);
    // To a new name: the first run makes the directory `copy`; the resumed one must go on
    // into it, not into `copy/w`.
    let id = kill_mid_job(&mut m, &["push", "--move", "/vram/w", "/vdisk/copy"], 500);
    drop(m);

    let m = store.mount_env(Some(disk.path()), &[]);
    listed_interrupted(&m, id);
    let dst = m.disk_dir().join("copy");
    if resume {
        let o = ctl(&m, &["resume", &id.to_string()]);
        ok(&o);
        assert!(o.stdout.contains("already there"), "{o:?}");
        assert_eq!(sums(&dst), want);
        assert_eq!(err(fs::metadata(m.vram().join("w"))), libc::ENOENT);
    } else {
        ok(&ctl(&m, &["cancel", &id.to_string()]));
        assert_eq!(sums(&m.vram().join("w")), want, "the source is whole");
        for (p, s) in sums(&dst) {
            assert_eq!(want.get(&p), Some(&s), "{p}");
        }
    }
    assert!(jobs(&m).is_empty());
    assert_eq!(leftovers(m.disk_dir()), Vec::<PathBuf>::new());
}

#[test]
fn a_killed_push_is_resumed_redis() {
    a_killed_push_is_resumed_or_cancelled(true);
}

#[test]
fn a_killed_push_is_cancelled_redis() {
    a_killed_push_is_resumed_or_cancelled(false);
}

#[test]
fn a_push_whose_memory_source_died_with_the_mount_says_so() {
    let store = Store::new(false);
    let disk = tempfile::tempdir().unwrap();
    let env = [("MAVFS_TEST_BLOCK_PAUSE_MS", "5")];
    let mut m = store.mount_env(Some(disk.path()), &env);
    make_tree(&m.vram().join("w"), 200, 16 * MIB);
    let id = kill_mid_job(&mut m, &["push", "/vram/w", "/vdisk/"], 20);
    drop(m);
    let m = store.mount_env(Some(disk.path()), &[]);
    listed_interrupted(&m, id);
    fails(
        &ctl(&m, &["resume", &id.to_string()]),
        &[
            "/vram/w",
            "the source is gone",
            "does not outlive its mount",
        ],
    );
    assert!(jobs(&m).is_empty());
}
