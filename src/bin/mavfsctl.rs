//! `mavfsctl`: steer a MAVFS mount through its control file. Exit status: 0 done, 1 failed,
//! 2 bad usage, 130 cancelled.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use mavfs::control::client::{self, Session};
use mavfs::control::protocol::{self, Answer, Copied, Op, Outcome, Request, Stats};

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
    /// Files, directories and bytes per tier; vram limit and use; disk space.
    Stats {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
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
    /// No progress bar and no summary.
    #[arg(long, short)]
    quiet: bool,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("mavfsctl: {msg}");
    std::process::exit(1);
}

/// Polls the session until its final answer, drawing progress while a job runs.
fn wait(mut s: Session, show_progress: bool) -> Answer {
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
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
    println!(
        "{verb} {}, {} in {secs:.1} s",
        parts.join(", "),
        HumanBytes(c.bytes)
    );
}

fn print_stats(s: &Stats) {
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
    let limit = if s.vram_limit >= u64::MAX / 2 {
        "no limit".to_owned()
    } else {
        let pct = if s.vram_limit > 0 {
            s.vram_used as f64 * 100.0 / s.vram_limit as f64
        } else {
            0.0
        };
        format!("{} ({pct:.1} %)", HumanBytes(s.vram_limit))
    };
    println!();
    println!(
        "vram     {} used of {limit}, backend {}",
        HumanBytes(s.vram_used),
        s.backend
    );
    if let Some(m) = s.backend_memory {
        println!("         backend memory {}", HumanBytes(m));
    }
    println!(
        "vdisk    {} ({} free of {})",
        s.disk_dir,
        HumanBytes(s.disk_free),
        HumanBytes(s.disk_total)
    );
    println!("uptime   {} s", s.uptime_secs);
}

fn main() {
    let cli = Cli::parse();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mount = client::find_mount(cli.mount.as_deref(), &cwd).unwrap_or_else(|e| die(e));
    let (op, quiet, json, verb) = match &cli.command {
        Command::Push(a) | Command::Pull(a) => {
            let push = matches!(cli.command, Command::Push(_));
            let copy = protocol::Copy {
                src: client::virtual_path(&mount, &a.src, &cwd).unwrap_or_else(|e| die(e)),
                dst: client::virtual_path(&mount, &a.dst, &cwd).unwrap_or_else(|e| die(e)),
                move_source: a.move_source,
                force: a.force,
            };
            let verb = match (push, a.move_source) {
                (true, false) => "pushed",
                (true, true) => "moved to /vdisk",
                (false, false) => "pulled",
                (false, true) => "moved to /vram",
            };
            (
                if push { Op::Push(copy) } else { Op::Pull(copy) },
                a.quiet,
                false,
                verb,
            )
        }
        Command::Stats { json } => (Op::Stats, true, *json, ""),
    };
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
                print_stats(&s);
            }
        }
        Answer::Error { message } => die(message),
        Answer::Cancelled => {
            eprintln!("mavfsctl: cancelled; nothing half-written was left behind");
            std::process::exit(130);
        }
        Answer::Running { .. } => die("the mount ended the answer while the job was running"),
    }
}
