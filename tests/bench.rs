//! `mavfsctl bench` against a real mount: its JSON and table, its refusals, and that it
//! leaves nothing behind, whether it finishes or is interrupted.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const SCRATCH_PREFIX: &str = ".mavfs-bench.";
const SMALL: [&str; 6] = ["--size", "4096", "--iters", "5", "--files", "20"];
/// Every figure of a column, as `--help` documents them.
const FIGURES: [&str; 7] = [
    "seq_write",
    "seq_read",
    "create_per_s",
    "stat_per_s",
    "unlink_per_s",
    "rand_read_iops",
    "rand_write_iops",
];

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `mavfsctl --mount MNT bench ARGS`, run from `/` with no `MAVFS_MOUNT`.
fn bench_cmd(m: &TestMount, args: &[&str]) -> Command {
    let mut c = Command::new(CTL_BIN);
    c.arg("--mount")
        .arg(m.mnt())
        .arg("bench")
        .args(args)
        .env_remove("MAVFS_MOUNT")
        .current_dir("/")
        .stdin(Stdio::null());
    c
}

fn bench(m: &TestMount, args: &[&str]) -> Out {
    let o = bench_cmd(m, args).output().expect("run mavfsctl");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn dir_arg(label: &str, dir: &Path) -> String {
    format!("{label}={}", dir.display())
}

/// Scratch directories left in `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(SCRATCH_PREFIX))
        .map(|e| e.path())
        .collect()
}

fn assert_nothing_left(m: &TestMount, host: &Path) {
    for dir in [m.vram(), m.vdisk(), m.disk_dir().to_path_buf(), host.into()] {
        assert_eq!(
            leftovers(&dir),
            Vec::<PathBuf>::new(),
            "in {}",
            dir.display()
        );
    }
}

/// The one line `mavfsctl: ...` on stderr.
fn one_line_error(o: &Out) -> &str {
    let line = o
        .stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("stderr is not one line: {o:?}"));
    assert!(
        !line.contains('\n') && line.starts_with("mavfsctl: "),
        "stderr is not one `mavfsctl: ...` line: {o:?}"
    );
    line
}

/// Every number under `v`, with where it is.
fn numbers(v: &Value, at: &str, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => out.push((at.to_owned(), n.as_f64().unwrap())),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, v)| numbers(v, &format!("{at}.{k}"), out)),
        _ => {}
    }
}

fn json_run_reports_three_columns_and_leaves_nothing(m: &TestMount) {
    let host = tempfile::tempdir().unwrap();
    let mut args = SMALL.to_vec();
    let d = dir_arg("host", host.path());
    args.extend(["--dir", &d, "--json"]);
    let o = bench(m, &args);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(o.stderr, "");
    let r: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    assert_eq!(
        [&r["size"], &r["iters"], &r["files"]],
        [4096, 5, 20],
        "{r:#}"
    );

    let cols = r["columns"].as_array().expect("columns");
    let want = [
        ("vram", m.vram()),
        ("vdisk", m.vdisk()),
        ("host", host.path().canonicalize().unwrap()),
    ];
    assert_eq!(cols.len(), want.len(), "{r:#}");
    for (c, (label, path)) in cols.iter().zip(&want) {
        assert_eq!(c["label"], *label);
        assert_eq!(c["path"], path.to_str().unwrap());
        for f in FIGURES {
            assert!(!c[f].is_null(), "{label} has no {f}: {c:#}");
        }
        for side in ["seq_write", "seq_read"] {
            let mut keys: Vec<&str> = c[side]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, ["mb_s", "p50_us", "p99_us"], "{label}.{side}");
        }
        let mut nums = Vec::new();
        numbers(c, label, &mut nums);
        assert_eq!(nums.len(), 11, "{c:#}");
        for (at, v) in nums {
            assert!(v.is_finite() && v > 0.0, "{at} = {v}");
        }
    }
    assert_nothing_left(m, host.path());
}

#[test]
fn json_run_on_memory_reports_three_columns_and_leaves_nothing() {
    json_run_reports_three_columns_and_leaves_nothing(&TestMount::memory());
}

