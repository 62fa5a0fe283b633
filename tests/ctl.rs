//! `mavfsctl` and the control file, against a real mount.
//!
//! Every test runs the real `mavfsctl` binary as a child process and checks its exit status
//! and its one-line message on stderr; the protocol tests write requests to `.mavfs-ctl`
//! with plain file I/O, as a script would.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::ops::Deref;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const CONTROL: &str = ".mavfs-ctl";
const TMP_PREFIX: &str = ".mavfs-tmp.";
const NOBODY: u32 = 65534;
const MIB: usize = 1 << 20;

// ------------------------------------------------------------------------------------------
// Mounts

struct Mount {
    m: TestMount,
}

impl Deref for Mount {
    type Target = TestMount;
    fn deref(&self) -> &TestMount {
        &self.m
    }
}

fn mount(args: &[&str]) -> Mount {
    Mount {
        m: TestMount::with_args(args),
    }
}

/// A mount whose jobs take at least 50 ms a block (a MiB), so a test can act while one runs.
fn slow_mount() -> Mount {
    Mount {
        m: TestMount::start_env(
            &[],
            None,
            default_deadline(),
            &[("MAVFS_TEST_BLOCK_PAUSE_MS", "50")],
        ),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ------------------------------------------------------------------------------------------
// Running mavfsctl

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `mavfsctl ARGS`, run from `/` with no `MAVFS_MOUNT`, so only what a test sets counts.
fn ctl(args: &[&str]) -> Command {
    let mut c = Command::new(CTL_BIN);
    c.args(args)
        .env_remove("MAVFS_MOUNT")
        .current_dir("/")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Out {
    let o = c.output().expect("run mavfsctl");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

impl Mount {
    /// `mavfsctl --mount MNT ARGS`.
    fn ctl(&self, args: &[&str]) -> Out {
        run(ctl(&["--mount", s(self.mnt())]).args(args))
    }

    /// `rel` on the host, behind `vdisk/`.
    fn host(&self, rel: &str) -> PathBuf {
        self.disk_dir().join(rel)
    }

    fn stats(&self) -> Value {
        let o = self.ctl(&["stats", "--json"]);
        succeeded(&o);
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("stats --json: {e}: {o:?}"))
    }
}

fn succeeded(o: &Out) {
    assert_eq!(o.code, Some(0), "mavfsctl should succeed: {o:?}");
    assert_eq!(o.stderr, "", "nothing on stderr when all went well");
}

/// Checks the exit status and that stderr is the one line `mavfsctl: ...` mentioning each
/// of `needles` (case aside); returns that line.
fn failed(o: &Out, code: i32, needles: &[&str]) -> String {
    assert_eq!(o.code, Some(code), "exit status: {o:?}");
    let line = o
        .stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("stderr is not one line: {:?}", o.stderr));
    assert!(
        !line.contains('\n') && line.starts_with("mavfsctl: "),
        "stderr is not one `mavfsctl: ...` line: {:?}",
        o.stderr
    );
    for n in needles {
        assert!(
            line.to_lowercase().contains(&n.to_lowercase()),
            "{line:?} does not mention {n:?}"
        );
    }
    line.to_owned()
}

/// Runs `f` on a thread of its own; fails the test if it takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => panic!("{what}: gave no result"),
        },
    }
}

fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    wait_timeout(child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("mavfsctl still running after {limit:?}")
    })
}

fn child_stderr(child: &mut Child) -> String {
    let mut e = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut e);
    }
    e
}

// ------------------------------------------------------------------------------------------
// Trees

