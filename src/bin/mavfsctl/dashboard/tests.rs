//! The dashboard drawn on an 80x24 test terminal.
use super::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const MIB: u64 = 1 << 20;

/// vram: 3 files, 1 directory, 5 MiB of a 64 MiB limit on Redis, which is up.
fn redis_stats() -> Stats {
    Stats {
        vram: TierStats {
            files: 3,
            dirs: 1,
            bytes: 5 * MIB,
            ops: 100,
            read_bytes: 1_000_000,
            ..TierStats::default()
        },
        vdisk: TierStats {
            files: 2,
            dirs: 1,
            bytes: 10 * MIB,
            blocks_bytes: 12 * MIB,
            ..TierStats::default()
        },
        backend: "redis://127.0.0.1:6379/0".into(),
        vram_limit: 64 * MIB,
        vram_used: 5 * MIB,
        vram_meta: 4096,
        backend_memory: Some(2 * MIB),
        backend_rtt_us: Some(250),
        backend_state: "up".into(),
        daemon_rss: 30 * MIB,
        disk_dir: "/var/tmp/d".into(),
        disk_free: 100 * 1024 * MIB,
        disk_total: 200 * 1024 * MIB,
        uptime_secs: 3725,
        snapshot: None,
        policy: None,
        jobs: vec![JobInfo {
            id: 1,
            op: "push".into(),
            src: "/vram/data".into(),
            dst: "/vdisk/data".into(),
            progress: Progress {
                bytes_done: 5 * MIB,
                bytes_total: 10 * MIB,
                files_done: 1,
                files_total: 2,
                elapsed_ms: 1000,
                verified_bytes: 3 * MIB,
            },
            state: "running".into(),
            phase: "copying".into(),
            move_source: false,
            verify: true,
        }],
        verified_bytes: 3 * MIB,
        cluster: Vec::new(),
        uring_requests: None,
    }
}

fn memory_stats() -> Stats {
    Stats {
        backend: "memory".into(),
        vram_limit: u64::MAX,
        backend_memory: None,
        backend_rtt_us: None,
        backend_state: String::new(),
        jobs: Vec::new(),
        ..redis_stats()
    }
}

/// The 80×24 screen as text, one string a row.
fn screen(d: &Dashboard) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    term.draw(|f| d.render(f)).unwrap();
    let buf = term.backend().buffer();
    buf.content()
        .chunks(usize::from(buf.area.width))
        .map(|row| row.iter().map(|c| c.symbol()).collect())
        .collect()
}

fn row_with<'a>(rows: &'a [String], needle: &str) -> &'a str {
    rows.iter()
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no row holds {needle:?}:\n{}", rows.join("\n")))
}

/// Two polls one second apart; vram read 10 MB in between.
fn redis_dashboard() -> Dashboard {
    let mut d = Dashboard::new("/mnt/m".into());
    let t0 = Instant::now();
    let first = redis_stats();
    let mut second = redis_stats();
    second.vram.read_bytes += 10_000_000;
    second.vram.ops += 50;
    d.update(t0, Ok(first));
    d.update(t0 + Duration::from_secs(1), Ok(second));
    d
}

#[test]
fn tiers_show_counts_logical_bytes_and_redis_cost() {
    let rows = screen(&redis_dashboard());
    let vram = row_with(&rows, "vram  ");
    for want in ["3", "1", "5.00 MiB", "redis 2.00 MiB", "512.00 KiB/inode"] {
        assert!(vram.contains(want), "{want:?} missing from {vram:?}");
    }
    let vdisk = row_with(&rows, "vdisk   ");
    assert!(vdisk.contains("10.00 MiB") && vdisk.contains("12.00 MiB allocated"));
    let fill = row_with(&rows, "vram fill");
    assert!(fill.contains("5.00 MiB of 64.00 MiB (7.8 %)"), "{fill}");
    assert!(fill.contains('█'), "the gauge is drawn: {fill}");
    let header = &rows[0];
    assert!(header.contains("/mnt/m") && header.contains("redis://127.0.0.1:6379/0"));
    assert!(header.contains("up 1:02:05"), "{header}");
    assert!(rows[23].contains("q quit"));
}

#[test]
fn rates_come_from_the_growth_between_polls() {
    let d = redis_dashboard();
    let [vram, vdisk] = d.rates().unwrap();
    assert_eq!(vram.read, 10_000_000.0);
    assert_eq!(vram.ops, 50.0);
    assert_eq!(vdisk, Rates::default());
    let rows = screen(&d);
    assert!(row_with(&rows, "vram  read").contains("10.0 MB/s"));
    let read = row_with(&rows, "vram  read");
    assert!(
        read.trim_end_matches('│').ends_with('█'),
        "newest at the right: {read}"
    );
    assert!(rows
        .iter()
        .any(|r| r.contains("ops") && r.contains("50 ops/s")));
}

#[test]
fn history_keeps_one_minute() {
    let mut d = Dashboard::new("/mnt/m".into());
    let t0 = Instant::now();
    for i in 0..200 {
        d.update(t0 + Duration::from_secs(i), Ok(redis_stats()));
    }
    assert!((60..=61).contains(&d.history.len()), "{}", d.history.len());
    assert_eq!(squeeze(&[1, 5, 2, 2, 9, 1], 3), vec![5, 2, 9]);
    assert_eq!(squeeze(&[1, 2], 5), vec![1, 2]);
}

