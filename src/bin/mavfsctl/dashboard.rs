//! `mavfsctl dashboard`: the state behind the live view, and how one frame of it is drawn.
//!
//! The binary polls `stats` through the control file ([`fetch_stats`]) and hands each answer,
//! or why there was none, to [`Dashboard::update`]; [`Dashboard::render`] draws the latest
//! state. `stats` holds only running totals, so rates are the totals' growth between two
//! polls over the time between them, kept for [`WINDOW`] for the sparklines. Rendering needs
//! no terminal: the tests draw into ratatui's `TestBackend` and read the text.
//!
//! Invariant: nothing a mount answers (or fails to answer) makes `update` or `render` panic;
//! a failed poll shows as "mount ... is gone" until the next good one.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, RenderDirection, Sparkline, Wrap};
use ratatui::Frame;

use mavfs::control::client::Session;
use mavfs::control::protocol::{
    Answer, JobInfo, Op, Outcome, PolicyStats, Progress, Request, Stats, TierStats, CONTROL_NAME,
    VERSION,
};
use mavfs::ram::is_unlimited;

use crate::units;

/// How far back the sparklines reach.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Width of the label column left of each sparkline.
const RATE_LABEL: u16 = 23;

/// Asks the mount for `stats` once; the error says why there is no answer.
pub fn fetch_stats(mount: &Path) -> Result<Stats, String> {
    let req = Request {
        v: VERSION,
        op: Op::Stats,
    };
    let mut session =
        Session::send(mount, &req).map_err(|e| format!("cannot open {CONTROL_NAME}: {e}"))?;
    loop {
        match session.next_answer() {
            Ok(Some(Answer::Done {
                result: Outcome::Stats(s),
            })) => return Ok(*s),
            Ok(Some(Answer::Running { .. })) => {}
            Ok(Some(Answer::Error { message })) => return Err(message),
            Ok(Some(other)) => return Err(format!("unexpected answer to stats: {other:?}")),
            Ok(None) => return Err("the control file closed without an answer".into()),
            Err(e) => return Err(format!("cannot read {CONTROL_NAME}: {e}")),
        }
    }
}

/// One tier's throughput over one poll interval: bytes/s read and written, operations/s.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub read: f64,
    pub write: f64,
    pub ops: f64,
}

/// A tier's running totals at one poll.
#[derive(Debug, Clone, Copy)]
struct Totals {
    read: u64,
    write: u64,
    ops: u64,
}

impl Totals {
    fn of(t: &TierStats) -> Totals {
        Totals {
            read: t.read_bytes,
            write: t.write_bytes,
            ops: t.ops,
        }
    }

    /// Growth since `before` over `secs`; a daemon restarted in between counts as no growth.
    fn rates_since(&self, before: &Totals, secs: f64) -> Rates {
        let per_s = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
        Rates {
            read: per_s(self.read, before.read),
            write: per_s(self.write, before.write),
            ops: per_s(self.ops, before.ops),
        }
    }
}

/// Rates of both tiers between the previous poll and the one at `at`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    tiers: [Rates; 2],
}

/// The live view's state: the latest stats, the latest failure, and a minute of rates.
pub struct Dashboard {
    mount: PathBuf,
    stats: Option<Stats>,
    /// Why the latest poll failed; cleared by the next good one.
    error: Option<String>,
    /// The previous good poll's time and totals (vram, vdisk), the base of the next rates.
    last: Option<(Instant, [Totals; 2])>,
    /// Oldest first, none older than `WINDOW` before the newest.
    history: VecDeque<Sample>,
}

impl Dashboard {
    pub fn new(mount: PathBuf) -> Dashboard {
        Dashboard {
            mount,
            stats: None,
            error: None,
            last: None,
            history: VecDeque::new(),
        }
    }

