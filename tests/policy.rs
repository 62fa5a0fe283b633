//! Tiering policies on real mounts, on both RAM stores: rules demote idle files, keep
//! durable copies that follow changes, and delete scratch files; watermarks demote the least
//! recently used; pins hold files in vram; files open for writing are left alone; the dry
//! run says what then happens. Files are made "idle" by dating them back (utimensat), so
//! the tests wait only for the policy thread's tick.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const WAIT: Duration = Duration::from_secs(20);

/// A mount with a policy file, on the in-process store or a Redis of its own.
struct Policed {
    m: TestMount,
    _server: Option<RedisServer>,
    _dir: tempfile::TempDir,
    file: PathBuf,
}

fn mount(redis: bool, policy: &str, extra: &[&str]) -> Policed {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    fs::write(&file, policy).unwrap();
    let f = file.to_str().unwrap().to_owned();
    let mut args: Vec<&str> = vec!["--policy", &f];
    args.extend(extra);
    let (m, server) = if redis {
        let server = RedisServer::start();
        (TestMount::with_redis(&server, &args), Some(server))
    } else {
        (TestMount::with_args(&args), None)
    };
    Policed {
        m,
        _server: server,
        _dir: dir,
        file,
    }
}

macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[test]
            fn memory() {
                super::$name(false);
            }

            #[test]
            fn redis() {
                super::$name(true);
            }
        }
    };
}

