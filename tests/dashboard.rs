//! `mavfsctl dashboard` in a real terminal: tmux runs the binary on a real mount,
//! `capture-pane` reads the screen as a person would see it, `send-keys` types.
//!
//! Each test runs a tmux server of its own as its child (`tmux -D`, a socket in a temporary
//! directory), killed and reaped on drop, so nothing is left running and the machine's own
//! tmux sessions are never touched. The dashboard runs under `sh`, which writes its exit
//! status to a file once it is gone: tmux's own `pane_dead_status` is not always filled in,
//! and a dying pane's last output can be lost (tmux 3.3a, both seen with a plain
//! `sh -c 'echo hi; exit 3'`). Without `tmux` on PATH the tests fail and say how to get it
//! (`scripts/test.sh` installs it): a test that does nothing must not pass.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const CTL_BIN: &str = env!("CARGO_BIN_EXE_mavfsctl");
const SESSION: &str = "dash";
/// How long the screen may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

fn need_tmux() {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "tmux is not on PATH: apt-get install tmux (scripts/test.sh installs it)"
    );
}

/// The dashboard running in an 80×24 pane of a tmux server of the test's own.
struct Pane {
    server: Option<Child>,
    dir: tempfile::TempDir,
}

impl Pane {
    fn start(mount: &Path) -> Pane {
        let dir = tempfile::Builder::new()
            .prefix("mavfs-tmux-")
            .tempdir()
            .expect("create tmux temp dir");
        let sock = dir.path().join("sock");
        let server = Command::new("tmux")
            .arg("-S")
            .arg(&sock)
            .args(["-f", "/dev/null", "-D"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tmux server");
        let pane = Pane {
            server: Some(server),
            dir,
        };
        pane.wait_for_socket();
        let mnt = mount.to_str().expect("UTF-8 mount path");
        let status = pane.status_file();
        let status = status.to_str().expect("UTF-8 temp path");
        let out = pane.tmux(&[
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "80",
            "-y",
            "24",
            "--",
            "sh",
            "-c",
            "s=$1; shift; \"$@\"; echo $? > \"$s\"",
            "sh",
            status,
            CTL_BIN,
            "--mount",
            mnt,
            "dashboard",
            "--interval",
            "0.2",
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        pane
    }

    /// Where the shell writes the dashboard's exit status.
    fn status_file(&self) -> PathBuf {
        self.dir.path().join("status")
    }

    /// The dashboard's exit status once it has exited.
    fn exit_status(&self) -> Option<i32> {
        let text = fs::read_to_string(self.status_file()).ok()?;
        text.trim().parse().ok()
    }

    fn wait_for_socket(&self) {
        let end = Instant::now() + PATIENCE;
        while !self.dir.path().join("sock").exists() {
            assert!(
                Instant::now() < end,
                "the tmux server never made its socket"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("sock"))
            .args(["-u", "-f", "/dev/null"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen once `ok` holds for it; fails the test with the last screen after a while.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + PATIENCE;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "the dashboard never showed {what}; last screen:\n{s}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(&self) -> bool {
        self.exit_status().is_none()
    }

    fn keys(&self, keys: &str) {
        let out = self.tmux(&["send-keys", "-t", SESSION, keys]);
        assert!(out.status.success(), "tmux send-keys: {out:?}");
    }

    /// `q`; then the dashboard must have exited 0, having given the main screen back.
    fn quit(&self) {
        self.keys("q");
        let end = Instant::now() + PATIENCE;
        while self.running() && Instant::now() < end {
            thread::sleep(Duration::from_millis(50));
        }
        let after = self.screen();
        assert_eq!(self.exit_status(), Some(0), "after q:\n{after}");
        assert!(
            !after.contains("q quit"),
            "the alternate screen was not left:\n{after}"
        );
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        if let Some(mut server) = self.server.take() {
            if wait_timeout(&mut server, Duration::from_secs(5)).is_none() {
                let _ = server.kill();
                let _ = server.wait();
            }
        }
    }
}

/// The files column of `tier`'s row in the tiers panel.
fn files_of(screen: &str, tier: &str) -> Option<u64> {
    screen.lines().find_map(|line| {
        let mut words = line.trim_matches('│').split_whitespace();
        (words.next() == Some(tier)).then(|| words.next()?.parse().ok())?
    })
}

#[test]
fn dashboard_shows_the_tiers_and_quits_on_q() {
    need_tmux();
    let m = TestMount::memory();
    let pane = Pane::start(m.mnt());
    for name in ["a", "b", "c"] {
        fs::write(m.vram().join(name), vec![7u8; 1 << 20]).unwrap();
    }
    // A refresh may fall between the third file's create and the end of its write.
    let screen = pane.wait_for("3 files, 3 MiB in vram", |s| {
        files_of(s, "vram") == Some(3) && s.contains("3.00 MiB")
    });
    for want in [
        "vram",
        "vdisk",
        "vram fill",
        "throughput",
        "no jobs running",
        "q quit",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    assert_eq!(files_of(&screen, "vdisk"), Some(0), "{screen}");
    pane.quit();
}

/// Whether process `pid` has ended (gone, or a zombie waiting for its parent).
fn ended(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn dashboard_ends_when_its_terminal_goes_away() {
    need_tmux();
    let m = TestMount::memory();
    let pane = Pane::start(m.mnt());
    pane.wait_for("the tiers panel", |s| s.contains("vram fill"));
    let out = pane.tmux(&["list-panes", "-t", SESSION, "-F", "#{pane_pid}"]);
    let sh = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
    let dash: u32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no dashboard under the pane's shell {sh}: {children:?}"));
    // Killing the server closes the terminal under the dashboard (as a closed ssh session or
    // a killed tmux does); it must end, not spin on a terminal that is gone.
    assert!(pane.tmux(&["kill-server"]).status.success());
    let end = Instant::now() + PATIENCE;
    while !ended(dash) {
        if Instant::now() >= end {
            // SAFETY: a plain kill of the process this test started; it must not outlive it.
            unsafe { libc::kill(dash as libc::pid_t, libc::SIGKILL) };
            panic!("the dashboard (pid {dash}) still ran after its terminal went away");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dashboard_outlives_its_mount_and_says_it_is_gone() {
    need_tmux();
    let m = TestMount::memory();
    let pane = Pane::start(m.mnt());
    pane.wait_for("the tiers panel", |s| s.contains("vram fill"));
    drop(m);
    let screen = pane.wait_for("the mount gone", |s| s.contains("is gone"));
    assert!(screen.contains("q quits"), "{screen}");
    // Several more failed polls later, it still runs.
    thread::sleep(Duration::from_secs(1));
    assert!(pane.running(), "exited:\n{}", pane.screen());
    assert!(pane.screen().contains("is gone"));
    pane.quit();
}

#[test]
fn dashboard_shows_a_redis_outage_and_its_end() {
    need_tmux();
    let mut server = RedisServer::start();
    let m = TestMount::with_redis(&server, &[]);
    let pane = Pane::start(m.mnt());
    let screen = pane.wait_for("redis up", |s| s.contains("redis      up"));
    assert!(screen.contains("rtt"), "{screen}");
    server.stop();
    pane.wait_for("redis unreachable", |s| s.contains("unreachable"));
    assert!(pane.running(), "exited:\n{}", pane.screen());
    server.restart();
    pane.wait_for("redis up again", |s| s.contains("redis      up"));
    pane.quit();
    drop(m);
}