    /// Takes one poll's outcome, got at `now`.
    pub fn update(&mut self, now: Instant, stats: Result<Stats, String>) {
        match stats {
            Ok(s) => {
                self.record(now, &s);
                self.stats = Some(s);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The newest rates of vram and vdisk, once two polls have succeeded.
    #[cfg(test)]
    pub fn rates(&self) -> Option<[Rates; 2]> {
        self.history.back().map(|s| s.tiers)
    }

    fn record(&mut self, now: Instant, s: &Stats) {
        let totals = [Totals::of(&s.vram), Totals::of(&s.vdisk)];
        if let Some((then, before)) = self.last {
            let secs = now.saturating_duration_since(then).as_secs_f64();
            if secs > 0.0 {
                let tiers = [0, 1].map(|i| totals[i].rates_since(&before[i], secs));
                self.history.push_back(Sample { at: now, tiers });
            }
        }
        self.last = Some((now, totals));
        while self
            .history
            .front()
            .is_some_and(|f| now.saturating_duration_since(f.at) > WINDOW)
        {
            self.history.pop_front();
        }
    }

    /// Draws the whole screen: header, body, footer.
    pub fn render(&self, frame: &mut Frame) {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(self.header(), header);
        frame.render_widget(Line::from(" q quit").dim(), footer);
        match (&self.error, &self.stats) {
            (Some(why), _) => self.render_gone(frame, body, why),
            (None, None) => frame.render_widget(
                Paragraph::new(format!(" waiting for stats from {}", self.mount.display())),
                body,
            ),
            (None, Some(s)) => self.render_body(frame, body, s),
        }
    }

    fn header(&self) -> Line<'static> {
        let mut spans = vec![
            Span::from(" MAVFS ").bold(),
            Span::from(self.mount.display().to_string()),
        ];
        if let Some(s) = &self.stats {
            // The backend last: a Redis URL is long, and the tiers panel says more of it.
            let up = clock(s.uptime_secs);
            spans.push(Span::from(format!("  up {up}  {}", s.backend)));
        }
        Line::from(spans)
    }

    fn render_gone(&self, frame: &mut Frame, area: Rect, why: &str) {
        let text = vec![
            Line::from(format!("mount {} is gone: {why}", self.mount.display()))
                .red()
                .bold(),
            Line::from(""),
            Line::from("Trying again at every poll; q quits."),
        ];
        let block = Block::bordered().title(" mount gone ").red();
        let p = Paragraph::new(text).block(block).wrap(Wrap { trim: false });
        frame.render_widget(p, area);
    }

    fn render_body(&self, frame: &mut Frame, area: Rect, s: &Stats) {
        let nodes = super::stats::cluster_lines(&s.cluster);
        // Heading and a row per master, in a border (none without a cluster). On a short
        // terminal they take their rows from the throughput panel: a running job keeps its
        // two lines.
        let (cluster_rows, job_rows) = if nodes.is_empty() {
            (0, 3)
        } else {
            (nodes.len() as u16 + 2, 4)
        };
        let [tiers, cluster, rates, jobs] = Layout::vertical([
            Constraint::Length(7),
            Constraint::Length(cluster_rows),
            Constraint::Length(8),
            Constraint::Min(job_rows),
        ])
        .areas(area);
        render_tiers(frame, tiers, s);
        if !nodes.is_empty() {
            let mut lines: Vec<Line> = nodes.into_iter().map(Line::from).collect();
            lines[0] = lines[0].clone().dim();
            let p = Paragraph::new(lines).block(Block::bordered().title(" redis cluster "));
            frame.render_widget(p, cluster);
        }
        self.render_rates(frame, rates);
        render_jobs(frame, jobs, &s.jobs, s.policy.as_ref());
    }

    fn render_rates(&self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered().title(" throughput, last 60 s ");
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let rows = Layout::vertical([Constraint::Length(1); 6]).split(inner);
        for (t, tier) in ["vram", "vdisk"].into_iter().enumerate() {
            for (k, series) in SERIES.iter().enumerate() {
                let values: Vec<f64> = self
                    .history
                    .iter()
                    .map(|s| (series.pick)(&s.tiers[t]))
                    .collect();
                let now = values.last().copied().unwrap_or(0.0);
                // The tier's name on its first row only, so the rows read as a group.
                let name = if k == 0 { tier } else { "" };
                let label = format!("{name:<6}{:<6}{:>10} ", series.kind, (series.show)(now));
                render_series(frame, rows[t * SERIES.len() + k], label, &values);
            }
        }
    }
}

/// One sparkline row of a tier: what it plots and how its latest value reads.
struct Series {
    kind: &'static str,
    pick: fn(&Rates) -> f64,
    show: fn(f64) -> String,
}

const SERIES: [Series; 3] = [
    Series {
        kind: "read",
        pick: |r| r.read,
        show: mb_s,
    },
    Series {
        kind: "write",
        pick: |r| r.write,
        show: mb_s,
    },
    Series {
        kind: "ops",
        pick: |r| r.ops,
        show: ops_s,
    },
];

/// One labelled sparkline: the label, then the values squeezed into the width left.
fn render_series(frame: &mut Frame, row: Rect, label: String, values: &[f64]) {
    let [left, right] =
        Layout::horizontal([Constraint::Length(RATE_LABEL), Constraint::Min(0)]).areas(row);
    frame.render_widget(Paragraph::new(label), left);
    // Hundredths, so that rates below one per second still show.
    let scaled: Vec<u64> = values.iter().map(|v| (v * 100.0).round() as u64).collect();
    let data = squeeze(&scaled, usize::from(right.width));
    // Newest at the right edge, where the figure beside it is read.
    let sparkline = Sparkline::default()
        .data(data.iter().rev())
        .direction(RenderDirection::RightToLeft)
        .cyan();
    frame.render_widget(sparkline, right);
}

/// At most `width` values: each column the largest of its share of `values`, so that a
/// whole minute fits and no spike is lost.
fn squeeze(values: &[u64], width: usize) -> Vec<u64> {
    let n = values.len();
    if n <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|j| {
            let (from, to) = (j * n / width, (j + 1) * n / width);
            values[from..to.max(from + 1)]
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn render_tiers(frame: &mut Frame, area: Rect, s: &Stats) {
    let block = Block::bordered().title(" tiers ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table, fill, backend] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let head = format!(
        "{:<6}{:>9}{:>9}{:>12}  real cost",
        "", "files", "dirs", "logical"
    );
    let lines = vec![
        Line::from(head).dim(),
        tier_line("vram", &s.vram, vram_cost(s)),
        tier_line("vdisk", &s.vdisk, vdisk_cost(s)),
    ];
    frame.render_widget(Paragraph::new(lines), table);
    render_fill(frame, fill, s);
    frame.render_widget(backend_line(s), backend);
}

fn tier_line(name: &str, t: &TierStats, cost: String) -> Line<'static> {
    Line::from(format!(
        "{name:<6}{:>9}{:>9}{:>12}  {cost}",
        t.files,
        t.dirs,
        size(t.bytes)
    ))
}

fn is_redis(s: &Stats) -> bool {
    s.backend.starts_with("redis")
}

/// What vram costs: Redis's own memory (and per inode) there, the daemon's RSS in-process.
fn vram_cost(s: &Stats) -> String {
    if !is_redis(s) {
        return format!("daemon RSS {}", size(s.daemon_rss));
    }
    if !s.backend_state.is_empty() && s.backend_state != "up" {
        // The daemon answers with the counts it last read from Redis.
        return "counts as last seen; redis down".into();
    }
    let Some(mem) = s.backend_memory else {
        return "redis memory unknown".into();
    };
    let inodes = s.vram.files + s.vram.dirs;
    if inodes == 0 {
        return format!("redis {}", size(mem));
    }
    format!("redis {}, {}/inode", size(mem), size(mem / inodes))
}

fn vdisk_cost(s: &Stats) -> String {
    format!(
        "{} allocated, {} free",
        size(s.vdisk.blocks_bytes),
        size(s.disk_free)
    )
}

/// vram's use against its limit: a gauge, or the bytes alone when there is no limit.
fn render_fill(frame: &mut Frame, area: Rect, s: &Stats) {
    let [label, bar] = Layout::horizontal([Constraint::Length(11), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new("vram fill"), label);
    if is_unlimited(s.vram_limit) || s.vram_limit == 0 {
        let text = format!("{} used, no limit", size(s.vram_used));
        frame.render_widget(Paragraph::new(text), bar);
        return;
    }
    let ratio = (s.vram_used as f64 / s.vram_limit as f64).clamp(0.0, 1.0);
    let color = match ratio {
        r if r >= 0.9 => Color::Red,
        r if r >= 0.75 => Color::Yellow,
        _ => Color::Green,
    };
    let text = format!(
        "{} of {} ({:.1} %)",
        size(s.vram_used),
        size(s.vram_limit),
        ratio * 100.0
    );
    let gauge = Gauge::default()
        .ratio(ratio)
        .label(Span::from(text).white())
        .gauge_style(Style::new().fg(color).bg(Color::DarkGray));
    frame.render_widget(gauge, bar);
}

/// Redis: whether it answers and how fast; the in-process store has nothing to reach.
fn backend_line(s: &Stats) -> Line<'static> {
    if !is_redis(s) {
        return Line::from("store      in-process memory").dim();
    }
    let label = Span::from("redis      ");
    if s.backend_state == "up" {
        let rtt = s.backend_rtt_us.map_or_else(|| "?".to_owned(), micros);
        return Line::from(vec![
            label,
            Span::from("up").green().bold(),
            Span::from(format!("   rtt {rtt}")),
        ]);
    }
    // The daemon's reason names the store first; the row is too narrow to say it twice.
    let why = s.backend_state.trim_start_matches("store unavailable: ");
    let text = if why.starts_with("unreachable") {
        why.to_owned()
    } else {
        format!("unreachable: {why}")
    };
    Line::from(vec![label, Span::from(text).red().bold()])
}

/// What the tiering policy has done, and what waits for its durable copy.
fn policy_lines(p: &PolicyStats) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!(
        "policy     demoted {}, persisted {}, deleted {}; {} copied",
        p.demoted,
        p.persisted,
        p.deleted,
        size(p.moved_bytes)
    ))];
    if p.dirty_files > 0 {
        lines.push(Line::from(format!(
            "           dirty {} files ({}), oldest change {} s ago",
            p.dirty_files,
            size(p.dirty_bytes),
            p.dirty_age_secs.unwrap_or(0)
        )));
    }
    lines
}

