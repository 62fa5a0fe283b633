//! The job journal: one small JSON record per push or pull while it runs, in a hidden
//! directory of the disk dir (`JOURNAL_NAME`). A job's record goes when the job ends, done,
//! failed or cancelled; a record whose daemon is gone is a job a stopped daemon left
//! unfinished, which `resume` finishes and `cancel` gives up.
//!
//! Records are written to a temporary name, synced and renamed into place, so a crash
//! leaves the old record or the new one, never a torn one. The directory exists only while
//! it holds records. A new job's id is past every recorded one, so a temporary file of an
//! interrupted job (which keeps its record until it is resumed or cancelled) names no
//! other job.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::control::protocol::Copy;
use crate::disk::at;
use crate::sync::Mutex;

/// The journal's directory in the disk dir. The temporary-name prefix keeps it out of
/// `vdisk/` listings and lookups, as the jobs' files in the making are.
pub const JOURNAL_NAME: &str = ".mavfs-tmp.journal";

/// How far a job had come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Copying,
    /// All was copied; the source of a move is being removed.
    Removing,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Copying => "copying",
            Phase::Removing => "removing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    /// `push` or `pull`.
    pub op: String,
    pub copy: Copy,
    pub phase: Phase,
    /// The daemon running the job: its pid and the start time the kernel gives that process,
    /// so a reused pid is not taken for it.
    pub pid: u32,
    pub pid_start: u64,
    pub started_unix: u64,
    /// Where the copy lands, resolved once the job has looked (`DST/name` when copied into
    /// the directory DST): a resumed job goes there whatever has appeared since.
    #[serde(default)]
    pub target: Option<String>,
}

pub struct Journal {
    /// The disk dir (`O_PATH`): the journal's directory is made and removed in it.
    root: OwnedFd,
    /// Serialises id allocation and the directory's making and removal in this daemon.
    ids: Mutex<()>,
}

