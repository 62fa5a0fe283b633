//! A snapshot directory: where the memory store is saved (`vram-SEQ.snap`, newest = highest
//! SEQ) and loaded from at mount.
//!
//! A save writes a temporary name, syncs it and renames it into place, so a file with a
//! snapshot's name is complete unless its bytes changed on disk since (the checksum says so).
//! The two newest are kept: a damaged newest still leaves one to load. One daemon at a time
//! uses a directory (a lock held for the daemon's life); a mount that finds it held waits for
//! a daemon still saving after its unmount.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::info;

use super::image::LoadError;
use super::*;
use crate::sync::Mutex;

/// Snapshots kept after a save.
const KEEP: usize = 2;
const LOCK_NAME: &str = "lock";

/// The snapshot directory of one daemon.
#[derive(Debug)]
pub struct Snapshots {
    dir: PathBuf,
    /// Held for the daemon's life (flock).
    _lock: File,
    /// The newest snapshot's number.
    seq: AtomicU64,
    /// The store's change count at the last save or load: the next is due once it moved.
    saved_at: AtomicU64,
    /// One save at a time.
    saving: Mutex<()>,
    last: Mutex<Option<Saved>>,
    /// Why the last save failed, until one succeeds.
    failed: Mutex<Option<String>>,
    /// The newest snapshot was taken as its store closed.
    newest_clean: std::sync::atomic::AtomicBool,
}

/// A snapshot dir as `stats` shows it.
#[derive(Debug, Clone)]
pub struct SnapshotState {
    pub dir: PathBuf,
    /// The newest snapshot saved or loaded.
    pub last: Option<Saved>,
    /// Whether the store changed since.
    pub changed_since: bool,
    /// Why the last save failed, if it did.
    pub failed: Option<String>,
}

/// One finished save.
#[derive(Debug, Clone)]
pub struct Saved {
    pub path: PathBuf,
    pub bytes: u64,
    pub inodes: usize,
    pub took: Duration,
    /// How long changes waited while its metadata was copied.
    pub paused: Duration,
    pub at: SystemTime,
}

impl Saved {
    /// One line for `mavfsctl snapshot` and the log.
    pub fn describe(&self) -> String {
        let secs = self.took.as_secs_f64();
        format!(
            "snapshot {}: {} inodes, {} bytes in {:.3} s ({:.0} MB/s; changes paused {:.1} ms)",
            self.path.display(),
            self.inodes,
            self.bytes,
            secs,
            self.bytes as f64 / secs.max(1e-9) / 1e6,
            self.paused.as_secs_f64() * 1e3,
        )
    }
}

/// The number in a snapshot's file name (`vram-0000000042.snap`).
fn seq_of(name: &std::ffi::OsStr) -> Option<u64> {
    name.to_str()?
        .strip_prefix("vram-")?
        .strip_suffix(".snap")?
        .parse()
        .ok()
}

fn snap_name(seq: u64) -> String {
    format!("vram-{seq:010}.snap")
}

/// Takes the directory's lock for the mount at `mountpoint`. A daemon whose mount is gone
/// may still be saving: that one is waited for, up to `wait`; one still mounted is not.
fn lock(dir: &Path, mountpoint: &Path, wait: Duration) -> Result<File, String> {
    let path = dir.join(LOCK_NAME);
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("snapshot dir {}: {e}", dir.display()))?;
    let end = Instant::now() + wait;
    loop {
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(format!("snapshot dir {}: lock: {err}", dir.display()));
        }
        // "PID MOUNTPOINT": who holds it, and where it is mounted.
        let holder = fs::read_to_string(&path).unwrap_or_default();
        let (pid, at) = holder.trim_end().split_once(' ').unwrap_or(("?", ""));
        let in_use = || {
            format!(
                "snapshot dir {} is in use by the mount at {at} (daemon pid {pid})",
                dir.display()
            )
        };
        if !at.is_empty() && crate::config::is_mount_point(Path::new(at)) {
            return Err(in_use());
        }
        if Instant::now() >= end {
            return Err(in_use());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f.set_len(0)
        .and_then(|()| {
            f.write_all(format!("{} {}\n", std::process::id(), mountpoint.display()).as_bytes())
        })
        .map_err(|e| format!("snapshot dir {}: {e}", dir.display()))?;
    Ok(f)
}