#[test]
fn running_job_shows_paths_progress_rate_and_eta() {
    let rows = screen(&redis_dashboard());
    let first = row_with(&rows, "/vram/data → /vdisk/data");
    assert!(first.contains("50 %") && first.contains("push"), "{first}");
    assert!(first.contains("3.00 MiB verified"), "{first}");
    let second = row_with(&rows, "ETA");
    for want in [
        "5.00 MiB of 10.00 MiB",
        "1 of 2 files",
        "5.2 MB/s",
        "ETA 0:00:01",
    ] {
        assert!(second.contains(want), "{want:?} missing from {second:?}");
    }
}

#[test]
fn the_policy_shows_what_it_did_and_what_waits() {
    let mut s = memory_stats();
    s.policy = Some(PolicyStats {
        rules: 2,
        demoted: 7,
        persisted: 3,
        deleted: 1,
        moved_bytes: 12 * MIB,
        dirty_files: 2,
        dirty_bytes: 5 * MIB,
        dirty_age_secs: Some(4),
        last_error: String::new(),
    });
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(s));
    let rows = screen(&d);
    let line = row_with(&rows, "policy");
    for want in ["demoted 7", "persisted 3", "deleted 1", "12.00 MiB copied"] {
        assert!(line.contains(want), "{want:?} missing from {line:?}");
    }
    let dirty = row_with(&rows, "dirty");
    assert!(
        dirty.contains("2 files (5.00 MiB), oldest change 4 s ago"),
        "{dirty}"
    );
    assert!(rows.iter().any(|r| r.contains("no jobs running")));
}

#[test]
fn redis_round_trip_and_state_show() {
    let rows = screen(&redis_dashboard());
    let line = row_with(&rows, "rtt");
    assert!(line.contains("redis") && line.contains("up") && line.contains("250.0 µs"));
}

#[test]
fn redis_outage_shows_as_unreachable() {
    let mut s = redis_stats();
    s.backend_state = "unreachable: connection refused".into();
    s.backend_rtt_us = None;
    s.backend_memory = None;
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(s));
    let rows = screen(&d);
    row_with(&rows, "redis      unreachable: connection refused");
    assert!(row_with(&rows, "vram  ").contains("counts as last seen; redis down"));
}

#[test]
fn the_daemons_outage_reason_reads_as_unreachable() {
    let mut s = redis_stats();
    s.backend_state = "store unavailable: Redis at 127.0.0.1:6379: Connection refused".into();
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(s));
    let rows = screen(&d);
    row_with(
        &rows,
        "unreachable: Redis at 127.0.0.1:6379: Connection refused",
    );
}

#[test]
fn memory_store_shows_rss_and_no_limit() {
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(memory_stats()));
    let rows = screen(&d);
    assert!(row_with(&rows, "vram  ").contains("daemon RSS 30.00 MiB"));
    assert!(row_with(&rows, "vram fill").contains("5.00 MiB used, no limit"));
    assert!(row_with(&rows, "store").contains("in-process memory"));
    row_with(&rows, "no jobs running");
}

#[test]
fn failed_poll_says_the_mount_is_gone_until_a_good_one() {
    let mut d = redis_dashboard();
    d.update(Instant::now(), Err("no such file".into()));
    let rows = screen(&d);
    row_with(&rows, "mount /mnt/m is gone: no such file");
    assert!(!rows.iter().any(|r| r.contains("vram fill")));
    d.update(Instant::now(), Ok(redis_stats()));
    row_with(&screen(&d), "vram fill");
}

#[test]
fn before_the_first_poll_it_waits() {
    let rows = screen(&Dashboard::new("/mnt/m".into()));
    row_with(&rows, "waiting for stats from /mnt/m");
}

#[test]
fn many_jobs_are_cut_to_fit() {
    let mut s = redis_stats();
    s.jobs = (0..6).map(|_| s.jobs[0].clone()).collect();
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(s));
    let rows = screen(&d);
    row_with(&rows, "... and 4 more");
}

#[test]
fn sizes_and_durations_read_plainly() {
    assert_eq!(size(0), "0 B");
    assert_eq!(size(1023), "1023 B");
    assert_eq!(size(5 * MIB), "5.00 MiB");
    assert_eq!(size(u64::MAX), "16.00 EiB");
    assert_eq!(clock(59), "0:00:59");
    assert_eq!(clock(90061), "1d 1:01:01");
    assert_eq!(micros(1500), "1.50 ms");
}

#[test]
fn a_cluster_shows_each_master_and_its_share() {
    let node = |port: u16, bytes: u64, meta: bool| mavfs::ram::NodeStats {
        addr: format!("127.0.0.1:{port}"),
        used_memory: 3 * MIB,
        keys: 40,
        replicas: 1,
        slices: 10,
        slice_bytes: bytes,
        metadata: meta,
    };
    let mut s = redis_stats();
    s.cluster = vec![
        node(7000, 2 * MIB, true),
        node(7001, MIB, false),
        node(7002, MIB, false),
    ];
    let mut d = Dashboard::new("/mnt/m".into());
    d.update(Instant::now(), Ok(s));
    let rows = screen(&d);
    assert!(row_with(&rows, "redis cluster").contains('─'));
    let first = row_with(&rows, "127.0.0.1:7000");
    assert!(first.contains("50.0%") && first.contains("meta"), "{first}");
    let second = row_with(&rows, "127.0.0.1:7001");
    assert!(
        second.contains("25.0%") && !second.contains("meta"),
        "{second}"
    );
    row_with(&rows, "127.0.0.1:7002");
    // The tiers and jobs are still there.
    row_with(&rows, "vram fill");
    row_with(&rows, "push");
}
