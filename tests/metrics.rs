//! The daemon's counters, through `mavfsctl stats --json` and the `--metrics-addr`
//! Prometheus endpoint, after a known workload on a real mount.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const MIB: usize = 1 << 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// `mavfsctl --mount MOUNT ARGS...`, which must succeed; its standard output.
fn ctl(m: &TestMount, args: &[&str]) -> Vec<u8> {
    let out = Command::new(CTL_BIN)
        .args(["--mount", m.mnt().to_str().unwrap()])
        .args(args)
        .output()
        .expect("run mavfsctl");
    assert!(
        out.status.success(),
        "mavfsctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn stats_json(m: &TestMount) -> Value {
    serde_json::from_slice(&ctl(m, &["stats", "--json"])).expect("stats JSON")
}

/// `name{labels} value` lines -> value, keyed by `name{labels}` as printed.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// The same workload each time: on vram 3 mkdirs, 5 creates, 1 MiB written, 1 failed
/// rmdir (ENOTEMPTY: the kernel cannot answer it from its cache), 2 unlinks; on vdisk 2
/// mkdirs.
fn workload(m: &TestMount) {
    let v = m.vram();
    for d in ["a", "b", "c"] {
        fs::create_dir(v.join(d)).unwrap();
    }
    for i in 0..5 {
        fs::File::create(v.join("a").join(format!("f{i}"))).unwrap();
    }
    fs::write(v.join("a/f0"), vec![7u8; MIB]).unwrap();
    assert_eq!(err(fs::remove_dir(v.join("a"))), libc::ENOTEMPTY);
    fs::remove_file(v.join("a/f1")).unwrap();
    fs::remove_file(v.join("a/f2")).unwrap();
    fs::create_dir(m.vdisk().join("x")).unwrap();
    fs::create_dir(m.vdisk().join("y")).unwrap();
}

#[test]
fn metrics_endpoint_counts_a_known_workload_per_tier_and_kind() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let m = TestMount::with_args(&["--metrics-addr", &addr]);
    workload(&m);
    let (status, body) = http_get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let s = samples(&body);
    let get = |k: &str| {
        s.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in:\n{body}"))
    };
    assert_eq!(get(r#"mavfs_ops_total{tier="vram",op="mkdir"}"#), 3.0);
    assert_eq!(get(r#"mavfs_ops_total{tier="vram",op="rmdir"}"#), 1.0);
    assert_eq!(get(r#"mavfs_ops_total{tier="vdisk",op="mkdir"}"#), 2.0);
    assert_eq!(get(r#"mavfs_ops_total{tier="vram",op="create"}"#), 5.0);
    assert_eq!(get(r#"mavfs_ops_total{tier="vram",op="unlink"}"#), 2.0);
    assert_eq!(
        get(r#"mavfs_bytes_total{tier="vram",op="write"}"#),
        MIB as f64
    );
    assert_eq!(
        get(r#"mavfs_errors_total{tier="vram",errno="ENOTEMPTY"}"#),
        1.0
    );
    assert!(!s.contains_key(r#"mavfs_ops_total{tier="vdisk",op="create"}"#));
    // The histogram holds every mkdir, and the time they took.
    assert_eq!(
        get(r#"mavfs_op_duration_seconds_count{tier="vram",op="mkdir"}"#),
        3.0
    );
    assert_eq!(
        get(r#"mavfs_op_duration_seconds_bucket{tier="vram",op="mkdir",le="+Inf"}"#),
        3.0
    );
    assert!(get(r#"mavfs_op_duration_seconds_sum{tier="vram",op="mkdir"}"#) > 0.0);
    assert_eq!(get("mavfs_vram_files"), 3.0);
    assert_eq!(get("mavfs_vram_dirs"), 3.0);
    assert_eq!(get("mavfs_vram_used_bytes"), MIB as f64);
    assert_eq!(get("mavfs_jobs_running"), 0.0);
    // Counters only grow: a second scrape after more work shows more.
    fs::create_dir(m.vram().join("d")).unwrap();
    let again = samples(&http_get(port, "/metrics").1);
    assert_eq!(again[r#"mavfs_ops_total{tier="vram",op="mkdir"}"#], 4.0);
    let (status, _) = http_get(port, "/nothing");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[test]
fn stats_json_shows_the_totals_per_kind_and_errno() {
    let m = TestMount::memory();
    workload(&m);
    let v = stats_json(&m);
    assert_eq!(v["vram"]["by_op"]["mkdir"]["ops"], 3);
    assert_eq!(v["vram"]["by_op"]["rmdir"]["errors"], 1);
    assert_eq!(v["vram"]["by_op"]["write"]["bytes"], MIB);
    assert_eq!(v["vram"]["write_bytes"], MIB);
    assert_eq!(v["vram"]["errors_by_errno"]["ENOTEMPTY"], 1);
    assert_eq!(v["vdisk"]["by_op"]["mkdir"]["ops"], 2);
    assert!(v["vram"]["by_op"]["mkdir"]["mean_us"].as_f64().unwrap() > 0.0);
    assert!(v["daemon_rss"].as_u64().unwrap() > 0);
    assert_eq!(v["jobs"], Value::Array(vec![]));
    // The table shows them too.
    let out = ctl(&m, &["stats"]);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("mkdir") && l.split_whitespace().nth(1) == Some("3")),
        "{text}"
    );
    assert!(text.contains("errors vram: ENOTEMPTY 1"), "{text}");
}

#[test]
fn stats_json_shows_redis_round_trip_and_state() {
    let m = TestMount::redis();
    let v = stats_json(&m);
    assert_eq!(v["backend_state"], "up");
    assert!(v["backend_rtt_us"].as_u64().is_some(), "{v}");
    assert!(v["backend_memory"].as_u64().unwrap() > 0);
}

#[test]
fn a_bad_or_taken_metrics_address_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for (arg, want) in [
        ("nonsense", "invalid --metrics-addr 'nonsense'"),
        (addr.as_str(), "--metrics-addr"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mnt, disk) = (dir.path().join("m"), dir.path().join("d"));
        fs::create_dir(&mnt).unwrap();
        let args = [
            mnt.to_str().unwrap(),
            "--disk-dir",
            disk.to_str().unwrap(),
            "--metrics-addr",
            arg,
        ];
        let r = run_mount(&args, default_deadline());
        assert_one_line_error(&r, &args, want);
        assert!(!is_mounted(&mnt));
    }
}

#[test]
fn bytes_a_push_copies_count_on_both_tiers() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let m = TestMount::with_args(&["--metrics-addr", &addr]);
    fs::create_dir(m.vram().join("t")).unwrap();
    fs::write(m.vram().join("t/a"), vec![1u8; 3 * MIB]).unwrap();
    fs::write(m.vram().join("t/b"), vec![2u8; MIB]).unwrap();
    ctl(&m, &["push", "/vram/t", "/vdisk/t", "-q"]);
    let s = samples(&http_get(port, "/metrics").1);
    let pushed = (4 * MIB) as f64;
    assert_eq!(s[r#"mavfs_bytes_total{tier="vram",op="job_read"}"#], pushed);
    assert_eq!(
        s[r#"mavfs_bytes_total{tier="vdisk",op="job_write"}"#],
        pushed
    );
    assert!(!s.contains_key(r#"mavfs_bytes_total{tier="vdisk",op="job_read"}"#));
    let v = stats_json(&m);
    assert_eq!(v["vdisk"]["write_bytes"], 4 * MIB);
    // Nothing read vram through FUSE: all of its read bytes are the push's.
    assert_eq!(v["vram"]["read_bytes"], 4 * MIB);
}

#[test]
fn the_policy_shows_in_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    fs::write(
        &policy,
        "[[rule]]\npath = \"/vram/tmp\"\ndelete_after = \"30m\"\n[[rule]]\npath = \"/vram/out\"\npersist_after = \"1h\"\n",
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let m = TestMount::with_args(&[
        "--metrics-addr",
        &addr,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let v = m.vram();
    fs::create_dir(v.join("tmp")).unwrap();
    fs::create_dir(v.join("out")).unwrap();
    fs::write(v.join("tmp/old"), b"x").unwrap();
    fs::write(v.join("out/new"), b"12345").unwrap();
    utimens(&v.join("tmp/old"), (1, 0), (1, 0), 0).unwrap();
    let deleted = || {
        samples(&http_get(port, "/metrics").1)
            .get("mavfs_policy_deleted_files_total")
            .copied()
    };
    assert!(until(std::time::Duration::from_secs(20), || deleted()
        == Some(1.0))
    .is_some());
    let s = samples(&http_get(port, "/metrics").1);
    assert_eq!(
        s["mavfs_policy_dirty_files"], 1.0,
        "out/new waits (1 h bound)"
    );
    assert_eq!(s["mavfs_policy_dirty_bytes"], 5.0);
    assert_eq!(s["mavfs_policy_demoted_files_total"], 0.0);
}