fn ctl(m: &TestMount, args: &[&str]) -> Output {
    Command::new(CTL_BIN)
        .arg("--mount")
        .arg(m.mnt())
        .args(args)
        .env_remove("MAVFS_MOUNT")
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("run mavfsctl")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `p` dated `secs` back (atime and mtime): idle that long.
fn age(p: &Path, secs: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    utimens(p, (now - secs, 0), (now - secs, 0), 0).unwrap();
}

fn write_aged(p: &Path, data: &[u8], secs: i64) {
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(p, data).unwrap();
    age(p, secs);
}

fn demoted_idle_files_land_on_vdisk_and_pins_hold(redis: bool) {
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/cache\"\ndemote_after = \"10m\"\n",
        &[],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    write_aged(&vram.join("cache/a"), b"old a", 3600);
    write_aged(&vram.join("cache/sub/b"), b"old b", 3600);
    write_aged(&vram.join("cache/kept/c"), b"pinned c", 3600);
    write_aged(&vram.join("cache/fresh"), b"new", 0);
    write_aged(&vram.join("elsewhere"), b"no rule", 3600);
    ok(&ctl(&p.m, &["pin", "/vram/cache/kept"]));
    assert!(
        until(WAIT, || host.join("cache/sub/b").exists()
            && host.join("cache/a").exists())
        .is_some(),
        "demoted within {WAIT:?}: {}",
        p.m.daemon_stderr()
    );
    assert_eq!(fs::read(host.join("cache/a")).unwrap(), b"old a");
    assert_eq!(fs::read(p.m.vdisk().join("cache/sub/b")).unwrap(), b"old b");
    assert!(until(WAIT, || {
        !vram.join("cache/a").exists() && !vram.join("cache/sub/b").exists()
    })
    .is_some());
    // Times travel: a demoted file is as idle on the host.
    let mtime = fs::metadata(host.join("cache/a"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(mtime.elapsed().unwrap() > Duration::from_secs(3000));
    // Pinned, fresh and unruled files stay; the pin is the daemon's, not an attribute.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(fs::read(vram.join("cache/kept/c")).unwrap(), b"pinned c");
    assert!(!host.join("cache/kept/c").exists());
    assert!(vram.join("cache/fresh").exists() && vram.join("elsewhere").exists());
    let listed = Command::new("getfattr")
        .args(["-d", "-m", "-"])
        .arg(vram.join("cache/kept"))
        .output();
    if let Ok(o) = listed {
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("mavfs"),
            "{o:?}"
        );
    }
    let st = ok(&ctl(&p.m, &["state", "/vram/cache/kept/c"]));
    assert!(
        st.contains("pinned        yes") && st.contains("tier          vram"),
        "{st}"
    );
    let st = ok(&ctl(&p.m, &["state", "/vdisk/cache/a"]));
    assert!(st.contains("tier          vdisk"), "{st}");
    // Unpinned, it goes too.
    ok(&ctl(&p.m, &["unpin", "/vram/cache/kept"]));
    assert!(until(WAIT, || host.join("cache/kept/c").exists()).is_some());
    assert_eq!(fs::read(host.join("cache/kept/c")).unwrap(), b"pinned c");
}
on_both_stores!(demoted_idle_files_land_on_vdisk_and_pins_hold);

fn durable_copies_follow_changes(redis: bool) {
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/out\"\npersist_after = \"2s\"\n",
        &[],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    fs::create_dir(vram.join("out")).unwrap();
    fs::write(vram.join("out/report"), b"first").unwrap();
    let persisted = |want: &[u8]| fs::read(host.join("out/report")).is_ok_and(|d| d == want);
    assert!(
        until(WAIT, || persisted(b"first")).is_some(),
        "{}",
        p.m.daemon_stderr()
    );
    // It stays in vram, and a change is copied again.
    assert_eq!(fs::read(vram.join("out/report")).unwrap(), b"first");
    fs::write(vram.join("out/report"), b"second, longer").unwrap();
    assert!(until(WAIT, || persisted(b"second, longer")).is_some());
    assert_eq!(
        fs::read(vram.join("out/report")).unwrap(),
        b"second, longer"
    );
    // stats: both copies counted, nothing left waiting.
    let stats = || ctl_stats(p.m.mnt())["policy"].clone();
    assert!(
        until(WAIT, || stats()["dirty_files"] == 0).is_some(),
        "{}",
        stats()
    );
    let st: serde_json::Value =
        serde_json::from_str(&ok(&ctl(&p.m, &["state", "/vram/out/report", "--json"]))).unwrap();
    assert_eq!(st["tier"], "both", "{st}");
    assert_eq!(st["durable_copy"], "current", "{st}");
    assert_eq!(st["pinned"], false, "{st}");
    assert!(
        st["rule"]
            .as_str()
            .unwrap()
            .starts_with("/vram/out: persist_after"),
        "{st}"
    );
    let s = stats();
    assert_eq!(s["rules"], 1, "{s}");
    assert!(s["persisted"].as_u64().unwrap() >= 2, "{s}");
    assert!(s["moved_bytes"].as_u64().unwrap() >= 19, "{s}");
    assert_eq!(s["last_error"], "", "{s}");
}
on_both_stores!(durable_copies_follow_changes);

fn scratch_files_vanish_when_idle(redis: bool) {
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/tmp\"\ndelete_after = \"30m\"\n",
        &[],
    );
    let vram = p.m.vram();
    write_aged(&vram.join("tmp/old"), b"x", 3600);
    write_aged(&vram.join("tmp/new"), b"y", 0);
    assert!(until(WAIT, || !vram.join("tmp/old").exists()).is_some());
    assert!(vram.join("tmp/new").exists());
    assert!(
        !p.m.disk_dir().join("tmp/old").exists(),
        "deleted, not moved"
    );
}
on_both_stores!(scratch_files_vanish_when_idle);

fn files_open_for_writing_stay_until_closed(redis: bool) {
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/cache\"\ndemote_after = \"1m\"\n",
        &[],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    write_aged(&vram.join("cache/log"), b"line\n", 3600);
    let f = fs::OpenOptions::new()
        .append(true)
        .open(vram.join("cache/log"))
        .unwrap();
    age(&vram.join("cache/log"), 3600);
    std::thread::sleep(Duration::from_secs(4));
    assert!(vram.join("cache/log").exists(), "a writer holds it");
    assert!(!host.join("cache/log").exists());
    drop(f);
    assert!(until(WAIT, || host.join("cache/log").exists()).is_some());
}
on_both_stores!(files_open_for_writing_stay_until_closed);

fn the_dry_run_lists_what_then_happens(redis: bool) {
    // Mounted with a policy that does nothing here; the real one is checked, then loaded.
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/none\"\ndemote_after = \"1h\"\n",
        &[],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    for (name, secs) in [
        ("d/old1", 7200),
        ("d/old2", 4000),
        ("d/new", 10),
        ("t/junk", 9000),
    ] {
        write_aged(&vram.join(name), name.as_bytes(), secs);
    }
    let policy = "[[rule]]\npath = \"/vram/d\"\ndemote_after = \"1h\"\n[[rule]]\npath = \"/vram/t\"\ndelete_after = \"2h\"\n";
    fs::write(&p.file, policy).unwrap();
    let f = p.file.to_str().unwrap();
    let out = ok(&ctl(&p.m, &["policy", "check", f, "--dry-run"]));
    let listed: BTreeSet<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.next()?.to_owned()))
        })
        .filter(|(a, _)| a == "demote" || a == "delete")
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("delete", "/vram/t/junk"),
        ("demote", "/vram/d/old1"),
        ("demote", "/vram/d/old2"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(listed, want, "{out}");
    assert!(
        out.contains("not used for 2h") && out.contains("demote_after"),
        "{out}"
    );
    assert!(out.contains("dry run"), "{out}");
    // Nothing changed.
    std::thread::sleep(Duration::from_secs(2));
    assert!(vram.join("d/old1").exists() && vram.join("t/junk").exists());
    // Loaded, it does exactly that.
    let loaded = ok(&ctl(&p.m, &["policy", "load", f]));
    assert!(loaded.contains("2 rules"), "{loaded}");
    assert!(until(WAIT, || !vram.join("t/junk").exists()
        && host.join("d/old1").exists()
        && host.join("d/old2").exists())
    .is_some());
    assert!(vram.join("d/new").exists() && !host.join("d/new").exists());
    assert!(!host.join("t/junk").exists());
}
on_both_stores!(the_dry_run_lists_what_then_happens);