impl Snapshots {
    /// Opens (and makes) `dir` for the daemon of the mount at `mountpoint` alone; leftovers
    /// of an unfinished save go.
    pub fn open(dir: &Path, mountpoint: &Path, wait: Duration) -> Result<Snapshots, String> {
        // Private: a snapshot holds every byte of vram/.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot make snapshot dir {}: {e}", dir.display()))?;
        let lock = lock(dir, mountpoint, wait)?;
        let s = Snapshots {
            dir: dir.to_path_buf(),
            _lock: lock,
            seq: AtomicU64::new(0),
            saved_at: AtomicU64::new(0),
            saving: Mutex::new(()),
            last: Mutex::new(None),
            failed: Mutex::new(None),
            newest_clean: Default::default(),
        };
        for e in s.entries()? {
            let name = e.file_name();
            if name.to_string_lossy().ends_with(".snap.tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(s)
    }

    fn entries(&self) -> Result<Vec<fs::DirEntry>, String> {
        fs::read_dir(&self.dir)
            .and_then(|d| d.collect())
            .map_err(|e| format!("snapshot dir {}: {e}", self.dir.display()))
    }

    /// The snapshots here, newest first.
    fn listed(&self) -> Result<Vec<(u64, PathBuf)>, String> {
        let mut v: Vec<(u64, PathBuf)> = self
            .entries()?
            .into_iter()
            .filter_map(|e| Some((seq_of(&e.file_name())?, e.path())))
            .collect();
        v.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
        Ok(v)
    }

    /// The store the newest complete snapshot holds, or a new one if there is none; with a
    /// line for each snapshot passed over (set aside as `.damaged`). A snapshot this build
    /// cannot read, or cannot open, refuses the mount: starting without it would lose it.
    pub fn load(
        &self,
        limit: u64,
        uid: u32,
        gid: u32,
    ) -> Result<(MemoryStore, Vec<String>), String> {
        let mut notes = Vec::new();
        let listed = self.listed()?;
        self.seq
            .store(listed.first().map_or(0, |s| s.0), Ordering::Release);
        for (n, (_, path)) in listed.into_iter().enumerate() {
            let started = Instant::now();
            match MemoryStore::load_image(&path, limit) {
                Ok(mut store) => {
                    // Inode numbers may have been handed out after this snapshot (a kill,
                    // or a newer one set aside): a new generation makes handles to them
                    // stale rather than name another file.
                    let clean = n == 0 && store.clean.load(Ordering::Acquire);
                    if !clean {
                        store.generation = super::fresh_generation();
                    }
                    self.newest_clean.store(clean, Ordering::Release);
                    let used = store.space.used.load(Ordering::Acquire);
                    if used > limit {
                        notes.push(format!(
                            "vram/ holds {used} bytes, more than its limit of {limit}: writes \
                             fail with ENOSPC until files are removed (or mount with a larger \
                             --ram-limit)"
                        ));
                    }
                    let took = started.elapsed();
                    info!("loaded {} in {:.3} s", path.display(), took.as_secs_f64());
                    self.saved_at.store(store.change_count(), Ordering::Release);
                    let meta = fs::metadata(&path).ok();
                    *self.last.lock() = Some(Saved {
                        bytes: meta.as_ref().map_or(0, |m| m.len()),
                        inodes: store.table.len(),
                        took,
                        paused: Duration::ZERO,
                        at: meta
                            .and_then(|m| m.modified().ok())
                            .unwrap_or_else(SystemTime::now),
                        path,
                    });
                    return Ok((store, notes));
                }
                Err(e @ (LoadError::Format(_) | LoadError::Io(_))) => {
                    return Err(format!("snapshot {}: {e}", path.display()));
                }
                // Its bytes are as written, yet this build cannot make sense of them:
                // refused rather than set aside, so nothing is lost by starting without it.
                Err(LoadError::Corrupt(why)) if super::image::checksum_holds(&path) => {
                    return Err(format!(
                        "snapshot {}: its checksum holds but this build cannot read it \
                         ({why}); refusing to start without it",
                        path.display()
                    ));
                }
                Err(e) => {
                    let aside = path.with_extension("snap.damaged");
                    let _ = fs::rename(&path, &aside);
                    notes.push(format!(
                        "snapshot {} not loaded: {e} (kept as {}); trying the one before",
                        path.display(),
                        aside.display()
                    ));
                }
            }
        }
        Ok((MemoryStore::new(limit, uid, gid), notes))
    }

    /// Saves `store` if it changed since the last save or load (or always, with `always`);
    /// `None`: nothing to save.
    pub fn save(
        &self,
        store: &MemoryStore,
        always: bool,
        close: bool,
    ) -> Result<Option<Saved>, String> {
        let _one = self.saving.lock();
        let unchanged = store.change_count() == self.saved_at.load(Ordering::Acquire);
        // Closing with nothing changed since the newest snapshot, itself taken as a store
        // closed: it is still the last state, and still says so.
        if !always && unchanged && (!close || self.newest_clean.load(Ordering::Acquire)) {
            if close {
                store.close();
            }
            return Ok(None);
        }
        let started = Instant::now();
        let image = store.image(close);
        let paused = started.elapsed();
        let seq = self.seq.load(Ordering::Acquire) + 1;
        let path = self.dir.join(snap_name(seq));
        let tmp = self.dir.join(format!(".{}.tmp", snap_name(seq)));
        let fail = |e: std::io::Error| format!("snapshot {}: {e}", path.display());
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        let written = image.write_to(&file).and_then(|bytes| {
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()?;
            Ok(bytes)
        });
        let bytes = match written {
            Ok(b) => b,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                let e = fail(e);
                *self.failed.lock() = Some(e.clone());
                return Err(e);
            }
        };
        *self.failed.lock() = None;
        self.seq.store(seq, Ordering::Release);
        self.saved_at.store(image.changes, Ordering::Release);
        self.newest_clean.store(close, Ordering::Release);
        let saved = Saved {
            path,
            bytes,
            inodes: image.inodes(),
            took: started.elapsed(),
            paused,
            at: SystemTime::now(),
        };
        drop(image);
        self.prune();
        info!("{}", saved.describe());
        *self.last.lock() = Some(saved.clone());
        Ok(Some(saved))
    }

    /// Removes all but the newest `KEEP` snapshots.
    fn prune(&self) {
        if let Ok(listed) = self.listed() {
            for (_, old) in listed.into_iter().skip(KEEP) {
                let _ = fs::remove_file(old);
            }
        }
    }

    /// Whether `store` changed since the last save or load.
    pub fn changed(&self, store: &MemoryStore) -> bool {
        store.change_count() != self.saved_at.load(Ordering::Acquire)
    }

    /// Why the last save failed, if it did.
    pub fn failed(&self) -> Option<String> {
        self.failed.lock().clone()
    }

    /// The newest snapshot this daemon saved or loaded.
    pub fn last(&self) -> Option<Saved> {
        self.last.lock().clone()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