fn data(seed: u64, len: usize) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// Sets atime and mtime (whole seconds plus a fraction) without following a symlink.
fn set_times(p: &Path, atime: i64, mtime: i64) {
    let ts = [
        libc::timespec {
            tv_sec: atime,
            tv_nsec: 250_000_000,
        },
        libc::timespec {
            tv_sec: mtime,
            tv_nsec: 750_000_000,
        },
    ];
    let c = cstr(p);
    cvt(unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .unwrap_or_else(|e| panic!("utimensat {}: {e}", p.display()));
}

/// A tree holding what a copy must keep: contents, modes (setuid too), an owner, times,
/// symlinks (one dangling), an empty directory and a hard link across two directories.
fn make_tree(root: &Path, seed: u64) {
    let p = |rel: &str| root.join(rel);
    for d in ["", "empty", "sub", "sub/deep"] {
        fs::create_dir(p(d)).unwrap_or_else(|e| panic!("mkdir {}: {e}", p(d).display()));
    }
    fs::write(p("a.bin"), data(seed, 100_003)).unwrap();
    fs::write(p("sub/b.txt"), b"hello from b\n").unwrap();
    fs::write(p("sub/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    fs::write(p("sub/deep/c.bin"), data(seed + 1, 2 * MIB + 17)).unwrap();
    fs::write(p("sub/deep/zero"), b"").unwrap();
    symlink("a.bin", p("link")).unwrap();
    symlink("../missing/target", p("sub/dangling")).unwrap();
    fs::hard_link(p("a.bin"), p("sub/a-again")).unwrap();
    std::os::unix::fs::chown(p("a.bin"), Some(1234), Some(4321)).unwrap();
    for (rel, mode) in [
        ("a.bin", 0o640),
        ("sub/b.txt", 0o644),
        ("sub/tool", 0o4755),
        ("sub/deep/c.bin", 0o600),
        ("sub/deep/zero", 0o444),
        ("empty", 0o555),
        ("sub/deep", 0o700),
        ("sub", 0o750),
        ("", 0o751),
    ] {
        fs::set_permissions(p(rel), Permissions::from_mode(mode)).unwrap();
    }
    // Times last, each entry its own, children before their directories.
    let order = [
        "a.bin",
        "sub/b.txt",
        "sub/tool",
        "sub/deep/c.bin",
        "sub/deep/zero",
        "link",
        "sub/dangling",
        "empty",
        "sub/deep",
        "sub",
        "",
    ];
    for (i, rel) in order.iter().enumerate() {
        let i = i as i64;
        set_times(&p(rel), 1_500_000_000 + i * 1000, 1_600_000_000 + i * 1000);
    }
}

/// What a copy must keep of an entry.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    kind: char,
    perm: u32,
    uid: u32,
    gid: u32,
    /// Size of a regular file (0 for anything else).
    size: u64,
    /// Whole seconds.
    mtime: i64,
    /// Whole seconds, of a regular file (0 for anything else).
    atime: i64,
    target: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Seen {
    node: Node,
    ino: u64,
    nlink: u64,
}

/// Every entry under `root` (`""` is `root` itself), without reading any file, so that no
/// access time moves.
fn meta_tree(root: &Path) -> BTreeMap<String, Seen> {
    fn walk(p: &Path, rel: String, out: &mut BTreeMap<String, Seen>) {
        let md = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_file() {
            'f'
        } else {
            '?'
        };
        let node = Node {
            kind,
            perm: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            size: if kind == 'f' { md.size() } else { 0 },
            mtime: md.mtime(),
            atime: if kind == 'f' { md.atime() } else { 0 },
            target: (kind == 'l').then(|| fs::read_link(p).unwrap()),
        };
        out.insert(
            rel.clone(),
            Seen {
                node,
                ino: md.ino(),
                nlink: md.nlink(),
            },
        );
        if kind == 'd' {
            let mut names: Vec<String> = fs::read_dir(p)
                .unwrap_or_else(|e| panic!("read_dir {}: {e}", p.display()))
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            for n in names {
                let r = if rel.is_empty() {
                    n.clone()
                } else {
                    format!("{rel}/{n}")
                };
                walk(&p.join(&n), r, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, String::new(), &mut out);
    out
}

/// Checksums of the regular files under `root`.
fn contents(root: &Path) -> BTreeMap<String, u64> {
    meta_tree(root)
        .into_iter()
        .filter(|(_, s)| s.node.kind == 'f')
        .map(|(rel, _)| {
            let p = if rel.is_empty() {
                root.to_path_buf()
            } else {
                root.join(&rel)
            };
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (rel, checksum(&bytes))
        })
        .collect()
}

fn nodes(m: &BTreeMap<String, Seen>) -> BTreeMap<String, Node> {
    m.iter().map(|(k, v)| (k.clone(), v.node.clone())).collect()
}

fn assert_same_nodes(want: &BTreeMap<String, Node>, got: &BTreeMap<String, Node>, what: &str) {
    let mut diffs = Vec::new();
    for k in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
        match (want.get(k), got.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diffs.push(format!("  {k:?}:\n    source {a:?}\n    copy   {b:?}")),
        }
    }
    assert!(diffs.is_empty(), "{what} differs:\n{}", diffs.join("\n"));
}

/// Each of `copies` is a faithful copy of the tree `src`, whose metadata `before` was taken
/// just before the copy: every entry's kind, mode, owner, size, mtime (and a file's atime),
/// symlink targets, contents, and the hard link.
fn assert_same_tree(src: &Path, before: &BTreeMap<String, Seen>, copies: &[PathBuf]) {
    let want = nodes(before);
    // Metadata of every copy first: reading the contents may move access times.
    let seen: Vec<_> = copies.iter().map(|c| meta_tree(c)).collect();
    for (c, got) in copies.iter().zip(&seen) {
        assert_same_nodes(
            &want,
            &nodes(got),
            &format!("{} vs {}", src.display(), c.display()),
        );
        if let (Some(a), Some(b)) = (got.get("a.bin"), got.get("sub/a-again")) {
            assert_eq!(
                a.ino,
                b.ino,
                "{}: a.bin and sub/a-again: one inode",
                c.display()
            );
            assert_eq!(a.nlink, 2, "{}: a.bin's link count", c.display());
        }
    }
    let sums = contents(src);
    for c in copies {
        assert_eq!(
            sums,
            contents(c),
            "contents of {} vs {}",
            src.display(),
            c.display()
        );
    }
}

/// Names starting with the temporary prefix anywhere under `root`.
/// Waits until a job is copying (a temporary is under `root`), so that a signal meets it
/// half-way rather than before it began.
fn until_copying(root: &Path) {
    let end = Instant::now() + Duration::from_secs(20);
    while tmp_leftovers(root).is_empty() {
        assert!(Instant::now() < end, "no copy began within 20 s");
        thread::sleep(Duration::from_millis(5));
    }
}

fn tmp_leftovers(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                out.push(e.path());
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `ls -a DIR`, one name a line.
fn ls_a(dir: &Path) -> Vec<String> {
    let o = Command::new("ls")
        .arg("-a")
        .arg("-1")
        .arg(dir)
        .output()
        .expect("run ls");
    assert!(o.status.success(), "ls -a {}: {o:?}", dir.display());
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether the file at `p` has exactly `len` bytes, all zero (compared a MiB at a time).
fn all_zero(p: &Path, len: u64) -> bool {
    let mut f = File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let zeros = vec![0u8; MIB];
    let mut buf = vec![0u8; MIB];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return total == len;
        }
        if buf[..n] != zeros[..n] {
            return false;
        }
        total += n as u64;
    }
}

/// A tree of `data_files` files of real data and `sparse_files` sparse ones, written
/// through the mount at `root`; returns each file's name and expected content (`None`:
/// zeros) and size.
fn make_big_tree(
    root: &Path,
    data_files: usize,
    data_len: usize,
    sparse_files: usize,
    sparse_len: u64,
) -> Vec<(String, Option<Vec<u8>>, u64)> {
    fs::create_dir(root).unwrap();
    let mut files = Vec::new();
    for i in 0..data_files {
        let d = data(100 + i as u64, data_len);
        let name = format!("d{i}");
        fs::write(root.join(&name), &d).unwrap();
        files.push((name, Some(d), data_len as u64));
    }
    for i in 0..sparse_files {
        let name = format!("z{i}");
        File::create(root.join(&name))
            .unwrap()
            .set_len(sparse_len)
            .unwrap();
        files.push((name, None, sparse_len));
    }
    files
}

/// The file at `p` is whole and equal to the expected content.
fn assert_whole(p: &Path, want: &Option<Vec<u8>>, len: u64) {
    let md = fs::metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    assert_eq!(md.len(), len, "{}: size", p.display());
    match want {
        Some(d) => assert!(fs::read(p).unwrap() == *d, "{}: contents", p.display()),
        None => assert!(all_zero(p, len), "{}: contents (zeros)", p.display()),
    }
}

// ------------------------------------------------------------------------------------------
// Mount discovery and path forms

/// The disk dir of the mount a `stats` run reached.
fn reached(o: &Out) -> String {
    succeeded(o);
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    v["disk_dir"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn discovery_follows_flag_then_env_then_current_dir() {
    let (m1, m2) = (mount(&[]), mount(&[]));
    let (d1, d2) = (s(m1.disk_dir()), s(m2.disk_dir()));
    let stats = ["stats", "--json"];

    // --mount
    assert_eq!(
        reached(&run(ctl(&["--mount", s(m1.mnt())]).args(stats))),
        d1
    );
    assert_eq!(
        reached(&run(ctl(&["--mount", s(m2.mnt())]).args(stats))),
        d2
    );
    // $MAVFS_MOUNT
    assert_eq!(reached(&run(ctl(&stats).env("MAVFS_MOUNT", m2.mnt()))), d2);
    // --mount wins over $MAVFS_MOUNT.
    assert_eq!(
        reached(&run(ctl(&["--mount", s(m1.mnt())])
            .args(stats)
            .env("MAVFS_MOUNT", m2.mnt()))),
        d1
    );
    // The mount holding the current directory, at any depth.
    fs::create_dir_all(m1.vram().join("a/b")).unwrap();
    assert_eq!(
        reached(&run(ctl(&stats).current_dir(m1.vram().join("a/b")))),
        d1
    );
    assert_eq!(reached(&run(ctl(&stats).current_dir(m2.vdisk()))), d2);
    // $MAVFS_MOUNT wins over the current directory.
    assert_eq!(
        reached(&run(ctl(&stats)
            .current_dir(m1.vram())
            .env("MAVFS_MOUNT", m2.mnt()))),
        d2
    );
    // Outside any mount, with several of them: the error names them and asks for --mount.
    let line = failed(&run(&mut ctl(&stats)), 1, &["--mount"]);
    assert!(
        line.contains(s(m1.mnt())) && line.contains(s(m2.mnt())),
        "{line:?} should name both mounts"
    );
}

#[test]
fn not_a_mount_is_a_clear_error() {
    failed(
        &run(&mut ctl(&["--mount", "/tmp", "stats"])),
        1,
        &["/tmp", "--mount", "not a MAVFS mount"],
    );
    failed(
        &run(&mut ctl(&["--mount", "/nonexistent/mavfs", "stats"])),
        1,
        &["/nonexistent/mavfs"],
    );
    failed(
        &run(ctl(&["stats"]).env("MAVFS_MOUNT", "/tmp")),
        1,
        &["/tmp", "MAVFS_MOUNT", "not a MAVFS mount"],
    );
    failed(
        &run(ctl(&["push", "/vram/x", "/vdisk/x"]).env("MAVFS_MOUNT", "/nonexistent/mavfs")),
        1,
        &["/nonexistent/mavfs", "MAVFS_MOUNT"],
    );
}

#[test]
fn paths_may_be_virtual_real_or_relative() {
    let m = mount(&[]);
    let mnt = s(m.mnt());
    fs::write(m.vram().join("v.txt"), b"virtual\n").unwrap();
    fs::write(m.vram().join("r.txt"), b"real\n").unwrap();
    fs::create_dir(m.vram().join("proj")).unwrap();
    fs::write(m.vram().join("proj/rel.txt"), b"relative\n").unwrap();

    // Virtual, with `.` and `..` resolved and a trailing slash on the directory.
    succeeded(&m.ctl(&["push", "-q", "/vram/proj/../v.txt", "/vdisk/./"]));
    assert_eq!(fs::read(m.host("v.txt")).unwrap(), b"virtual\n");
    // Real paths on the mount; without --quiet a summary on stdout.
    let o = m.ctl(&[
        "push",
        &format!("{mnt}/vram/r.txt"),
        &format!("{mnt}/vdisk/r2.txt"),
    ]);
    succeeded(&o);
    assert!(o.stdout.starts_with("pushed 1 file"), "{o:?}");
    assert_eq!(fs::read(m.host("r2.txt")).unwrap(), b"real\n");
    // Real and virtual mixed, pulling back.
    succeeded(&m.ctl(&["pull", "-q", &format!("{mnt}/vdisk/r2.txt"), "/vram/r3.txt"]));
    assert_eq!(fs::read(m.vram().join("r3.txt")).unwrap(), b"real\n");
    // Relative to the current directory inside the mount, which also finds the mount.
    let o = run(ctl(&["push", "-q", "rel.txt", "../../vdisk/"]).current_dir(m.vram().join("proj")));
    succeeded(&o);
    assert_eq!(fs::read(m.host("rel.txt")).unwrap(), b"relative\n");
    let o = run(ctl(&["pull", "-q", "rel.txt", "../vram/back.txt"]).current_dir(m.vdisk()));
    succeeded(&o);
    assert_eq!(fs::read(m.vram().join("back.txt")).unwrap(), b"relative\n");
    assert!(o.stdout.is_empty(), "--quiet prints nothing: {o:?}");

    // Paths that name nothing on the tiers.
    failed(
        &m.ctl(&["push", "/etc/passwd", "/vdisk/"]),
        1,
        &["/etc/passwd"],
    );
    failed(
        &run(ctl(&["push", "../x", "/vdisk/"]).current_dir(m.vram())),
        1,
        &["../x"],
    );
    failed(
        &m.ctl(&["push", "/vram/../../x", "/vdisk/"]),
        1,
        &["/vram/../../x"],
    );
    // A directory inside the mount is not the mount.
    failed(
        &run(&mut ctl(&["--mount", s(&m.vram()), "stats"])),
        1,
        &["not a MAVFS mount"],
    );
    assert_eq!(
        names(m.disk_dir()),
        set(&["v.txt", "r2.txt", "rel.txt"]),
        "nothing else reached the disk"
    );
}

// ------------------------------------------------------------------------------------------
// push and pull

#[test]
fn push_copies_files_and_trees_keeping_their_metadata() {
    let m = mount(&[]);
    let src = m.vram().join("tree");
    make_tree(&src, 1);
    fs::create_dir(m.vdisk().join("existing")).unwrap();

    // A tree into an existing directory, as `cp -r`.
    let before = meta_tree(&src);
    succeeded(&m.ctl(&["push", "-q", "/vram/tree", "/vdisk/existing"]));
    assert_same_tree(
        &src,
        &before,
        &[m.host("existing/tree"), m.vdisk().join("existing/tree")],
    );
    // A tree to a new name.
    let before = meta_tree(&src);
    succeeded(&m.ctl(&["push", "-q", "/vram/tree", "/vdisk/renamed"]));
    assert_same_tree(
        &src,
        &before,
        &[m.host("renamed"), m.vdisk().join("renamed")],
    );
    // A file to a new name, and into a directory.
    let c = src.join("sub/deep/c.bin");
    let before = meta_tree(&c);
    succeeded(&m.ctl(&[
        "push",
        "-q",
        "/vram/tree/sub/deep/c.bin",
        "/vdisk/c-copy.bin",
    ]));
    assert_same_tree(&c, &before, &[m.host("c-copy.bin")]);
    let tool = src.join("sub/tool");
    let before = meta_tree(&tool);
    succeeded(&m.ctl(&["push", "-q", "/vram/tree/sub/tool", "/vdisk/existing/"]));
    assert_same_tree(&tool, &before, &[m.host("existing/tool")]);
    // The source stays, and no temporary is left on the host.
    assert!(src.join("sub/deep/c.bin").exists() && src.join("link").exists());
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
}

#[test]
fn pull_copies_files_and_trees_keeping_their_metadata() {
    let m = mount(&[]);
    let src = m.host("ptree");
    make_tree(&src, 2);
    fs::create_dir(m.vram().join("existing")).unwrap();

    let before = meta_tree(&src);
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/ptree", "/vram/existing"]));
    assert_same_tree(&src, &before, &[m.vram().join("existing/ptree")]);
    let before = meta_tree(&src);
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/ptree", "/vram/renamed"]));
    assert_same_tree(&src, &before, &[m.vram().join("renamed")]);
    let a = src.join("a.bin");
    let before = meta_tree(&a);
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/ptree/a.bin", "/vram/one.bin"]));
    assert_same_tree(&a, &before, &[m.vram().join("one.bin")]);
    let link = src.join("sub/dangling");
    let before = meta_tree(&link);
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/ptree/sub/dangling", "/vram/existing"]));
    assert_same_tree(&link, &before, &[m.vram().join("existing/dangling")]);
    // The source stays.
    assert!(src.join("sub/deep/c.bin").exists() && src.join("sub/a-again").exists());
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
}

#[test]
fn an_existing_destination_needs_force() {
    let m = mount(&[]);
    // A file.
    fs::write(m.vram().join("f"), b"new contents\n").unwrap();
    fs::set_permissions(m.vram().join("f"), Permissions::from_mode(0o640)).unwrap();
    fs::write(m.host("f"), b"old\n").unwrap();
    failed(
        &m.ctl(&["push", "/vram/f", "/vdisk/f"]),
        1,
        &["/vdisk/f", "--force"],
    );
    assert_eq!(
        fs::read(m.host("f")).unwrap(),
        b"old\n",
        "destination unchanged"
    );
    succeeded(&m.ctl(&["push", "-q", "--force", "/vram/f", "/vdisk/f"]));
    assert_eq!(fs::read(m.host("f")).unwrap(), b"new contents\n");
    assert_eq!(fs::metadata(m.host("f")).unwrap().mode() & 0o7777, 0o640);

    // A file inside a tree.
    fs::create_dir(m.vram().join("t")).unwrap();
    for n in ["x", "y", "z"] {
        fs::write(m.vram().join("t").join(n), format!("new {n}\n")).unwrap();
    }
    fs::create_dir(m.host("t")).unwrap();
    fs::write(m.host("t/y"), b"old y\n").unwrap();
    failed(
        &m.ctl(&["push", "/vram/t", "/vdisk/"]),
        1,
        &["/vdisk/t/y", "--force"],
    );
    assert_eq!(fs::read(m.host("t/y")).unwrap(), b"old y\n");
    succeeded(&m.ctl(&["push", "-q", "--force", "/vram/t", "/vdisk/"]));
    for n in ["x", "y", "z"] {
        assert_eq!(
            fs::read_to_string(m.host("t").join(n)).unwrap(),
            format!("new {n}\n")
        );
    }

    // Into vram, over a file the kernel has cached.
    fs::write(m.vram().join("g"), b"old g\n").unwrap();
    assert_eq!(fs::read(m.vram().join("g")).unwrap(), b"old g\n");
    fs::write(m.host("g"), b"new g, from the disk\n").unwrap();
    failed(
        &m.ctl(&["pull", "/vdisk/g", "/vram/g"]),
        1,
        &["/vram/g", "--force"],
    );
    assert_eq!(fs::read(m.vram().join("g")).unwrap(), b"old g\n");
    succeeded(&m.ctl(&["pull", "-q", "--force", "/vdisk/g", "/vram/g"]));
    assert_eq!(
        fs::read(m.vram().join("g")).unwrap(),
        b"new g, from the disk\n"
    );
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
}

#[test]
fn move_removes_the_source_only_once_the_destination_is_complete() {
    let m = mount(&[]);

    // pull --move, watching the source on the host (no cache in the way) while it runs:
    // the first time anything of it is missing, the whole destination must be there.
    let src = m.host("mv");
    fs::create_dir(&src).unwrap();
    let mut files: Vec<(String, Option<Vec<u8>>, u64)> = Vec::new();
    for i in 0..4 {
        let d = data(40 + i, MIB + 3);
        fs::write(src.join(format!("d{i}")), &d).unwrap();
        files.push((format!("d{i}"), Some(d), (MIB + 3) as u64));
    }
    for i in 0..3 {
        File::create(src.join(format!("z{i}")))
            .unwrap()
            .set_len(48 << 20)
            .unwrap();
        files.push((format!("z{i}"), None, 48 << 20));
    }
    let mut child = ctl(&[
        "--mount",
        s(m.mnt()),
        "pull",
        "-q",
        "--move",
        "/vdisk/mv",
        "/vram/",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let dst = m.vram().join("mv");
    let mut checked = false;
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        let done = child.try_wait().unwrap().is_some();
        let missing = files
            .iter()
            .any(|(n, _, _)| fs::symlink_metadata(src.join(n)).is_err());
        if missing {
            for (n, _, len) in &files {
                let md = fs::metadata(dst.join(n)).unwrap_or_else(|e| {
                    panic!("source {n} partly removed while destination {n} is missing: {e}")
                });
                assert_eq!(
                    md.len(),
                    *len,
                    "source partly removed while {n} is incomplete"
                );
            }
            checked = true;
            break;
        }
        if done {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    let status = wait_child(&mut child, Duration::from_secs(60));
    let err = child_stderr(&mut child);
    assert_eq!(status.code(), Some(0), "pull --move: {err}");
    assert!(checked, "the source was never seen removed");
    assert!(!src.exists(), "the source is gone after the move");
    for (n, want, len) in &files {
        assert_whole(&dst.join(n), want, *len);
    }

    // push --move: the vram source (looked up before, so cached) is gone afterwards.
    let pm = m.vram().join("pm");
    make_tree(&pm, 3);
    let before = meta_tree(&pm);
    let sums = contents(&pm);
    let o = m.ctl(&["push", "--move", "/vram/pm", "/vdisk/"]);
    succeeded(&o);
    assert!(o.stdout.starts_with("moved to /vdisk"), "{o:?}");
    assert_same_nodes(
        &nodes(&before),
        &nodes(&meta_tree(&m.host("pm"))),
        "moved tree",
    );
    assert_eq!(contents(&m.host("pm")), sums);
    assert!(!pm.exists(), "vram/pm is gone after push --move");
    assert!(!names(&m.vram()).contains("pm"));

    // A single file.
    fs::write(m.host("one"), b"just one\n").unwrap();
    let o = m.ctl(&["pull", "--move", "/vdisk/one", "/vram/one-moved"]);
    succeeded(&o);
    assert!(o.stdout.starts_with("moved to /vram"), "{o:?}");
    assert_eq!(fs::read(m.vram().join("one-moved")).unwrap(), b"just one\n");
    assert!(!m.host("one").exists(), "the moved file's source is gone");

    // A move whose copy fails leaves the whole source in place.
    let mf = m.vram().join("mf");
    fs::create_dir(&mf).unwrap();
    for n in ["a", "b", "c"] {
        fs::write(mf.join(n), format!("moving {n}\n")).unwrap();
    }
    fs::create_dir(m.host("mf")).unwrap();
    fs::write(m.host("mf/b"), b"in the way\n").unwrap();
    failed(
        &m.ctl(&["push", "--move", "/vram/mf", "/vdisk/"]),
        1,
        &["/vdisk/mf/b"],
    );
    for n in ["a", "b", "c"] {
        assert_eq!(
            fs::read_to_string(mf.join(n)).unwrap(),
            format!("moving {n}\n")
        );
    }
    assert_eq!(fs::read(m.host("mf/b")).unwrap(), b"in the way\n");
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
}

#[test]
fn errors_name_the_path_and_exit_non_zero() {
    let m = mount(&[]);
    fs::write(m.vram().join("x"), b"x").unwrap();
    fs::create_dir(m.vram().join("d")).unwrap();
    fs::write(m.host("y"), b"y").unwrap();

    // Wrong direction.
    failed(
        &m.ctl(&["push", "/vdisk/y", "/vram/y"]),
        1,
        &["/vdisk/y", "pull"],
    );
    failed(
        &m.ctl(&["pull", "/vram/x", "/vdisk/x"]),
        1,
        &["/vram/x", "push"],
    );
    failed(&m.ctl(&["push", "/vram/x", "/vram/x2"]), 1, &["/vram/x2"]);
    // Missing source, or a missing directory on the way.
    failed(
        &m.ctl(&["push", "/vram/missing", "/vdisk/"]),
        1,
        &["/vram/missing", "no such"],
    );
    failed(
        &m.ctl(&["pull", "/vdisk/missing", "/vram/"]),
        1,
        &["/vdisk/missing", "no such"],
    );
    failed(
        &m.ctl(&["push", "/vram/no/such", "/vdisk/"]),
        1,
        &["/vram/no"],
    );
    failed(
        &m.ctl(&["push", "/vram/x", "/vdisk/no/such/x"]),
        1,
        &["/vdisk/no"],
    );
    // A whole tier; a directory over a file.
    failed(&m.ctl(&["push", "/vram", "/vdisk"]), 1, &["/vram"]);
    failed(&m.ctl(&["push", "/vram/d", "/vdisk/y"]), 1, &["/vdisk/y"]);
    // Bad usage is the argument parser's: exit 2.
    let o = m.ctl(&["push", "/vram/x"]);
    assert_eq!(o.code, Some(2), "{o:?}");

    assert_eq!(names(m.disk_dir()), set(&["y"]), "nothing reached the disk");
    assert_eq!(names(&m.vram()), set(&["x", "d"]), "nothing reached vram");
    assert_eq!(fs::read(m.host("y")).unwrap(), b"y");
}

#[test]
fn a_pull_that_runs_out_of_vram_leaves_no_partial_file() {
    let m = mount(&["--ram-limit", "4M"]);
    let src = m.host("big");
    fs::create_dir(&src).unwrap();
    let len = MIB + 1000;
    let want: BTreeMap<String, Vec<u8>> = (0..10)
        .map(|i| (format!("f{i}"), data(70 + i, len)))
        .collect();
    for (n, d) in &want {
        fs::write(src.join(n), d).unwrap();
    }

    let o = m.ctl(&["pull", "/vdisk/big", "/vram/"]);
    failed(&o, 1, &["space", "/vram/big/"]);

    // What arrived is whole; nothing else, hidden or not, is there.
    let dst = m.vram().join("big");
    let got = names(&dst);
    assert!(
        !got.is_empty() && got.len() < want.len(),
        "stopped midway: {got:?}"
    );
    for n in &got {
        assert!(want.contains_key(n), "unexpected {n:?} in vram/big");
        assert!(
            fs::read(dst.join(n)).unwrap() == want[n],
            "vram/big/{n} is not whole"
        );
    }
    let listed = ls_a(&dst);
    assert!(
        listed.iter().all(|n| !n.starts_with(TMP_PREFIX)),
        "ls -a shows a temporary: {listed:?}"
    );
    let st = m.stats();
    assert_eq!(
        st["vram"]["files"],
        got.len() as u64,
        "no hidden file in vram: {st}"
    );
    assert_eq!(
        st["vram"]["bytes"],
        (got.len() * len) as u64,
        "no hidden bytes in vram: {st}"
    );
    // The source is intact.
    assert_eq!(names(&src), want.keys().cloned().collect::<BTreeSet<_>>());
    for (n, d) in &want {
        assert!(fs::read(src.join(n)).unwrap() == *d, "source {n} changed");
    }
    // The space is whole again once the copies are removed.
    fs::remove_dir_all(&dst).unwrap();
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/big/f0", "/vram/"]));
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/big/f1", "/vram/"]));
    assert!(fs::read(m.vram().join("f1")).unwrap() == want["f1"]);
}

// ------------------------------------------------------------------------------------------
// The control file

#[test]
fn the_control_file_is_hidden_and_refused_to_other_users() {
    let m = mount(&["--allow-other"]);
    let ctl_file = m.mnt().join(CONTROL);

    let md = fs::metadata(&ctl_file).expect("stat of the control file");
    assert!(md.is_file());
    assert_eq!(md.mode() & 0o7777, 0o600);
    assert_eq!(md.uid(), 0, "owned by the mounting user (root)");
    assert_eq!(names(m.mnt()), set(&["vram", "vdisk"]));
    let listed = ls_a(m.mnt());
    assert!(
        !listed.iter().any(|n| n == CONTROL),
        "ls -a lists it: {listed:?}"
    );
    assert!(listed.iter().any(|n| n == "vram"), "{listed:?}");

    // Another user reaches the mount, but not the control file.
    let vram = m.vram();
    assert_eq!(
        as_user(NOBODY, NOBODY, move || errno_or_zero(fs::read_dir(&vram))),
        0,
        "another user lists vram/ with --allow-other"
    );
    let c = ctl_file.clone();
    let rw = as_user(NOBODY, NOBODY, move || {
        errno_or_zero(OpenOptions::new().read(true).write(true).open(&c))
    });
    assert_eq!(rw, libc::EACCES, "read-write open by another user");
    let c = ctl_file.clone();
    let ro = as_user(NOBODY, NOBODY, move || errno_or_zero(File::open(&c)));
    assert_eq!(ro, libc::EACCES, "read-only open by another user");

    // mavfsctl run by that user says so in one line.
    let o = run(ctl(&["--mount", s(m.mnt()), "stats"])
        .uid(NOBODY)
        .gid(NOBODY));
    failed(&o, 1, &["permission denied"]);
    let o = run(ctl(&["--mount", s(m.mnt()), "push", "/vram/x", "/vdisk/x"])
        .uid(NOBODY)
        .gid(NOBODY));
    failed(&o, 1, &["permission denied"]);
    // The owner still steers it.
    succeeded(&m.ctl(&["stats"]));
}

/// Opens the control file read-write, writes each of `writes` in turn, then reads answer
/// lines until end of file (checking that a further read still says end of file).
fn exchange(mnt: &Path, writes: &[&[u8]]) -> Vec<Value> {
    let path = mnt.join(CONTROL);
    let writes: Vec<Vec<u8>> = writes.iter().map(|w| w.to_vec()).collect();
    let text = within(
        Duration::from_secs(20),
        "a request on the control file",
        move || {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .expect("open the control file");
            for w in &writes {
                f.write_all(w).expect("write a request");
            }
            let mut text = String::new();
            f.read_to_string(&mut text).expect("read the answers");
            let mut more = [0u8; 64];
            assert_eq!(
                f.read(&mut more).unwrap(),
                0,
                "end of file stays end of file"
            );
            text
        },
    );
    assert!(text.ends_with('\n'), "answers are whole lines: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("answer {l:?}: {e}")))
        .collect()
}

/// One `error` answer, given at once, whose message mentions each of `needles`; then end
/// of file.
fn refused(mnt: &Path, writes: &[&[u8]], needles: &[&str]) {
    let answers = exchange(mnt, writes);
    assert_eq!(
        answers.len(),
        1,
        "one answer to {}: {answers:?}",
        shown(writes)
    );
    ends_in_error(&answers, writes, needles);
}

/// A request that starts a job which fails: `running` answers, then an `error` mentioning
/// each of `needles`; then end of file.
fn job_fails(mnt: &Path, writes: &[&[u8]], needles: &[&str]) {
    let answers = exchange(mnt, writes);
    ends_in_error(&answers, writes, needles);
}

fn shown(writes: &[&[u8]]) -> String {
    let all = String::from_utf8_lossy(&writes.concat()).into_owned();
    format!("{:?}", all.chars().take(80).collect::<String>())
}

fn ends_in_error(answers: &[Value], writes: &[&[u8]], needles: &[&str]) {
    let (last, before) = answers
        .split_last()
        .unwrap_or_else(|| panic!("no answer to {}", shown(writes)));
    assert!(
        before.iter().all(|a| a["state"] == "running"),
        "to {}: {answers:?}",
        shown(writes)
    );
    assert_eq!(last["state"], "error", "to {}: {answers:?}", shown(writes));
    let msg = last["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(!msg.is_empty(), "an error says what is wrong: {last}");
    for n in needles {
        assert!(
            msg.contains(&n.to_lowercase()),
            "{msg:?} does not mention {n:?} (request {})",
            shown(writes)
        );
    }
}

#[test]
fn malformed_requests_get_an_error_answer() {
    let m = mount(&[]);
    let mnt = m.mnt();
    refused(mnt, &[b"{nope\n"], &["malformed"]);
    refused(mnt, &[b"\xff\xfe\x00\n"], &["malformed"]);
    refused(mnt, &[b"[1,2,3]\n"], &[]);
    refused(
        mnt,
        &[br#"{"v":1,"op":"format"}"#, b"\n"],
        &["unknown", "format"],
    );
    refused(mnt, &[br#"{"op":"stats"}"#, b"\n"], &["version"]);
    refused(mnt, &[br#"{"v":7,"op":"stats"}"#, b"\n"], &["version", "7"]);
    refused(mnt, &[br#"{"v":"1","op":"stats"}"#, b"\n"], &["version"]);
    refused(mnt, &[br#"{"v":-1,"op":"stats"}"#, b"\n"], &["\"v\"", "-1"]);
    refused(
        mnt,
        &[br#"{"v":1,"op":"stats","verbose":true}"#, b"\n"],
        &["unknown field", "verbose"],
    );
    // A misspelt or mistyped option refuses the whole request: nothing is copied.
    fs::write(mnt.join("vram/kept"), b"k").unwrap();
    refused(
        mnt,
        &[
            br#"{"v":1,"op":"push","src":"/vram/kept","dst":"/vdisk/kept","mvoe":true}"#,
            b"\n",
        ],
        &["unknown field", "mvoe"],
    );
    refused(
        mnt,
        &[
            br#"{"v":1,"op":"push","src":"/vram/kept","dst":"/vdisk/kept","move":"yes"}"#,
            b"\n",
        ],
        &["\"move\"", "boolean"],
    );
    assert!(!mnt.join("vdisk/kept").exists(), "a refused push copied");
    assert!(mnt.join("vram/kept").exists(), "a refused move removed");
    refused(
        mnt,
        &[br#"{"v":1,"op":"push","src":"/vram/a"}"#, b"\n"],
        &["dst"],
    );
    job_fails(
        mnt,
        &[
            br#"{"v":1,"op":"push","src":"/vram/../../etc","dst":"/vdisk/e"}"#,
            b"\n",
        ],
        &["/vram/../../etc"],
    );
    refused(mnt, &[br#"{"v":1,"op":"cancel"}"#, b"\n"], &["cancel"]);
    job_fails(
        mnt,
        &[
            br#"{"v":1,"op":"push","src":"/vram/none","dst":"/vdisk/none"}"#,
            b"\n",
        ],
        &["/vram/none"],
    );
    // Oversized: in one write, and in pieces without a newline.
    let mut big = br#"{"v":1,"op":"stats","pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 70 * 1024));
    big.extend_from_slice(b"\"}\n");
    refused(mnt, &[&big], &["too large"]);
    let piece = vec![b' '; 16 * 1024];
    refused(
        mnt,
        &[&piece, &piece, &piece, &piece, &piece, b"\n"],
        &["too large"],
    );
    // Reading without having written anything.
    refused(mnt, &[], &["no request"]);
    refused(mnt, &[b"\n"], &[]);

    // A request in two writes, without the final newline, is still one request.
    let answers = exchange(mnt, &[br#"{"v":1,"#, br#""op":"stats"}"#]);
    let (last, before) = answers.split_last().expect("an answer");
    assert!(
        before.iter().all(|a| a["state"] == "running"),
        "{answers:?}"
    );
    assert_eq!(last["state"], "done", "{answers:?}");
    assert!(last["result"]["vram"]["files"].is_u64(), "{last}");

    // The mount keeps working.
    fs::write(m.vram().join("after"), b"still here\n").unwrap();
    assert_eq!(fs::read(m.vram().join("after")).unwrap(), b"still here\n");
    succeeded(&m.ctl(&["push", "-q", "/vram/after", "/vdisk/"]));
    assert_eq!(fs::read(m.host("after")).unwrap(), b"still here\n");
}

// ------------------------------------------------------------------------------------------
// stats

/// Non-directories, directories and bytes (of non-directories) under `root` on the host.
fn host_counts(root: &Path) -> (u64, u64, u64) {
    let mut t = (0, 0, 0);
    for (rel, seen) in meta_tree(root) {
        if rel.is_empty() {
            continue;
        }
        if seen.node.kind == 'd' {
            t.1 += 1;
        } else {
            t.0 += 1;
            t.2 += fs::symlink_metadata(root.join(&rel)).unwrap().len();
        }
    }
    t
}

#[test]
fn stats_count_what_each_tier_holds() {
    let m = mount(&["--ram-limit", "64M"]);
    fs::create_dir_all(m.vram().join("d/e")).unwrap();
    fs::write(m.vram().join("a"), data(1, 1000)).unwrap();
    fs::write(m.vram().join("d/b"), data(2, 5000)).unwrap();
    fs::write(m.vram().join("d/e/c"), data(3, 123_457)).unwrap();
    fs::create_dir(m.vdisk().join("sub")).unwrap();
    fs::write(m.vdisk().join("x"), data(4, 7777)).unwrap();
    fs::write(m.vdisk().join("sub/y"), data(5, 65_536)).unwrap();
    // Behind the mount's back too.
    fs::write(m.host("sub/z"), b"0123456789").unwrap();

    let st = m.stats();
    assert_eq!(st["vram"]["files"], 3, "{st}");
    assert_eq!(st["vram"]["bytes"], 1000 + 5000 + 123_457, "{st}");
    assert_eq!(st["vram_used"], 1000 + 5000 + 123_457, "{st}");
    assert_eq!(st["vram_limit"], 64 << 20, "{st}");
    assert_eq!(st["backend"], "memory", "{st}");
    let (files, dirs, bytes) = host_counts(m.disk_dir());
    assert_eq!((files, dirs, bytes), (3, 1, 7777 + 65_536 + 10));
    assert_eq!(st["vdisk"]["files"], files, "{st}");
    assert_eq!(st["vdisk"]["dirs"], dirs, "{st}");
    assert_eq!(st["vdisk"]["bytes"], bytes, "{st}");
    assert_eq!(st["disk_dir"], s(m.disk_dir()), "{st}");
    let (free, total) = (st["disk_free"].as_u64(), st["disk_total"].as_u64());
    assert!(
        matches!((free, total), (Some(f), Some(t)) if f > 0 && t >= f),
        "{st}"
    );
    assert!(st["uptime_secs"].is_u64(), "{st}");

    // Removing changes the numbers.
    fs::remove_file(m.vram().join("d/b")).unwrap();
    fs::remove_file(m.vdisk().join("x")).unwrap();
    let st = m.stats();
    assert_eq!(st["vram"]["files"], 2, "{st}");
    assert_eq!(st["vram"]["bytes"], 1000 + 123_457, "{st}");
    assert_eq!(st["vdisk"]["files"], 2, "{st}");
    assert_eq!(st["vdisk"]["bytes"], 65_536 + 10, "{st}");

    // The table names both tiers.
    let o = m.ctl(&["stats"]);
    succeeded(&o);
    for tier in ["vram", "vdisk"] {
        assert!(
            o.stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(tier)),
            "no {tier} row in:\n{}",
            o.stdout
        );
    }
    assert!(o.stdout.contains(s(m.disk_dir())), "{}", o.stdout);
}

#[test]
fn stats_count_the_same_tree_alike_on_both_tiers() {
    let m = mount(&[]);
    for tier in [m.vram(), m.vdisk()] {
        fs::create_dir_all(tier.join("p/q")).unwrap();
        fs::write(tier.join("p/f"), b"ten bytes!").unwrap();
        fs::write(tier.join("p/q/g"), b"four").unwrap();
        // A second name is not a second file: counted once, as `du` and the vram store do.
        fs::hard_link(tier.join("p/f"), tier.join("p/q/f2")).unwrap();
    }
    let st = m.stats();
    for k in ["files", "dirs", "bytes"] {
        assert_eq!(st["vram"][k], st["vdisk"][k], "{k} of the same tree: {st}");
    }
    assert_eq!(st["vdisk"]["dirs"], 2, "{st}");
    assert_eq!(st["vdisk"]["files"], 2, "{st}");
    assert_eq!(st["vdisk"]["bytes"], 14, "{st}");
}

// ------------------------------------------------------------------------------------------
// Long jobs

#[test]
fn the_mount_answers_while_a_large_push_runs() {
    let m = slow_mount();
    // 32 MiB written (1.6 s at the slow mount's pace), and 768 MiB of sparse files.
    let files = make_big_tree(&m.vram().join("big"), 4, 8 * MIB, 4, 192 << 20);
    fs::create_dir(m.vram().join("small")).unwrap();
    let small: Vec<Vec<u8>> = (0..64).map(|i| data(500 + i, 4096)).collect();
    for (i, d) in small.iter().enumerate() {
        fs::write(m.vram().join(format!("small/s{i}")), d).unwrap();
    }
    fs::create_dir(m.vdisk().join("other")).unwrap();
    for i in 0..20 {
        fs::write(m.vdisk().join(format!("other/o{i}")), b"o").unwrap();
    }

    let mut child = ctl(&["--mount", s(m.mnt()), "push", "-q", "/vram/big", "/vdisk/"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let limit = Duration::from_secs(2);
    let (mut overlapped, mut slowest, mut i) = (0, Duration::ZERO, 0usize);
    thread::sleep(Duration::from_millis(50));
    while child.try_wait().unwrap().is_none() {
        let (vdisk, vram) = (m.vdisk(), m.vram());
        let k = i % small.len();
        let want = small[k].clone();
        let t = Instant::now();
        // `ls` on the disk tier, `ls` and `cat` (of a file not read before) on vram.
        within(
            limit,
            "ls vdisk/, ls vram/small, cat vram/small/sN",
            move || {
                let n = fs::read_dir(vdisk.join("other")).unwrap().count();
                assert_eq!(n, 20);
                fs::read_dir(&vdisk).unwrap().for_each(drop);
                assert_eq!(fs::read_dir(vram.join("small")).unwrap().count(), 64);
                let got = fs::read(vram.join(format!("small/s{k}"))).unwrap();
                assert!(got == want, "small/s{k} read back wrong");
            },
        );
        slowest = slowest.max(t.elapsed());
        if child.try_wait().unwrap().is_none() {
            overlapped += 1;
        }
        i += 1;
        thread::sleep(Duration::from_millis(20));
    }
    let status = wait_child(&mut child, Duration::from_secs(60));
    let err = child_stderr(&mut child);
    assert_eq!(status.code(), Some(0), "push: {err}");
    assert!(
        overlapped > 0,
        "the push ended before any probe could run alongside it"
    );
    eprintln!("{overlapped} probes during the push; slowest {slowest:?}");
    let dst = m.host("big");
    for (n, _, len) in &files {
        assert_eq!(fs::metadata(dst.join(n)).unwrap().len(), *len, "{n}");
    }
    let (n, want, len) = &files[0];
    assert_whole(&dst.join(n), want, *len);
}

#[test]
fn sigint_cancels_a_push_cleanly() {
    let m = slow_mount();
    // 16 MiB written (0.8 s at the slow mount's pace), 4 GiB more of sparse files (holes,
    // copied as holes): far more than is copied before the signal.
    let src = m.vram().join("big");
    let files = make_big_tree(&src, 4, 4 * MIB, 4, 1 << 30);
    let mut child = ctl(&["--mount", s(m.mnt()), "push", "/vram/big", "/vdisk/"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_copying(m.disk_dir());
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = wait_child(&mut child, Duration::from_secs(30));
    let err = child_stderr(&mut child);
    assert_eq!(
        status.code(),
        Some(130),
        "exit status after SIGINT; stderr {err:?}"
    );
    failed(
        &Out {
            code: Some(1),
            stdout: String::new(),
            stderr: err,
        },
        1,
        &["cancelled"],
    );

    // Nothing half-written: no temporary on the host, and what is there is whole.
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    let dst = m.host("big");
    let arrived = if dst.exists() {
        names(&dst)
    } else {
        BTreeSet::new()
    };
    assert!(
        arrived.len() < files.len(),
        "cancelled after everything was copied"
    );
    for (n, want, len) in &files {
        if arrived.contains(n) {
            assert_whole(&dst.join(n), want, *len);
        }
    }
    for n in &arrived {
        assert!(
            files.iter().any(|(f, _, _)| f == n),
            "unexpected {n:?} on the host"
        );
    }
    // The source is intact.
    assert_eq!(
        names(&src),
        files
            .iter()
            .map(|(n, _, _)| n.clone())
            .collect::<BTreeSet<_>>()
    );
    for (n, want, len) in &files {
        if want.is_some() {
            assert_whole(&src.join(n), want, *len);
        } else {
            assert_eq!(fs::metadata(src.join(n)).unwrap().len(), *len);
        }
    }
}

#[test]
fn killing_mavfsctl_cancels_its_job() {
    let m = slow_mount();
    let src = m.vram().join("big");
    let files = make_big_tree(&src, 8, 2 * MIB, 4, 1 << 30);
    let mut child = ctl(&["--mount", s(m.mnt()), "push", "-q", "/vram/big", "/vdisk/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    until_copying(m.disk_dir());
    child.kill().unwrap();
    let status = wait_child(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed: {status:?}");
    // Closing the control file cancels the job, which then cleans up after itself.
    let dst = m.host("big");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let left = tmp_leftovers(m.disk_dir());
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < end, "temporaries still there: {left:?}");
        thread::sleep(Duration::from_millis(50));
    }
    // The job stopped: what arrived stays as it is, and is whole.
    let arrived = if dst.exists() {
        names(&dst)
    } else {
        BTreeSet::new()
    };
    thread::sleep(Duration::from_millis(500));
    let later = if dst.exists() {
        names(&dst)
    } else {
        BTreeSet::new()
    };
    assert_eq!(arrived, later, "the job went on after its client died");
    assert!(arrived.len() < files.len(), "the job was not cancelled");
    assert_eq!(tmp_leftovers(m.disk_dir()), Vec::<PathBuf>::new());
    for (n, want, len) in &files {
        if arrived.contains(n) {
            assert_whole(&dst.join(n), want, *len);
        }
    }
    // The mount takes the next job.
    succeeded(&m.ctl(&["push", "-q", "/vram/big/d0", "/vdisk/d0-again"]));
}

#[test]
fn a_leftover_temporary_is_never_shown() {
    let m = mount(&[]);
    // As a killed daemon would leave them on the host.
    let leftover = format!("{TMP_PREFIX}9.1");
    fs::create_dir(m.host("t")).unwrap();
    fs::write(m.host(&leftover), b"half").unwrap();
    fs::write(m.host(&format!("t/{leftover}")), b"half").unwrap();
    fs::write(m.host("t/real"), b"real").unwrap();

    assert_eq!(names(&m.vdisk()), set(&["t"]));
    assert_eq!(names(&m.vdisk().join("t")), set(&["real"]));
    assert!(!ls_a(&m.vdisk().join("t")).contains(&leftover));
    assert_eq!(
        err(fs::symlink_metadata(m.vdisk().join(&leftover))),
        libc::ENOENT
    );
    let st = m.stats();
    assert_eq!(st["vdisk"]["files"], 1, "{st}");
    assert_eq!(st["vdisk"]["bytes"], 4, "{st}");
    // A copy of the tree leaves it behind.
    succeeded(&m.ctl(&["pull", "-q", "/vdisk/t", "/vram/"]));
    assert_eq!(names(&m.vram().join("t")), set(&["real"]));
    let st = m.stats();
    assert_eq!(st["vram"]["files"], 1, "{st}");
}

#[test]
fn a_copy_cannot_name_a_temporary() {
    let m = mount(&[]);
    let leftover = format!("{TMP_PREFIX}9.1");
    fs::write(m.host(&leftover), b"half").unwrap();
    fs::write(m.vram().join("x"), b"x").unwrap();
    // Pulling a leftover by name would show it as a real file.
    let o = m.ctl(&["pull", &format!("/vdisk/{leftover}"), "/vram/shown"]);
    failed(&o, 1, &[&leftover]);
    assert_eq!(names(&m.vram()), set(&["x"]));
    // A copy to a temporary name would land where nobody can see it.
    let o = m.ctl(&["push", "/vram/x", &format!("/vdisk/{TMP_PREFIX}1.1")]);
    failed(&o, 1, &[TMP_PREFIX]);
    assert_eq!(names(m.disk_dir()), set(&[&leftover]));
}