fn the_high_watermark_demotes_the_least_recently_used(redis: bool) {
    let p = mount(
        redis,
        "[vram]\nhigh_watermark = \"50%\"\nlow_watermark = \"25%\"\n[[rule]]\npath = \"/vram/data\"\ndemote_after = \"100h\"\n",
        &["--ram-limit", "8M"],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    let mib = vec![5u8; 1 << 20];
    // data/f0 is the least recently used.
    for i in 0..6 {
        write_aged(&vram.join(format!("data/f{i}")), &mib, 6000 - i * 600);
    }
    let used = || ctl_stats(p.m.mnt())["vram"]["bytes"].as_u64().unwrap();
    assert!(
        until(WAIT, || used() <= 2 << 20).is_some(),
        "back under the low mark: {} bytes; {}",
        used(),
        p.m.daemon_stderr()
    );
    // Each file in exactly one place, once the moves under way have ended.
    let places = || {
        let left: Vec<usize> = (0..6)
            .filter(|i| vram.join(format!("data/f{i}")).exists())
            .collect();
        let gone: Vec<usize> = (0..6)
            .filter(|i| host.join(format!("data/f{i}")).exists())
            .collect();
        (left, gone)
    };
    assert!(
        until(WAIT, || {
            let (l, g) = places();
            l.len() + g.len() == 6 && l.iter().all(|i| !g.contains(i))
        })
        .is_some(),
        "{:?}",
        places()
    );
    let (left, gone) = places();
    assert!(!left.is_empty(), "only what the low mark needs goes");
    assert!(
        gone.iter().all(|g| left.iter().all(|l| g < l)),
        "the least recently used went first: {gone:?} {left:?}"
    );
    for g in gone {
        assert_eq!(fs::read(host.join(format!("data/f{g}"))).unwrap(), mib);
    }
}
on_both_stores!(the_high_watermark_demotes_the_least_recently_used);

#[test]
fn a_bad_policy_refuses_the_mount_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    fs::write(
        &file,
        "[[rule]]\npath = \"/vram/x\"\ndemote_after = \"soon\"\n",
    )
    .unwrap();
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let args = [
        mnt.to_str().unwrap(),
        "--disk-dir",
        dir.path().to_str().unwrap(),
        "--policy",
        file.to_str().unwrap(),
    ];
    let out = run_mount(&args, default_deadline());
    let line = assert_one_line_error(&out, &args, "policy");
    assert!(
        line.contains("demote_after") && line.contains("soon"),
        "{line}"
    );
    assert!(!is_mounted(&mnt));
}