fn render_jobs(frame: &mut Frame, area: Rect, jobs: &[JobInfo], policy: Option<&PolicyStats>) {
    let block = Block::bordered().title(" jobs ");
    let height = usize::from(block.inner(area).height);
    let head: Vec<Line> = policy.map(policy_lines).unwrap_or_default();
    let height = height.saturating_sub(head.len());
    let mut lines = head;
    if jobs.is_empty() {
        lines.push(Line::from("no jobs running").dim());
    } else {
        lines.extend(job_lines(jobs, height));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Two lines a job, as many jobs as fit in `height` lines, then how many did not.
fn job_lines(jobs: &[JobInfo], height: usize) -> Vec<Line<'static>> {
    let fit = if jobs.len() * 2 <= height {
        jobs.len()
    } else {
        height.saturating_sub(1) / 2
    };
    let mut lines: Vec<Line> = jobs[..fit].iter().flat_map(job_pair).collect();
    if fit < jobs.len() {
        lines.push(Line::from(format!("... and {} more", jobs.len() - fit)).dim());
    }
    lines
}

fn job_pair(j: &JobInfo) -> [Line<'static>; 2] {
    let p = &j.progress;
    let pct =
        done_fraction(p).map_or_else(|| "  ? %".to_owned(), |f| format!("{:>3.0} %", f * 100.0));
    let rate = job_rate(p);
    let eta = eta(p, rate);
    let verified = if p.verified_bytes > 0 {
        format!(" ({} verified)", size(p.verified_bytes))
    } else {
        String::new()
    };
    let first = Line::from(vec![
        Span::from(format!("{pct}  ")).bold(),
        Span::from(format!("{} {} → {}{verified}", j.op, j.src, j.dst)),
    ]);
    let second = Line::from(format!(
        "       {} of {}, {} of {} files, {}, ETA {eta}",
        size(p.bytes_done),
        size(p.bytes_total),
        p.files_done,
        p.files_total,
        rate.map_or_else(|| "? MB/s".to_owned(), mb_s),
    ));
    [first, second]
}

/// The time a job still needs at `rate` (bytes per second), or `?`.
pub(crate) fn eta(p: &Progress, rate: Option<f64>) -> String {
    match rate {
        Some(r) if r > 0.0 => {
            clock((p.bytes_total.saturating_sub(p.bytes_done) as f64 / r).ceil() as u64)
        }
        _ => "?".to_owned(),
    }
}

/// How much of the job is done: by bytes, or by files when it has no bytes.
fn done_fraction(p: &Progress) -> Option<f64> {
    let (done, total) = if p.bytes_total > 0 {
        (p.bytes_done, p.bytes_total)
    } else {
        (p.files_done, p.files_total)
    };
    (total > 0).then(|| (done as f64 / total as f64).clamp(0.0, 1.0))
}

/// Bytes per second since the job started.
pub(crate) fn job_rate(p: &Progress) -> Option<f64> {
    (p.elapsed_ms > 0).then(|| p.bytes_done as f64 * 1000.0 / p.elapsed_ms as f64)
}

/// Bytes as `mavfsctl stats` shows them (binary units, two decimals).
pub(crate) fn size(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// Decimal megabytes per second, as `mavfsctl bench` writes them.
pub(crate) fn mb_s(bytes_per_s: f64) -> String {
    units::mb_per_s(bytes_per_s / 1e6)
}

fn ops_s(per_s: f64) -> String {
    if per_s < 10.0 {
        format!("{per_s:.1} ops/s")
    } else {
        format!("{per_s:.0} ops/s")
    }
}

fn micros(us: u64) -> String {
    units::latency(us as f64)
}

/// `h:mm:ss`, with days in front once there are any.
pub(crate) fn clock(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests;
