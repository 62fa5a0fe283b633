//! `--metrics-addr`: the daemon's counters as a Prometheus text endpoint (`GET /metrics`).
//!
//! Metrics are read from the counters at each scrape (a `Collector`), so serving them costs
//! the hot path nothing. The encoding is prometheus-client's; the HTTP side is the least a
//! scraper needs: one GET per connection, answered and closed.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use log::{debug, warn};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::control::protocol::Progress;
use crate::control::server::Control;
use crate::counters::{bucket_bound, errno_name, KindTotals, Totals, BUCKETS, OP_KINDS, PLACES};
use crate::ram::is_unlimited;

/// Everything the endpoint shows, read when scraped. Weak: the endpoint must not keep the
/// file system (and its store's session) alive after the unmount.
struct Scrape(Weak<Control>);

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrape")
    }
}

type Labels = Vec<(&'static str, String)>;
type ProgressField = fn(&Progress) -> u64;

fn tier_op(tier: &str, op: &str) -> Labels {
    vec![("tier", tier.to_owned()), ("op", op.to_owned())]
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(control) = self.0.upgrade() else {
            return Ok(());
        };
        let counters = control.counters();
        let totals: Vec<_> = PLACES
            .iter()
            .map(|&p| (p.name(), counters.totals(p)))
            .collect();

        per_kind(
            &mut enc,
            &totals,
            "mavfs_ops",
            "Operations served, per tier and kind of operation",
            |c| c.ops,
        )?;
        per_kind(
            &mut enc,
            &totals,
            "mavfs_bytes",
            "Bytes read or written, per tier and operation (read, write: through FUSE; job_read, job_write: by push and pull)",
            |c| c.bytes,
        )?;

        let mut m = enc.encode_descriptor(
            "mavfs_errors",
            "Failed operations, per tier and errno (a missing name is not counted)",
            None,
            MetricType::Counter,
        )?;
        for (tier, t) in &totals {
            for &(e, n) in &t.errnos {
                let labels: Labels = vec![("tier", (*tier).to_owned()), ("errno", errno_name(e))];
                ConstCounter::new(n).encode(m.encode_family(&labels)?)?;
            }
        }

        let mut m = enc.encode_descriptor(
            "mavfs_op_duration_seconds",
            "Time to serve an operation in the daemon, per tier and kind of operation",
            None,
            MetricType::Histogram,
        )?;
        for (tier, t) in &totals {
            for &k in OP_KINDS {
                let c = t.kind(k);
                if c.ops == 0 {
                    continue;
                }
                let buckets: Vec<(f64, u64)> = (0..BUCKETS)
                    .map(|i| (bucket_bound(i), c.buckets[i]))
                    .collect();
                let labels = tier_op(tier, k.name());
                // The count from the buckets themselves, so that it equals the +Inf bucket
                // even while operations are being added.
                let count = c.buckets.iter().sum();
                m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    c.nanos as f64 / 1e9,
                    count,
                    &buckets,
                    None,
                )?;
            }
        }

        let u = control.store().usage();
        gauge(
            &mut enc,
            "mavfs_vram_used_bytes",
            "Bytes of file data in vram",
            u.bytes,
        )?;
        gauge(&mut enc, "mavfs_vram_files", "Files in vram", u.files)?;
        let dirs = u.dirs_inside();
        gauge(&mut enc, "mavfs_vram_dirs", "Directories in vram", dirs)?;
        if !is_unlimited(u.limit) {
            gauge(
                &mut enc,
                "mavfs_vram_limit_bytes",
                "The vram limit",
                u.limit,
            )?;
        }

        if let Some(p) = control.policy_stats() {
            for (name, help, v) in [
                (
                    "mavfs_policy_demoted_files",
                    "Files the policy moved to vdisk",
                    p.demoted,
                ),
                (
                    "mavfs_policy_persisted_files",
                    "Durable copies the policy made",
                    p.persisted,
                ),
                (
                    "mavfs_policy_deleted_files",
                    "Scratch files the policy removed",
                    p.deleted,
                ),
                (
                    "mavfs_policy_copied_bytes",
                    "Bytes the policy copied to vdisk",
                    p.moved_bytes,
                ),
            ] {
                let m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
                ConstCounter::new(v).encode(m)?;
            }
            gauge(
                &mut enc,
                "mavfs_policy_dirty_files",
                "Files waiting for their durable copy",
                p.dirty_files,
            )?;
            gauge(
                &mut enc,
                "mavfs_policy_dirty_bytes",
                "Bytes waiting for their durable copy",
                p.dirty_bytes,
            )?;
            gauge(
                &mut enc,
                "mavfs_policy_dirty_age_seconds",
                "Age of the oldest change without a durable copy",
                p.dirty_age_secs.unwrap_or(0),
            )?;
        }

        let jobs = control.jobs();
        gauge(
            &mut enc,
            "mavfs_jobs_running",
            "Push and pull jobs running",
            jobs.len() as u64,
        )?;
        let progress: [(&str, &str, ProgressField); 4] = [
            (
                "mavfs_job_done_bytes",
                "Bytes a running job has copied",
                |p| p.bytes_done,
            ),
            (
                "mavfs_job_total_bytes",
                "Bytes a running job copies in all",
                |p| p.bytes_total,
            ),
            (
                "mavfs_job_done_files",
                "Files a running job has copied",
                |p| p.files_done,
            ),
            (
                "mavfs_job_total_files",
                "Files a running job copies in all",
                |p| p.files_total,
            ),
        ];
        for (name, help, field) in progress {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for j in &jobs {
                let labels: Labels = vec![
                    ("job", j.id.to_string()),
                    ("op", j.op.clone()),
                    ("src", j.src.clone()),
                    ("dst", j.dst.clone()),
                ];
                ConstGauge::new(field(&j.progress) as i64).encode(m.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// A counter per tier and kind of operation, for the kinds where it is not 0.
fn per_kind(
    enc: &mut DescriptorEncoder,
    totals: &[(&str, Totals)],
    name: &str,
    help: &str,
    value: fn(&KindTotals) -> u64,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (tier, t) in totals {
        for &k in OP_KINDS {
            let v = value(t.kind(k));
            if v > 0 {
                let labels = tier_op(tier, k.name());
                ConstCounter::new(v).encode(m.encode_family(&labels)?)?;
            }
        }
    }
    Ok(())
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v.min(i64::MAX as u64) as i64).encode(m)
}

/// The endpoint's listener, bound at mount time so that a bad address is the mount's error.
pub struct Endpoint {
    listener: TcpListener,
    registry: Arc<Registry>,
}

impl Endpoint {
    pub fn bind(addr: SocketAddr, control: &Arc<Control>) -> Result<Endpoint, String> {
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape(Arc::downgrade(control))));
        Ok(Endpoint {
            listener,
            registry: Arc::new(registry),
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves scrapes on a thread of its own, one at a time (a scraper asks rarely).
    pub fn spawn(self) -> io::Result<()> {
        std::thread::Builder::new()
            .name("mavfs-metrics".into())
            .spawn(move || {
                let mut failing = false;
                for conn in self.listener.incoming() {
                    match conn {
                        Ok(s) => {
                            failing = false;
                            if let Err(e) = answer(s, &self.registry) {
                                debug!("metrics: {e}");
                            }
                        }
                        Err(e) => {
                            // Out of fds, say: it fails again at once. Log once, pause.
                            if !failing {
                                warn!("metrics: accept: {e}");
                            }
                            failing = true;
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })
            .map(|_| ())
    }
}

/// The request head: up to its blank line, 16 KiB, or 5 s, whichever comes first, so that a
/// client that never finishes its request cannot hold the endpoint.
fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head too slow",
            ));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    Ok(head)
}

/// Reads one request head and answers it.
fn answer(mut stream: TcpStream, registry: &Registry) -> io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let head = read_head(&mut stream)?;
    let first = String::from_utf8_lossy(head.split(|&b| b == b'\n').next().unwrap_or(&[]));
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => {
            let mut body = String::new();
            prometheus_client::encoding::prometheus_text::encode(&mut body, registry)
                .map_err(|_| io::Error::other("encoding the metrics failed"))?;
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
        }
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "not found: the metrics are at /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET is served\n".to_owned(),
        ),
    };
    let mut head = String::new();
    let _ = write!(
        head,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = stream;
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    out.flush()
}
