//! `mavfsctl stats` as text.

use indicatif::HumanBytes;
use mavfs::control::protocol::{self, Stats};

use super::{policy, printable};

pub fn print_stats(s: &Stats) {
    println!(
        "{:<8} {:>10} {:>8} {:>12} {:>12} {:>12} {:>12}",
        "tier", "files", "dirs", "bytes", "ops", "read", "written"
    );
    for (name, t) in [("vram", &s.vram), ("vdisk", &s.vdisk)] {
        println!(
            "{:<8} {:>10} {:>8} {:>12} {:>12} {:>12} {:>12}",
            name,
            t.files,
            t.dirs,
            HumanBytes(t.bytes).to_string(),
            t.ops,
            HumanBytes(t.read_bytes).to_string(),
            HumanBytes(t.write_bytes).to_string()
        );
    }
    // A store without a limit reports the largest number there is.
    let limit = if mavfs::ram::is_unlimited(s.vram_limit) {
        "no limit".to_owned()
    } else {
        let pct = if s.vram_limit > 0 {
            (s.vram_used + s.vram_meta) as f64 * 100.0 / s.vram_limit as f64
        } else {
            0.0
        };
        format!("{} ({pct:.1} %)", HumanBytes(s.vram_limit))
    };
    println!();
    println!(
        "vram     {} used (+ {} metadata) of {limit}, backend {}",
        HumanBytes(s.vram_used),
        HumanBytes(s.vram_meta),
        s.backend
    );
    if let Some(m) = s.backend_memory {
        println!("         backend memory {}", HumanBytes(m));
    }
    if !s.backend_state.is_empty() {
        let rtt = s
            .backend_rtt_us
            .map(|us| format!(", round trip {us} µs"))
            .unwrap_or_default();
        println!("         backend {}{rtt}", s.backend_state);
    }
    for line in cluster_lines(&s.cluster) {
        println!("         {line}");
    }
    println!(
        "vdisk    {} ({} free of {})",
        s.disk_dir,
        HumanBytes(s.disk_free),
        HumanBytes(s.disk_total)
    );
    println!("daemon   {} resident", HumanBytes(s.daemon_rss));
    if let Some(n) = s.uring_requests {
        println!("         {n} requests served over io_uring");
    }
    println!("uptime   {} s", s.uptime_secs);
    if let Some(snap) = &s.snapshot {
        let changed = if snap.changed_since {
            "vram/ changed since"
        } else {
            "no change since"
        };
        if snap.last.is_empty() {
            println!("snapshot none yet in {}; {changed}", snap.dir);
        } else {
            println!(
                "snapshot {}, {} s old ({} in {:.2} s); {changed}",
                snap.last,
                snap.last_age_secs,
                HumanBytes(snap.last_bytes),
                snap.last_took_secs
            );
        }
        if !snap.failed.is_empty() {
            println!("snapshot the last save failed: {}", snap.failed);
        }
    }
    if let Some(p) = &s.policy {
        policy::print_stats(p);
    }
    print_ops(s);
    if s.verified_bytes > 0 {
        println!(
            "verified {} read back and found equal since the mount",
            HumanBytes(s.verified_bytes)
        );
    }
    for j in &s.jobs {
        let p = &j.progress;
        println!(
            "job {}   {} {} -> {}: {} of {}, {} of {} files",
            j.id,
            j.op,
            printable(&j.src),
            printable(&j.dst),
            HumanBytes(p.bytes_done),
            HumanBytes(p.bytes_total),
            p.files_done,
            p.files_total
        );
    }
}

/// A cluster's masters, a line each after a heading: memory, keys, replicas, and this
/// prefix's slices with their share of its bytes (`meta`: it serves the metadata).
pub fn cluster_lines(nodes: &[mavfs::ram::NodeStats]) -> Vec<String> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let total: u64 = nodes.iter().map(|n| n.slice_bytes).sum();
    let mut out = vec![format!(
        "{:<21} {:>9} {:>8} {:>4} {:>8} {:>9} {:>6}",
        "cluster node", "memory", "keys", "repl", "slices", "bytes", "share"
    )];
    for n in nodes {
        let share = if total > 0 {
            n.slice_bytes as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        out.push(format!(
            "{:<21} {:>9} {:>8} {:>4} {:>8} {:>9} {:>5.1}%{}",
            n.addr,
            HumanBytes(n.used_memory).to_string(),
            n.keys,
            n.replicas,
            n.slices,
            HumanBytes(n.slice_bytes).to_string(),
            share,
            if n.metadata { "  meta" } else { "" }
        ));
    }
    out
}

/// Operations per kind on each tier since the mount, with latency, then errors by errno.
fn print_ops(s: &Stats) {
    let kinds: std::collections::BTreeSet<&String> =
        s.vram.by_op.keys().chain(s.vdisk.by_op.keys()).collect();
    if kinds.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<12} {:>10} {:>9} {:>9}   {:>10} {:>9} {:>9}",
        "op", "vram ops", "mean", "p99 <", "vdisk ops", "mean", "p99 <"
    );
    let cells = |t: &protocol::TierStats, k: &String| match t.by_op.get(k) {
        Some(o) => (
            o.ops.to_string(),
            format!("{:.0} µs", o.mean_us),
            format!("{:.0} µs", o.p99_us),
        ),
        None => ("-".into(), "".into(), "".into()),
    };
    for k in kinds {
        let (a, b, c) = cells(&s.vram, k);
        let (d, e, f) = cells(&s.vdisk, k);
        println!("{k:<12} {a:>10} {b:>9} {c:>9}   {d:>10} {e:>9} {f:>9}");
    }
    for (name, t) in [("vram", &s.vram), ("vdisk", &s.vdisk)] {
        if !t.errors_by_errno.is_empty() {
            let list: Vec<String> = t
                .errors_by_errno
                .iter()
                .map(|(e, n)| format!("{e} {n}"))
                .collect();
            println!("errors {name}: {}", list.join(", "));
        }
    }
}
