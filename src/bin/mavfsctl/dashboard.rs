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
        let [tiers, rates, jobs] = Layout::vertical([
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Min(3),
        ])
        .areas(area);
        render_tiers(frame, tiers, s);
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
mod tests {
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
}
