//! `--metrics-addr`: the daemon's counters as a Prometheus text endpoint (`GET /metrics`).
//!
//! Metrics are read from the counters at each scrape (a `Collector`), so serving them costs
//! the hot path nothing. The encoding is prometheus-client's; the HTTP side is the least a
//! scraper needs: one GET per connection, answered and closed.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use log::{debug, warn};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::control::protocol::Progress;
use crate::control::server::Control;
use crate::counters::{bucket_bound, errno_name, BUCKETS, OP_KINDS, PLACES};

/// Everything the endpoint shows, read when scraped.
struct Scrape(Arc<Control>);

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
        let counters = self.0.counters();
        let totals: Vec<_> = PLACES
            .iter()
            .map(|&p| (p.name(), counters.totals(p)))
            .collect();

        let mut m = enc.encode_descriptor(
            "mavfs_ops",
            "Operations served, per tier and kind of operation",
            None,
            MetricType::Counter,
        )?;
        for (tier, t) in &totals {
            for &k in OP_KINDS {
                let c = t.kind(k);
                if c.ops > 0 {
                    let labels = tier_op(tier, k.name());
                    ConstCounter::new(c.ops).encode(m.encode_family(&labels)?)?;
                }
            }
        }

        let mut m = enc.encode_descriptor(
            "mavfs_bytes",
            "Bytes read or written through the daemon, per tier and operation (read, write)",
            None,
            MetricType::Counter,
        )?;
        for (tier, t) in &totals {
            for &k in OP_KINDS {
                let c = t.kind(k);
                if c.bytes > 0 {
                    let labels = tier_op(tier, k.name());
                    ConstCounter::new(c.bytes).encode(m.encode_family(&labels)?)?;
                }
            }
        }

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
                m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    c.nanos as f64 / 1e9,
                    c.ops,
                    &buckets,
                    None,
                )?;
            }
        }

        let u = self.0.store().usage();
        gauge(
            &mut enc,
            "mavfs_vram_used_bytes",
            "Bytes of file data in vram",
            u.bytes,
        )?;
        gauge(&mut enc, "mavfs_vram_files", "Files in vram", u.files)?;
        // The tier's own root is not counted, as in `mavfsctl stats`.
        let dirs = u.dirs.saturating_sub(1);
        gauge(&mut enc, "mavfs_vram_dirs", "Directories in vram", dirs)?;
        if u.limit < u64::MAX / 2 {
            gauge(
                &mut enc,
                "mavfs_vram_limit_bytes",
                "The vram limit",
                u.limit,
            )?;
        }

        let jobs = self.0.jobs();
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
    pub fn bind(addr: SocketAddr, control: Arc<Control>) -> Result<Endpoint, String> {
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape(control)));
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
                for conn in self.listener.incoming() {
                    match conn {
                        Ok(s) => {
                            if let Err(e) = answer(s, &self.registry) {
                                debug!("metrics: {e}");
                            }
                        }
                        Err(e) => warn!("metrics: accept: {e}"),
                    }
                }
            })
            .map(|_| ())
    }
}

/// Reads one request head and answers it.
fn answer(stream: TcpStream, registry: &Registry) -> io::Result<()> {
    // A client that never finishes its request must not hold the endpoint.
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.by_ref().take(8192).read_line(&mut first)?;
    // The rest of the head is not needed, but is read so the client sees a clean close.
    let mut line = String::new();
    while reader.by_ref().take(8192).read_line(&mut line)? > 2 {
        line.clear();
    }
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
