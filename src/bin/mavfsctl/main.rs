//! `mavfsctl`: steer a MAVFS mount through its control file, watch it live (`dashboard`), or
//! time it with ordinary file I/O (`bench`). Exit status: 0 done, 1 failed, 2 bad usage, 130
//! cancelled.

use std::fs;
use std::io::{self, IsTerminal, Stdout, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use crossterm::cursor::{Hide, Show};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
mod bench;
mod dashboard;
mod docs;
mod policy;
mod stats;
mod units;

use bench::{BenchError, Params, Target};
use dashboard::Dashboard;
use mavfs::config::parse_size;
use mavfs::control::client::{self, Session};
use mavfs::control::protocol::{self, Answer, Copied, Op, Outcome, Request, Stats};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

#[derive(Parser)]
#[command(
    name = "mavfsctl",
    version,
    about = "Steer a MAVFS mount: move trees between vram/ and vdisk/, see where the bytes are"
)]
struct Cli {
    /// The mount to steer (default: $MAVFS_MOUNT, the mount holding the current directory, or the only one).
    #[arg(long, global = true, value_name = "MOUNTPOINT")]
    mount: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Copy a file or tree from /vram to /vdisk, inside the daemon.
    Push(CopyArgs),
    /// Copy a file or tree from /vdisk to /vram, inside the daemon.
    Pull(CopyArgs),
    /// Push and pull jobs: running ones with progress, rate and ETA, and those a stopped
    /// mount left unfinished (resume or cancel them).
    Jobs {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Finish a job a stopped mount left unfinished; files already there whole are skipped.
    Resume {
        /// The job's id, as `mavfsctl jobs` lists it.
        id: u64,
        /// No progress bar and no summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Stop a running job, or give up an interrupted one: its temporary files go, what
    /// arrived whole stays, the source is untouched.
    Cancel {
        /// The job's id, as `mavfsctl jobs` lists it.
        id: u64,
    },
    /// Save vram/ to the mount's snapshot dir now (a mount with --snapshot-dir).
    Snapshot,
    /// An instant copy of a file or tree inside vram/, made by the store itself: its data is
    /// shared until either side writes it (in the in-process store it counts once against
    /// the limit).
    Clone {
        /// What to copy, e.g. /vram/a or a path on the mount.
        src: String,
        /// The new name, which must not exist yet.
        dst: String,
    },
    /// Keep a file or tree in /vram: no policy demotes or deletes it (kept across remounts).
    Pin { path: String },
    /// Let the policy move a pinned file or tree again.
    Unpin { path: String },
    /// Where a file is (vram, vdisk or both), pinned or not, the rule that applies, how
    /// long it has been idle, and whether its durable copy is current.
    State {
        path: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// The mount's tiering policy: load a file, or see what it would do now and why.
    #[command(subcommand)]
    Policy(policy::PolicyCmd),
    /// Files, directories and bytes per tier; vram limit and use; disk space.
    Stats {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Time the same workloads on vram/, vdisk/ and other directories, side by side.
    #[command(after_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// A live view: both tiers, their throughput, running jobs, Redis; q quits.
    Dashboard {
        /// Seconds between two polls of the mount's stats (fractions allowed: 0.5).
        #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_interval)]
        interval: Duration,
    },
    /// Writes the man pages (DIR/man1) and shell completions (DIR/completions) of mavfsctl
    /// and mavfs-mount: what scripts/install.sh installs.
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    // Each poll has the daemon count the disk dir: a floor keeps a dashboard from keeping
    // it busy.
    if secs.is_nan() || secs < 0.1 {
        return Err("must be at least 0.1 seconds".into());
    }
    // Bounded so that adding it to a clock reading cannot overflow.
    if secs > MAX_INTERVAL_SECS {
        return Err(format!("must be at most {MAX_INTERVAL_SECS} seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

const MAX_INTERVAL_SECS: f64 = 86_400.0;

const BENCH_HELP: &str = "\
Workloads, each in a fresh scratch directory .mavfs-bench.<pid> inside each target, removed
afterwards (also on Ctrl-C, which exits 130). Nothing is fsync'ed, and reads may be
answered from the kernel's page cache, as for any program.
  seq write p50/p99    latency of open(O_CREAT|O_TRUNC) + write --size bytes + close
  seq write            MB/s over the --iters writes: total bytes / total time (1 MB = 10^6 B)
  seq read p50/p99     latency of open + read to end of file + close; then MB/s likewise
  create, stat, unlink --files empty files, one phase after the other: operations per second
  rand read/write 4K   4096 pread, then 4096 pwrite, of 4 KiB at seeded 4 KiB-aligned
                       offsets in a 16 MiB file (written first, untimed): IOPS each

Columns: vram, vdisk, then each --dir in the order given; the cells after the first show
their ratio to the first column.

--json prints one object: size, iters, files, rand_file_bytes, rand_block, rand_ops, and
columns: [{label, path, seq_write: {p50_us, p99_us, mb_s}, seq_read: {p50_us, p99_us, mb_s},
create_per_s, stat_per_s, unlink_per_s, rand_read_iops, rand_write_iops}, ...]";

#[derive(Args)]
struct BenchArgs {
    /// Bytes of each sequential write and read (suffixes K, M, G: 64K, 1M).
    #[arg(long, value_name = "BYTES", default_value = "64K", value_parser = parse_size)]
    size: u64,
    /// Sequential writes, then as many reads.
    #[arg(long, value_name = "N", default_value_t = bench::DEFAULT_ITERS,
          value_parser = clap::value_parser!(u32).range(1..))]
    iters: u32,
    /// Empty files to create, stat and unlink.
    #[arg(long, value_name = "N", default_value_t = bench::DEFAULT_FILES,
          value_parser = clap::value_parser!(u32).range(1..))]
    files: u32,
    /// One more column: a directory and its label, e.g. tmpfs=/dev/shm (repeatable).
    #[arg(long = "dir", value_name = "LABEL=PATH")]
    dirs: Vec<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CopyArgs {
    /// Source: /vram/..., /vdisk/..., a path on the mount, or relative to the current directory.
    src: String,
    /// Destination: copied into it if it is a directory, else to that name.
    dst: String,
    /// Remove the source once the destination is complete.
    #[arg(long = "move")]
    move_source: bool,
    /// Replace existing destination files.
    #[arg(long)]
    force: bool,
    /// Read each copy back and compare its checksum (BLAKE3) with the source's before
    /// putting it in place; a mismatch fails that file and keeps the source.
    #[arg(long)]
    verify: bool,
    /// Only print what would be copied (files, bytes, conflicts); change nothing.
    #[arg(long)]
    dry_run: bool,
    /// At most this many bytes a second (100M, 1G), so that the mount's own traffic is
    /// not starved.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    rate: Option<u64>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// From now on Ctrl-C (and SIGTERM, SIGHUP) only sets `INTERRUPTED`; the work in progress
/// notices, cleans up and stops. A second signal kills as usual, for a mount that hangs.
fn catch_sigint() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic; the struct is zeroed, then filled.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn die(msg: impl std::fmt::Display) -> ! {
    // Not eprintln!: it panics when stderr is gone (a terminal that hung up).
    let _ = writeln!(io::stderr(), "mavfsctl: {msg}");
    std::process::exit(1);
}

/// Polls the session until its final answer, drawing progress while a job runs.
fn wait(mut s: Session, show_progress: bool) -> Answer {
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let mut cancel_sent = false;
    loop {
        if INTERRUPTED.load(Ordering::Relaxed) && !cancel_sent {
            cancel_sent = true;
            if let Err(e) = s.cancel() {
                die(format!("cannot cancel: {e}"));
            }
        }
        let answer = match s.next_answer() {
            Ok(Some(a)) => a,
            Ok(None) => die("the mount closed the answer without a result"),
            Err(e) => die(format!("lost the mount: {e}")),
        };
        match answer {
            Answer::Running { progress } => {
                if show_progress && started.elapsed() > Duration::from_secs(1) {
                    let b = bar.get_or_insert_with(|| {
                        let b = ProgressBar::new(progress.bytes_total);
                        b.set_style(
                            ProgressStyle::with_template(
                                "{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                        b
                    });
                    b.set_length(progress.bytes_total);
                    b.set_position(progress.bytes_done);
                    b.set_message(format!(
                        "{}/{} files",
                        progress.files_done, progress.files_total
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            done => {
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                return done;
            }
        }
    }
}

fn copy_verb(push: bool, move_source: bool) -> &'static str {
    match (push, move_source) {
        (true, false) => "pushed",
        (true, true) => "moved to /vdisk",
        (false, false) => "pulled",
        (false, true) => "moved to /vram",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_copied(verb: &str, c: &Copied, secs: f64) {
    let mut parts = vec![plural(c.files, "file", "files")];
    if c.dirs > 0 {
        parts.push(plural(c.dirs, "directory", "directories"));
    }
    if c.symlinks > 0 {
        parts.push(plural(c.symlinks, "symlink", "symlinks"));
    }
    if c.specials > 0 {
        parts.push(plural(c.specials, "special file", "special files"));
    }
    if c.dry_run {
        println!(
            "would be {verb}: {}, {}",
            parts.join(", "),
            HumanBytes(c.bytes)
        );
        if c.skipped > 0 {
            println!("already there: {}", plural(c.skipped, "file", "files"));
        }
        println!("conflicts: {}", c.conflicts.len());
        for line in &c.conflicts {
            println!("  {}", printable(line));
        }
        return;
    }
    let mut tail = String::new();
    if c.verified_bytes > 0 {
        tail.push_str(&format!(", {} verified", HumanBytes(c.verified_bytes)));
    }
    if c.skipped > 0 {
        tail.push_str(&format!(
            ", {} already there",
            plural(c.skipped, "file", "files")
        ));
    }
    println!(
        "{verb} {}, {}{tail} in {secs:.1} s",
        parts.join(", "),
        HumanBytes(c.bytes)
    );
}

fn print_jobs(jobs: &[protocol::JobInfo]) {
    if jobs.is_empty() {
        println!("no jobs");
        return;
    }
    println!(
        "{:>6}  {:<11} {:<4} {:>6} {:>11} {:>9} {:>8}  from -> to",
        "id", "state", "op", "done", "bytes", "rate", "eta"
    );
    for j in jobs {
        let p = &j.progress;
        let (done, bytes, rate, eta) = if j.state == "running" {
            let rate = dashboard::job_rate(p);
            let pct = if p.bytes_total > 0 {
                p.bytes_done as f64 * 100.0 / p.bytes_total as f64
            } else {
                0.0
            };
            (
                format!("{pct:.0}%"),
                dashboard::size(p.bytes_done),
                rate.map_or_else(|| "?".to_owned(), dashboard::mb_s),
                dashboard::eta(p, rate),
            )
        } else {
            ("-".into(), "-".into(), "-".into(), "-".into())
        };
        let mut flags = String::new();
        if j.move_source {
            flags.push_str(" --move");
        }
        if j.verify {
            flags.push_str(" --verify");
        }
        if j.phase == "removing" {
            flags.push_str(" (removing the source)");
        }
        println!(
            "{:>6}  {:<11} {:<4} {:>6} {:>11} {:>9} {:>8}  {} -> {}{flags}",
            j.id,
            j.state,
            j.op,
            done,
            bytes,
            rate,
            eta,
            printable(&j.src),
            printable(&j.dst)
        );
    }
}

/// A path another user may have named: control characters shown as `?`, never sent to
/// the terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `mavfsctl bench`: vram/ and vdisk/ of `mount`, then each `--dir`; prints and exits.
fn run_bench(mount: &Path, a: &BenchArgs) -> ! {
    let mut targets = vec![
        Target::new("vram", mount.join("vram")),
        Target::new("vdisk", mount.join("vdisk")),
    ];
    for d in &a.dirs {
        targets.push(Target::parse(d).unwrap_or_else(|e| die(e)));
    }
    let params = Params::new(a.size, a.iters, a.files).unwrap_or_else(|e| die(e));
    catch_sigint();
    match bench::run(&params, &targets, &INTERRUPTED) {
        Ok(report) if a.json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => die(e),
        },
        Ok(report) => print!("{}", report.table()),
        Err(BenchError::Interrupted) => {
            eprintln!("mavfsctl: interrupted; the scratch directories were removed");
            std::process::exit(130);
        }
        Err(e) => die(e),
    }
    std::process::exit(0);
}

/// One poll's outcome and when it came.
type Poll = (Instant, Result<Stats, String>);

/// Polls `stats` every `every` on a thread of its own, so that keys are answered even while
/// a poll waits on a slow mount. Ends when the receiver is gone.
fn spawn_poller(mount: PathBuf, every: Duration) -> Receiver<Poll> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut next = Instant::now();
        loop {
            let stats = dashboard::fetch_stats(&mount);
            if tx.send((Instant::now(), stats)).is_err() {
                return;
            }
            next += every;
            let now = Instant::now();
            // After a poll slower than `every`, carry on from now rather than catch up.
            match next.checked_duration_since(now) {
                Some(wait) => std::thread::sleep(wait),
                None => next = now,
            }
        }
    });
    rx
}

/// Whether the dashboard has the terminal (raw mode, alternate screen).
static IN_SCREEN: AtomicBool = AtomicBool::new(false);

/// Raw mode off, main screen back, cursor shown; errors ignored, there is nothing left to do.
/// Only once: leaving the alternate screen twice moves the cursor back over what was printed
/// in between (a panic's message).
fn restore_terminal() {
    if IN_SCREEN.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    }
}

/// The full-screen terminal; leaving it (drop, or a panic) gives the terminal back as it was.
struct Screen {
    term: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    fn enter() -> io::Result<Screen> {
        let hook = std::panic::take_hook();
        // Restore first, so that the panic message lands on a usable terminal.
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        let setup = || {
            IN_SCREEN.store(true, Ordering::SeqCst);
            enable_raw_mode()?;
            execute!(io::stdout(), EnterAlternateScreen, Hide)?;
            Terminal::new(CrosstermBackend::new(io::stdout()))
        };
        setup()
            .map(|term| Screen { term })
            .inspect_err(|_| restore_terminal())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// `q`, `Esc` or Ctrl-C (which raw mode turns into a key instead of SIGINT).
fn is_quit(k: &KeyEvent) -> bool {
    k.kind == KeyEventKind::Press
        && match k.code {
            KeyCode::Char('q' | 'Q') | KeyCode::Esc => true,
            KeyCode::Char('c') => k.modifiers.contains(KeyModifiers::CONTROL),
            _ => false,
        }
}

/// The terminal the dashboard reads keys from, watched for a hang-up: crossterm 0.29 reads a
/// hung-up terminal in a loop that never ends (it takes EOF and EIO as "read again").
struct Tty(fs::File);

impl Tty {
    /// `/dev/tty` names the same terminal crossterm reads (stdin or, failing that, `/dev/tty`
    /// itself) and hangs up with it. None without a controlling terminal.
    fn open() -> Option<Tty> {
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/tty")
            .ok()
            .map(Tty)
    }

    /// Waits up to `timeout` for a hang-up; true once the terminal has hung up.
    fn hung_up(&self, timeout: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            // Nothing asked for: a hang-up is reported whatever is.
            events: 0,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        n > 0 && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
    }
}

/// Ends the dashboard when the main thread cannot: on a hang-up (crossterm then spins in its
/// read), or when a quit asked by signal is not done within a second. It exits without
/// touching the terminal: the main thread may hold stdout's lock, blocked on a terminal that
/// takes no more output, and a terminal that hung up needs nothing.
fn spawn_watchdog(tty: Option<Tty>) {
    std::thread::spawn(move || {
        let mut asked: Option<Instant> = None;
        loop {
            let tick = Duration::from_millis(100);
            if tty.as_ref().is_some_and(|t| t.hung_up(tick)) {
                // SAFETY: _exit ends the process at once; nothing is left to clean up.
                unsafe { libc::_exit(1) };
            }
            if tty.is_none() {
                std::thread::sleep(tick);
            }
            if INTERRUPTED.load(Ordering::Relaxed) {
                let since = *asked.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) };
                }
            }
        }
    });
}

/// Draws after each poll and each resize; returns when the user quits.
fn dashboard_loop(
    screen: &mut Screen,
    dash: &mut Dashboard,
    polls: &Receiver<Poll>,
) -> io::Result<()> {
    let mut dirty = true;
    loop {
        for (at, stats) in polls.try_iter() {
            dash.update(at, stats);
            dirty = true;
        }
        if dirty {
            screen.term.draw(|f| dash.render(f))?;
            dirty = false;
        }
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Ok(());
        }
        if event::poll(Duration::from_millis(50))? {
            match event::read()? {
                Event::Key(k) if is_quit(&k) => return Ok(()),
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}

/// `mavfsctl dashboard`: runs until q, then exits.
fn run_dashboard(mount: PathBuf, every: Duration) -> ! {
    if !io::stdout().is_terminal() {
        eprintln!("mavfsctl: dashboard needs a terminal on standard output");
        std::process::exit(2);
    }
    let polls = spawn_poller(mount.clone(), every);
    // A SIGINT sent from elsewhere quits through the loop, which restores the terminal.
    catch_sigint();
    spawn_watchdog(Tty::open());
    let mut dash = Dashboard::new(mount);
    let result =
        Screen::enter().and_then(|mut screen| dashboard_loop(&mut screen, &mut dash, &polls));
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => die(format!("terminal: {e}")),
    }
}

fn main() {
    // As other command-line tools do, end quietly when the reader of stdout goes away
    // (`mavfsctl stats | head -1`) rather than panic on the broken pipe. Every command
    // writes to stdout only once its work (and a bench's clean-up) is done.
    // SAFETY: setting a signal's disposition has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    if let Command::GenerateDocs { dir } = &cli.command {
        docs::generate_docs(dir).unwrap_or_else(|e| die(format!("{}: {e}", dir.display())));
        return;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mount = client::find_mount(cli.mount.as_deref(), &cwd).unwrap_or_else(|e| die(e));
    let (op, quiet, json, verb) = match &cli.command {
        Command::Bench(a) => run_bench(&mount, a),
        Command::Dashboard { interval } => run_dashboard(mount, *interval),
        Command::Push(a) | Command::Pull(a) => {
            let push = matches!(cli.command, Command::Push(_));
            let copy = protocol::Copy {
                src: client::virtual_path(&mount, &a.src, &cwd).unwrap_or_else(|e| die(e)),
                dst: client::virtual_path(&mount, &a.dst, &cwd).unwrap_or_else(|e| die(e)),
                move_source: a.move_source,
                force: a.force,
                verify: a.verify,
                dry_run: a.dry_run,
                rate: a.rate,
            };
            let verb = copy_verb(push, a.move_source);
            (
                if push { Op::Push(copy) } else { Op::Pull(copy) },
                a.quiet,
                false,
                verb,
            )
        }
        Command::Stats { json } => (Op::Stats, true, *json, ""),
        Command::Jobs { json } => (Op::Jobs, true, *json, ""),
        Command::Resume { id, quiet } => (Op::Resume { id: *id }, *quiet, false, "resumed:"),
        Command::Cancel { id } => (Op::CancelJob { id: *id }, false, false, ""),
        Command::Snapshot => (Op::Snapshot, false, false, ""),
        Command::Clone { src, dst } => (
            Op::Clone {
                src: client::virtual_path(&mount, src, &cwd).unwrap_or_else(|e| die(e)),
                dst: client::virtual_path(&mount, dst, &cwd).unwrap_or_else(|e| die(e)),
            },
            false,
            false,
            "",
        ),
        Command::Pin { path } | Command::Unpin { path } => (
            Op::Pin {
                path: client::virtual_path(&mount, path, &cwd).unwrap_or_else(|e| die(e)),
                pin: matches!(cli.command, Command::Pin { .. }),
            },
            false,
            false,
            "",
        ),
        Command::State { path, json } => (
            Op::State {
                path: client::virtual_path(&mount, path, &cwd).unwrap_or_else(|e| die(e)),
            },
            true,
            *json,
            "",
        ),
        Command::Policy(p) => (policy::op(p).unwrap_or_else(|e| die(e)), false, false, ""),
        Command::GenerateDocs { .. } => return,
    };
    // Before the request goes: a Ctrl-C as the job starts cancels it too, cleanly.
    catch_sigint();
    let started = Instant::now();
    let session = Session::send(
        &mount,
        &Request {
            v: protocol::VERSION,
            op,
        },
    )
    .unwrap_or_else(|e| {
        die(format!(
            "cannot reach the control file of {}: {e}",
            Path::new(&mount).display()
        ))
    });
    let show = !quiet && std::io::stderr().is_terminal();
    match wait(session, show) {
        Answer::Done {
            result: Outcome::Copied(c),
        } => {
            for w in &c.warnings {
                eprintln!("mavfsctl: warning: {}", printable(w));
            }
            if !quiet {
                print_copied(verb, &c, started.elapsed().as_secs_f64());
            }
        }
        Answer::Done {
            result: Outcome::Stats(s),
        } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            } else {
                stats::print_stats(&s);
            }
        }
        Answer::Done {
            result: Outcome::Jobs(list),
        } => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                print_jobs(&list.jobs);
            }
        }
        Answer::Done {
            result: Outcome::Note { note },
        } => {
            for line in note.lines() {
                println!("{}", printable(line));
            }
        }
        Answer::Done {
            result: Outcome::State(st),
        } => policy::print_state(&st, json),
        Answer::Error { message } => die(message),
        Answer::Cancelled => {
            eprintln!("mavfsctl: cancelled; nothing half-written was left behind");
            std::process::exit(130);
        }
        Answer::Running { .. } => die("the mount ended the answer while the job was running"),
    }
}