/// This process's pid and start time (field 22 of /proc/self/stat).
fn me() -> (u32, u64) {
    (
        std::process::id(),
        start_time(std::process::id()).unwrap_or(0),
    )
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: count fields after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    // A killed daemon nobody has reaped yet is a zombie: gone, for its jobs.
    if matches!(fields.next()?, "Z" | "X") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

fn name(s: &str) -> io::Result<std::ffi::CString> {
    at::name(OsStr::new(s))
}

impl Journal {
    /// The journal of the disk dir behind `root`.
    pub fn open(root: std::os::fd::BorrowedFd<'_>) -> io::Result<Journal> {
        Ok(Journal {
            root: root.try_clone_to_owned()?,
            ids: Mutex::new(()),
        })
    }

    /// The journal's directory; None if there is none (no job recorded).
    fn dir(&self) -> io::Result<Option<OwnedFd>> {
        let n = name(JOURNAL_NAME)?;
        match at::open_at(self.root.as_fd(), &n, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The journal's directory, made if missing.
    fn made_dir(&self) -> io::Result<OwnedFd> {
        match at::mkdir_at(self.root.as_fd(), &name(JOURNAL_NAME)?, 0o700) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        self.dir()?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
    }

    fn read(dir: &OwnedFd, file: &str) -> io::Result<Vec<u8>> {
        let mut f = File::from(at::open_at(dir.as_fd(), &name(file)?, libc::O_RDONLY, 0)?);
        let mut out = Vec::new();
        f.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Writes `file` whole: a temporary, synced, renamed over it.
    fn write(dir: &OwnedFd, file: &str, data: &[u8]) -> io::Result<()> {
        Self::write_as(dir, file, data, 0)
    }

    /// `write`, but EEXIST if `file` exists.
    fn write_new(dir: &OwnedFd, file: &str, data: &[u8]) -> io::Result<()> {
        Self::write_as(dir, file, data, libc::RENAME_NOREPLACE)
    }

    fn write_as(dir: &OwnedFd, file: &str, data: &[u8], flags: u32) -> io::Result<()> {
        let tmp = format!("{file}.new");
        let t = name(&tmp)?;
        let mut f = File::from(at::open_at(
            dir.as_fd(),
            &t,
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o600,
        )?);
        f.write_all(data)?;
        f.sync_all()?;
        let placed = at::rename_at(dir.as_fd(), &t, dir.as_fd(), &name(file)?, flags);
        if placed.is_err() {
            let _ = at::unlink_at(dir.as_fd(), &t, false);
        }
        placed
    }

    /// Records a new job, with an id of at least `floor` and past every recorded one.
    pub fn begin(&self, op: &str, copy: &Copy, floor: u64) -> io::Result<Record> {
        let _one = self.ids.lock();
        let id = self
            .records()
            .iter()
            .map(|r| r.id + 1)
            .fold(floor.max(1), u64::max);
        let (pid, pid_start) = me();
        let r = Record {
            id,
            op: op.to_owned(),
            copy: copy.clone(),
            phase: Phase::Copying,
            pid,
            pid_start,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            target: None,
        };
        let dir = self.made_dir()?;
        // Another mount of the disk dir may take the same id meanwhile: the record is
        // placed only where there is none, else the next id is tried.
        let mut r = r;
        loop {
            let data = serde_json::to_vec(&r).map_err(io::Error::other)?;
            match Self::write_new(&dir, &format!("{}.json", r.id), &data) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => r.id += 1,
                done => return done.map(|()| r),
            }
        }
    }

    /// Writes a job's record anew (its phase).
    pub fn put(&self, r: &Record) -> io::Result<()> {
        let data = serde_json::to_vec(r).map_err(io::Error::other)?;
        let _one = self.ids.lock();
        Self::write(&self.made_dir()?, &format!("{}.json", r.id), &data)
    }

    /// Takes over an interrupted job's record for this daemon.
    pub fn adopt(&self, mut r: Record) -> io::Result<Record> {
        (r.pid, r.pid_start) = me();
        self.put(&r)?;
        Ok(r)
    }

    /// The job is over: its record goes, and the directory with the last one.
    pub fn end(&self, id: u64) {
        let _one = self.ids.lock();
        let Ok(Some(dir)) = self.dir() else { return };
        if let Ok(n) = name(&format!("{id}.json")) {
            let _ = at::unlink_at(dir.as_fd(), &n, false);
        }
        if let Ok(n) = name(JOURNAL_NAME) {
            // Fails while other jobs are recorded, as it should.
            let _ = at::unlink_at(self.root.as_fd(), &n, true);
        }
    }

    pub fn get(&self, id: u64) -> Option<Record> {
        let dir = self.dir().ok()??;
        serde_json::from_slice(&Self::read(&dir, &format!("{id}.json")).ok()?).ok()
    }

    /// Every record, in id order (unreadable ones left out).
    pub fn records(&self) -> Vec<Record> {
        let Ok(Some(dir)) = self.dir() else {
            return Vec::new();
        };
        let mut out: Vec<Record> = at::list(dir.as_fd())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(n, _)| {
                let n = n.to_str()?.to_owned();
                n.strip_suffix(".json")?.parse::<u64>().ok()?;
                serde_json::from_slice(&Self::read(&dir, &n).ok()?).ok()
            })
            .collect();
        out.sort_by_key(|r| r.id);
        out
    }
}

impl Record {
    /// Whether the daemon that runs it is still there.
    pub fn is_live(&self) -> bool {
        start_time(self.pid).is_some_and(|s| s == self.pid_start)
    }

    /// The job's request with its destination as the first run resolved it, if it got that
    /// far, and whether it did (then the copy lands at exactly that name).
    pub fn resolved(&self) -> (Copy, bool) {
        let copy = Copy {
            dst: self.target.clone().unwrap_or(self.copy.dst.clone()),
            ..self.copy.clone()
        };
        (copy, self.target.is_some())
    }

    /// Whether this daemon took it on (its thread may still have died).
    pub fn is_ours(&self) -> bool {
        (self.pid, self.pid_start) == me()
    }
}