#[test]
fn pins_are_the_daemons_own() {
    let p = mount(false, "", &[]);
    let f = p.m.vram().join("f");
    fs::write(&f, b"x").unwrap();
    ok(&ctl(&p.m, &["pin", "/vram/f"]));
    let c = cstr(&f);
    let name = c"trusted.mavfs.pin";
    // SAFETY: valid strings and an empty value.
    let r = unsafe { libc::setxattr(c.as_ptr(), name.as_ptr(), std::ptr::null(), 0, 0) };
    assert_eq!(r, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is as long as said.
    let n = unsafe { libc::listxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(n, 0, "nothing listed");
    let o = ctl(&p.m, &["pin", "/vdisk/x"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/vram"),
        "{o:?}"
    );
}

/// A store that outlives its mounts: a Redis of the test's own, or a snapshot dir.
struct Kept {
    // Held: the server lives as long as the store.
    _server: Option<RedisServer>,
    url: Option<String>,
    snaps: tempfile::TempDir,
}

impl Kept {
    fn new(redis: bool) -> Kept {
        let server = redis.then(RedisServer::start);
        let url = server.as_ref().map(RedisServer::url);
        Kept {
            _server: server,
            url,
            snaps: tempfile::tempdir().unwrap(),
        }
    }

    /// The mount arguments that reach it.
    fn args(&self) -> Vec<&str> {
        match &self.url {
            Some(u) => vec!["--ram", "redis", "--redis-url", u],
            None => vec!["--snapshot-dir", self.snaps.path().to_str().unwrap()],
        }
    }
}

fn jobs(m: &TestMount) -> Vec<serde_json::Value> {
    let out = ok(&ctl(m, &["jobs", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["jobs"].as_array().cloned().unwrap_or_default()
}

/// A daemon killed while its policy demotes a file loses nothing: after the remount the
/// file is whole in vram, no temporary is left, the job is listed as interrupted, and a
/// resume finishes the move.
fn a_kill_during_a_policy_move_loses_nothing(redis: bool) {
    let disk = tempfile::tempdir().unwrap();
    let kept = Kept::new(redis);
    let mut store = kept.args();
    let policy = disk.path().join("../policy-kill.toml");
    fs::write(
        &policy,
        "[vram]\npolicy_rate = \"4M\"\n[[rule]]\npath = \"/vram/big\"\ndemote_after = \"1m\"\n",
    )
    .unwrap();
    let data: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    {
        // First without the policy: the file is made and (memory) saved.
        let m = TestMount::start(&store, Some(disk.path()), default_deadline());
        write_aged(&m.vram().join("big/f"), &data, 3600);
        if !redis {
            ok(&ctl(&m, &["snapshot"]));
        }
    }
    let pstr = policy.to_str().unwrap().to_owned();
    store.extend(["--policy", &pstr]);
    let mut m = TestMount::start(&store, Some(disk.path()), default_deadline());
    let begun = until(WAIT, || {
        jobs(&m)
            .iter()
            .any(|j| j["progress"]["bytes_done"].as_u64() > Some(1 << 20))
    });
    assert!(begun.is_some(), "{}", m.daemon_stderr());
    m.signal_and_wait(libc::SIGKILL).expect("the daemon died");
    drop(m);
    store.truncate(store.len() - 2);
    let m = TestMount::start(&store, Some(disk.path()), default_deadline());
    let f = m.vram().join("big/f");
    assert_eq!(
        checksum(&fs::read(&f).unwrap()),
        checksum(&data),
        "whole in vram"
    );
    assert!(!m.disk_dir().join("big/f").exists(), "not half on the host");
    let js = jobs(&m);
    assert_eq!(js.len(), 1, "{js:?}");
    assert_eq!(js[0]["state"], "interrupted", "{js:?}");
    let id = js[0]["id"].as_u64().unwrap().to_string();
    ok(&ctl(&m, &["resume", "-q", &id]));
    assert_eq!(
        checksum(&fs::read(m.disk_dir().join("big/f")).unwrap()),
        checksum(&data)
    );
    assert!(!f.exists(), "the move finished");
}
on_both_stores!(a_kill_during_a_policy_move_loses_nothing);

/// `--rate` (and a policy's `policy_rate`) holds a copy to that many bytes a second: it
/// cannot end sooner than its bytes allow.
#[test]
fn a_rate_bounds_a_copy() {
    let m = TestMount::memory();
    let data = vec![3u8; 8 << 20];
    fs::write(m.vram().join("f"), &data).unwrap();
    let t = std::time::Instant::now();
    ok(&ctl(
        &m,
        &["push", "-q", "--rate", "4M", "/vram/f", "/vdisk/f"],
    ));
    assert!(
        t.elapsed() >= Duration::from_millis(1900),
        "8 MiB at 4 MiB/s took {:?}",
        t.elapsed()
    );
    assert_eq!(fs::read(m.disk_dir().join("f")).unwrap(), data);
    let o = ctl(&m, &["push", "--rate", "fast", "/vram/f", "/vdisk/g"]);
    assert!(!o.status.success());
}

/// A steady writer under a persist rule and watermarks: every file gets its durable copy,
/// vram stays under its limit without the writer ever meeting ENOSPC, and a file whose
/// durable copy is current leaves vram without being copied again.
fn a_steady_writer_never_fills_vram(redis: bool) {
    let p = mount(
        redis,
        "[vram]\nhigh_watermark = \"50%\"\nlow_watermark = \"25%\"\n[[rule]]\npath = \"/vram/data\"\npersist_after = \"1s\"\n",
        &["--ram-limit", "16M"],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    fs::create_dir(vram.join("data")).unwrap();
    let file = |i: usize| vec![i as u8; 1 << 20];
    for i in 0..32 {
        fs::write(vram.join(format!("data/f{i}")), file(i))
            .unwrap_or_else(|e| panic!("file {i}: {e}"));
        std::thread::sleep(Duration::from_millis(250));
    }
    let all_on_host =
        || (0..32).all(|i| fs::read(host.join(format!("data/f{i}"))).is_ok_and(|d| d == file(i)));
    assert!(
        until(WAIT, all_on_host).is_some(),
        "{}",
        p.m.daemon_stderr()
    );
    let s = ctl_stats(p.m.mnt());
    let used = s["vram_used"].as_u64().unwrap();
    assert!(used <= 8 << 20, "under the high mark: {used}");
    assert!(s["policy"]["demoted"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["policy"]["moved_bytes"].as_u64().unwrap(),
        32 << 20,
        "each file copied once: {s}"
    );
}
on_both_stores!(a_steady_writer_never_fills_vram);

/// Pins are kept with the store: Redis, and the in-process store's snapshots.
fn pins_outlive_a_remount(redis: bool) {
    let disk = tempfile::tempdir().unwrap();
    let kept = Kept::new(redis);
    let store = kept.args();
    {
        let m = TestMount::start(&store, Some(disk.path()), default_deadline());
        fs::create_dir(m.vram().join("models")).unwrap();
        fs::write(m.vram().join("models/w"), b"weights").unwrap();
        ok(&ctl(&m, &["pin", "/vram/models"]));
    }
    let m = TestMount::start(&store, Some(disk.path()), default_deadline());
    let st = ok(&ctl(&m, &["state", "/vram/models/w"]));
    assert!(st.contains("pinned        yes"), "{st}");
}
on_both_stores!(pins_outlive_a_remount);

/// A file that keeps changing (appended to and closed every 100 ms) still gets durable
/// copies within the bound, not only once its writer stops.
fn a_file_that_keeps_changing_is_copied_within_the_bound(redis: bool) {
    let p = mount(
        redis,
        "[[rule]]\npath = \"/vram/out\"\npersist_after = \"2s\"\n",
        &[],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    fs::create_dir(vram.join("out")).unwrap();
    let log = vram.join("out/log");
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            for i in 0..80 {
                let mut f = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap();
                writeln!(f, "line {i}").unwrap();
                drop(f);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let copied_while_written = until(Duration::from_secs(6), || {
        fs::metadata(host.join("out/log")).is_ok_and(|m| m.len() > 0)
    });
    assert!(
        copied_while_written.is_some() && !writer.is_finished(),
        "a copy within the bound while the writer goes on: {}",
        p.m.daemon_stderr()
    );
    writer.join().unwrap();
    let want = fs::read(&log).unwrap();
    assert!(until(WAIT, || fs::read(host.join("out/log"))
        .is_ok_and(|d| d == want))
    .is_some());
}
on_both_stores!(a_file_that_keeps_changing_is_copied_within_the_bound);

/// What is already on the host decides a demotion: the same version there (a pull that
/// kept its source) means no second copy; another file there is the user's, and stays.
fn a_demotion_respects_what_the_host_holds(redis: bool) {
    let p = mount(redis, "", &[]);
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    fs::create_dir_all(host.join("cache")).unwrap();
    fs::write(host.join("cache/same"), b"pulled").unwrap();
    age(&host.join("cache/same"), 3600);
    fs::create_dir(vram.join("cache")).unwrap();
    ok(&ctl(
        &p.m,
        &["pull", "-q", "/vdisk/cache/same", "/vram/cache/same"],
    ));
    write_aged(&vram.join("cache/mine"), b"vram's", 3600);
    fs::write(host.join("cache/mine"), b"the user's own").unwrap();
    fs::write(
        &p.file,
        "[[rule]]\npath = \"/vram/cache\"\ndemote_after = \"10m\"\n",
    )
    .unwrap();
    ok(&ctl(&p.m, &["policy", "load", p.file.to_str().unwrap()]));
    assert!(until(WAIT, || !vram.join("cache/same").exists()).is_some());
    let s = ctl_stats(p.m.mnt())["policy"].clone();
    assert_eq!(s["demoted"], 1, "{s}");
    assert_eq!(s["moved_bytes"], 0, "evicted, not copied again: {s}");
    assert!(until(WAIT, || ctl_stats(p.m.mnt())["policy"]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("another file")))
    .is_some());
    assert_eq!(fs::read(vram.join("cache/mine")).unwrap(), b"vram's");
    assert_eq!(
        fs::read(host.join("cache/mine")).unwrap(),
        b"the user's own"
    );
    // A pin on /vram itself holds everything.
    write_aged(&vram.join("cache/held"), b"h", 3600);
    ok(&ctl(&p.m, &["pin", "/vram"]));
    std::thread::sleep(Duration::from_secs(3));
    assert!(vram.join("cache/held").exists());
    assert!(!host.join("cache/held").exists());
}
on_both_stores!(a_demotion_respects_what_the_host_holds);

/// A move never removes a source opened for writing during its copy: it stays, named.
#[test]
fn a_move_keeps_a_source_opened_for_writing_during_its_copy() {
    let m = TestMount::memory();
    let f = m.vram().join("f");
    let data = vec![1u8; 8 << 20];
    fs::write(&f, &data).unwrap();
    let job = Command::new(CTL_BIN)
        .arg("--mount")
        .arg(m.mnt())
        .args([
            "push", "-q", "--move", "--rate", "4M", "/vram/f", "/vdisk/f",
        ])
        .current_dir("/")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let writer = fs::OpenOptions::new().append(true).open(&f).unwrap();
    let out = job.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("opened for writing") && stderr.contains("kept at the source"),
        "{out:?}"
    );
    drop(writer);
    assert_eq!(fs::read(&f).unwrap(), data, "the source stays");
    assert_eq!(
        fs::read(m.disk_dir().join("f")).unwrap(),
        data,
        "and the copy is whole"
    );
}

/// Durable copies do not wait behind demotions: while a watermark's slow demotion runs, a
/// changed file under persist_after still gets its copy within the bound.
fn durable_copies_do_not_wait_behind_demotions(redis: bool) {
    let p = mount(
        redis,
        "[vram]\nhigh_watermark = \"50%\"\nlow_watermark = \"10%\"\npolicy_rate = \"4M\"\n[[rule]]\npath = \"/vram/data\"\ndemote_after = \"100h\"\n[[rule]]\npath = \"/vram/out\"\npersist_after = \"2s\"\n",
        &["--ram-limit", "64M"],
    );
    let (vram, host) = (p.m.vram(), p.m.disk_dir().to_owned());
    fs::create_dir(vram.join("out")).unwrap();
    write_aged(&vram.join("data/big"), &vec![9u8; 40 << 20], 3600);
    assert!(
        until(WAIT, || !jobs(&p.m).is_empty()).is_some(),
        "the demotion runs: {}",
        p.m.daemon_stderr()
    );
    fs::write(vram.join("out/report"), b"urgent").unwrap();
    let copied = until(Duration::from_secs(8), || {
        fs::read(host.join("out/report")).is_ok_and(|d| d == b"urgent")
    });
    assert!(copied.is_some(), "{}", p.m.daemon_stderr());
    assert!(
        !jobs(&p.m).is_empty(),
        "copied while the 40 MiB demotion at 4 MiB/s still runs"
    );
}
on_both_stores!(durable_copies_do_not_wait_behind_demotions);