#[test]
fn json_run_on_redis_reports_three_columns_and_leaves_nothing() {
    json_run_reports_three_columns_and_leaves_nothing(&TestMount::redis());
}

#[test]
fn table_has_a_column_per_target_and_a_row_per_metric() {
    let m = TestMount::memory();
    let host = tempfile::tempdir().unwrap();
    let mut args = SMALL.to_vec();
    let d = dir_arg("host", host.path());
    args.extend(["--dir", &d]);
    let o = bench(&m, &args);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(o.stderr, "");
    let header = o
        .stdout
        .lines()
        .find(|l| l.starts_with("metric"))
        .unwrap_or_else(|| panic!("no header: {}", o.stdout));
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["metric", "vram", "vdisk", "host"]
    );
    for row in [
        "seq write p50",
        "seq write p99",
        "seq write",
        "seq read p50",
        "seq read p99",
        "seq read",
        "create",
        "stat",
        "unlink",
        "rand read 4K",
        "rand write 4K",
    ] {
        // The metric column is padded, so a row's name is followed by spaces.
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{row}  ")))
            .unwrap_or_else(|| panic!("no row {row:?}: {}", o.stdout));
        // The second and third columns carry their ratio to the first.
        assert_eq!(line.matches("×)").count(), 2, "{line}");
    }
    assert_nothing_left(&m, host.path());
}

/// A scratch directory in `dir` that already holds more than `n` entries.
fn busy_scratch(dir: &Path, n: usize) -> bool {
    leftovers(dir).iter().any(|s| {
        fs::read_dir(s)
            .map(|entries| entries.take(n + 1).count() > n)
            .unwrap_or(false)
    })
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    wait_timeout(child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("mavfsctl bench still running after {limit:?}");
    })
}

#[test]
fn sigint_mid_run_exits_130_and_leaves_nothing() {
    let m = TestMount::memory();
    let host = tempfile::tempdir().unwrap();
    let d = dir_arg("host", host.path());
    let mut child = bench_cmd(&m, &["--files", "200000", "--dir", &d])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt it while it creates files in vram/: there is a populated directory to remove.
    let end = Instant::now() + Duration::from_secs(60);
    while !busy_scratch(&m.vram(), 100) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "bench ended before it was interrupted"
        );
        assert!(Instant::now() < end, "no scratch directory filled in vram/");
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = wait_exit(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let o = Out {
        code: status.code(),
        stdout: String::new(),
        stderr,
    };
    assert_eq!(o.code, Some(130), "{o:?}");
    assert!(one_line_error(&o).contains("interrupted"), "{o:?}");
    assert_nothing_left(&m, host.path());
}

#[test]
fn a_bad_dir_is_one_line_and_leaves_nothing() {
    let m = TestMount::memory();
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("file");
    fs::write(&file, b"").unwrap();
    let missing = dir_arg("host", &host.path().join("missing"));
    let not_dir = dir_arg("host", &file);
    let twice = dir_arg("vdisk", host.path());
    let cases = [
        ("noequals", "LABEL=PATH"),
        ("host=", "LABEL=PATH"),
        ("=/tmp", "LABEL=PATH"),
        (missing.as_str(), "No such file"),
        (not_dir.as_str(), "not a directory"),
        (twice.as_str(), "given twice"),
    ];
    for (arg, why) in cases {
        let mut args = SMALL.to_vec();
        args.extend(["--dir", arg]);
        let o = bench(&m, &args);
        assert_eq!(o.code, Some(1), "--dir {arg}: {o:?}");
        assert!(one_line_error(&o).contains(why), "--dir {arg}: {o:?}");
        assert_eq!(o.stdout, "");
        assert_nothing_left(&m, host.path());
    }
}

#[test]
fn zero_counts_are_usage_errors() {
    let m = TestMount::memory();
    for args in [["--iters", "0"], ["--files", "0"], ["--size", "0"]] {
        let o = bench(&m, &args);
        assert_eq!(o.code, Some(2), "{args:?}: {o:?}");
        assert!(o.stderr.contains(args[0]), "{args:?}: {o:?}");
    }
}
