//! The control file `.mavfs-ctl`: one request written, its answers read back, per open file.
//! Requests run on a job thread, so a long push never holds a FUSE thread; a read reports
//! the job's state at that moment and never blocks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, warn};

use super::jobs::{self, HostTree, JobError, JobState, Plan, RamTree};
use super::protocol::{self, Answer, Copy, JobInfo, Op, OpStats, Outcome, Stats, TierStats};
use super::Invalidate;
use crate::counters::{errno_name, Counters, OpKind, Place, Totals, OP_KINDS};
use crate::disk::{at, DiskTier};
use crate::ram::RamStore;
use crate::sync::{Mutex, ShardedMap};

/// A job's final answer, once it has one.
struct Job {
    state: JobState,
    result: Mutex<Option<Answer>>,
}

/// A push or pull, listed in `stats` while it runs.
struct Running {
    op: &'static str,
    copy: Copy,
    job: Arc<Job>,
}

#[derive(Default)]
struct OpenCtl {
    request: Vec<u8>,
    job: Option<Arc<Job>>,
    /// An answer decided without a job (a bad request).
    immediate: Option<Answer>,
    /// Bytes of an answer line not yet read.
    out: Vec<u8>,
    finished: bool,
}

/// Everything the control file needs of the mount.
pub struct Control {
    store: Arc<dyn RamStore>,
    disk: Arc<DiskTier>,
    disk_dir: PathBuf,
    counters: Arc<Counters>,
    kernel: Arc<dyn Invalidate>,
    started: Instant,
    open: ShardedMap<Mutex<OpenCtl>>,
    next_fh: AtomicU64,
    next_job: AtomicU64,
    /// Jobs start and end rarely: one lock is enough here, off the file I/O path.
    running: Mutex<BTreeMap<u64, Running>>,
    /// The last count of the disk dir: when, how long it took, what it found.
    disk_count: Mutex<Option<(Instant, Duration, jobs::Count)>>,
}

/// Why the control file refused a read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CtlError {
    #[error("no such open control file")]
    BadHandle,
    /// A job runs on this open file: only a cancel may be written now.
    #[error("a job is running on this open file")]
    Busy,
}

/// Ends a job whichever way its thread ends: off the running list, and an answer even if
/// the job panicked, so that its client does not wait forever.
struct JobDone<'a> {
    control: &'a Control,
    job: &'a Job,
    id: u64,
}

impl Drop for JobDone<'_> {
    fn drop(&mut self) {
        self.control.running.lock().remove(&self.id);
        let mut result = self.job.result.lock();
        if result.is_none() {
            *result = Some(Answer::Error {
                message: "the job failed unexpectedly (see the mount's log)".into(),
            });
        }
    }
}

impl Control {
    pub fn new(
        store: Arc<dyn RamStore>,
        disk: Arc<DiskTier>,
        disk_dir: PathBuf,
        counters: Arc<Counters>,
        kernel: Arc<dyn Invalidate>,
    ) -> Self {
        Control {
            store,
            disk,
            disk_dir,
            counters,
            kernel,
            started: Instant::now(),
            open: ShardedMap::new(8),
            next_fh: AtomicU64::new(1),
            next_job: AtomicU64::new(1),
            running: Mutex::new(BTreeMap::new()),
            disk_count: Mutex::new(None),
        }
    }

    pub fn open(&self) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.open
            .insert(fh, Arc::new(Mutex::new(OpenCtl::default())));
        fh
    }

    /// Closing the file cancels a job still running; the job cleans up after itself.
    pub fn release(&self, fh: u64) {
        if let Some(h) = self.open.remove(fh) {
            if let Some(job) = &h.lock().job {
                if job.result.lock().is_none() {
                    job.state.cancel.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Takes request bytes; a complete line starts the request.
    pub fn write(self: &Arc<Self>, fh: u64, data: &[u8]) -> Result<u32, CtlError> {
        let h = self.open.get(fh).ok_or(CtlError::BadHandle)?;
        let mut st = h.lock();
        if let Some(job) = &st.job {
            // After the request, only a cancel is understood.
            match protocol::parse_request(data) {
                Ok(r) if r.op == Op::Cancel => job.state.cancel.store(true, Ordering::Relaxed),
                _ => return Err(CtlError::Busy),
            }
            return Ok(data.len() as u32);
        }
        if st.immediate.is_some() {
            return Ok(data.len() as u32);
        }
        st.request.extend_from_slice(data);
        if st.request.len() > protocol::MAX_REQUEST {
            st.immediate = Some(Answer::Error {
                message: format!(
                    "request too large (more than {} bytes)",
                    protocol::MAX_REQUEST
                ),
            });
            st.request = Vec::new();
        } else if st.request.contains(&b'\n') {
            self.start(&mut st);
        }
        Ok(data.len() as u32)
    }

    /// The next bytes of the answer stream; empty at the end.
    pub fn read(self: &Arc<Self>, fh: u64, size: u32) -> Result<Vec<u8>, CtlError> {
        let h = self.open.get(fh).ok_or(CtlError::BadHandle)?;
        let mut st = h.lock();
        if st.out.is_empty() && !st.finished {
            if st.job.is_none() && st.immediate.is_none() {
                if st.request.iter().all(u8::is_ascii_whitespace) {
                    st.immediate = Some(Answer::Error {
                        message: "no request: write one JSON request line, then read".into(),
                    });
                } else {
                    self.start(&mut st);
                }
            }
            let answer = match (&st.immediate, &st.job) {
                (Some(a), _) => a.clone(),
                (None, Some(job)) => job.result.lock().clone().unwrap_or(Answer::Running {
                    progress: job.state.progress(),
                }),
                (None, None) => Answer::Error {
                    message: "no request".into(),
                },
            };
            st.finished = answer.is_final();
            st.out = answer.to_line();
        }
        let n = st.out.len().min(size as usize);
        Ok(st.out.drain(..n).collect())
    }

    fn start(self: &Arc<Self>, st: &mut OpenCtl) {
        let line_end = st
            .request
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(st.request.len());
        let req = match protocol::parse_request(&st.request[..line_end]) {
            Ok(r) => r,
            Err(message) => {
                st.immediate = Some(Answer::Error { message });
                return;
            }
        };
        if req.op == Op::Cancel {
            st.immediate = Some(Answer::Error {
                message: "nothing to cancel: no job runs on this open file".into(),
            });
            return;
        }
        let job = Arc::new(Job {
            state: JobState::default(),
            result: Mutex::new(None),
        });
        st.job = Some(job.clone());
        let me = self.clone();
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let listed = match &req.op {
            Op::Push(c) => Some(("push", c)),
            Op::Pull(c) => Some(("pull", c)),
            _ => None,
        };
        if let Some((op, copy)) = listed {
            let entry = Running {
                op,
                copy: copy.clone(),
                job: job.clone(),
            };
            self.running.lock().insert(id, entry);
        }
        let spawned = std::thread::Builder::new()
            .name(format!("mavfs-job-{id}"))
            .stack_size(jobs::JOB_STACK)
            .spawn(move || {
                let done = JobDone {
                    control: &me,
                    job: &job,
                    id,
                };
                let answer = me.execute(&req.op, &job.state, id);
                *done.job.result.lock() = Some(answer);
                drop(done);
            });
        if let Err(e) = spawned {
            self.running.lock().remove(&id);
            warn!("cannot start a job thread: {e}");
            st.job = None;
            st.immediate = Some(Answer::Error {
                message: format!("cannot start the job: {e}"),
            });
        }
    }

    fn execute(&self, op: &Op, state: &JobState, id: u64) -> Answer {
        let result = match op {
            Op::Push(c) => self.copy(c, true, state, id),
            Op::Pull(c) => self.copy(c, false, state, id),
            Op::Stats => Ok(Outcome::Stats(Box::new(self.stats()))),
            Op::Cancel => Err(JobError::Failed("nothing to cancel".into())),
        };
        match result {
            Ok(outcome) => Answer::Done { result: outcome },
            Err(JobError::Cancelled) => Answer::Cancelled,
            Err(JobError::Failed(message)) => {
                debug!("job {id}: {message}");
                Answer::Error { message }
            }
        }
    }

    fn copy(&self, c: &Copy, push: bool, state: &JobState, id: u64) -> Result<Outcome, JobError> {
        let plan = Plan::new(c).map_err(JobError::Failed)?;
        let (want_src, want_dst, verb, other) = if push {
            (Place::Vram, Place::Vdisk, "push", "pull")
        } else {
            (Place::Vdisk, Place::Vram, "pull", "push")
        };
        if plan.src.tier != want_src || plan.dst.tier != want_dst {
            return Err(JobError::Failed(format!(
                "{verb} copies from /{} to /{} (got {} -> {}); use {other} for the other way",
                want_src.name(),
                want_dst.name(),
                c.src,
                c.dst
            )));
        }
        let ram = RamTree::new(self.store.clone());
        let host = HostTree {
            disk: self.disk.clone(),
        };
        let result = if push {
            jobs::run_copy(&ram, &host, &plan, state, &self.counters, id)
        } else {
            jobs::run_copy(&host, &ram, &plan, state, &self.counters, id)
        };
        let changed = std::mem::take(&mut *ram.changed.lock());
        // Entries (negative ones too) are cached long in vram/: the kernel drops them now.
        self.kernel.ram_entries(&changed);
        result.map(Outcome::Copied)
    }

    /// The push and pull jobs running now.
    pub fn jobs(&self) -> Vec<JobInfo> {
        self.running
            .lock()
            .iter()
            .map(|(&id, r)| JobInfo {
                id,
                op: r.op.to_owned(),
                src: r.copy.src.clone(),
                dst: r.copy.dst.clone(),
                progress: r.job.state.progress(),
            })
            .collect()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn store(&self) -> &dyn RamStore {
        self.store.as_ref()
    }

    /// What the disk dir holds. Walking it is dear on a big tree and a dashboard asks every
    /// second: a count is reused for ten times as long as it took (at most 30 s), so the
    /// walks take at most a tenth of the daemon's time and a small tree is always fresh.
    fn disk_count(&self) -> jobs::Count {
        if let Some((at, took, c)) = *self.disk_count.lock() {
            if at.elapsed() < (took * 10).min(Duration::from_secs(30)) {
                return c;
            }
        }
        let started = Instant::now();
        let host = HostTree {
            disk: self.disk.clone(),
        };
        let mut c = jobs::Count::default();
        if let Ok(root) = jobs::Tree::root(&host) {
            if let Err(e) = jobs::count(&host, &root, &mut c) {
                debug!("stats: counting the disk dir: {e}");
            }
        }
        *self.disk_count.lock() = Some((Instant::now(), started.elapsed(), c));
        c
    }

    fn stats(&self) -> Stats {
        // The ping first: after one that failed, the store answers from what it last knew
        // rather than wait out its timeout twice more.
        let (backend_rtt_us, backend_state) = match self.store.ping() {
            None => (None, String::new()),
            Some(Ok(rtt)) => (Some(rtt.as_micros() as u64), "up".to_owned()),
            Some(Err(why)) => (None, why),
        };
        let u = self.store.usage();
        let (backend, backend_memory) = self.store.describe();
        let tier = |p: Place| tier_stats(&self.counters.totals(p));
        let mut vram = tier(Place::Vram);
        vram.files = u.files;
        vram.dirs = u.dirs_inside();
        vram.bytes = u.bytes;
        let mut vdisk = tier(Place::Vdisk);
        let c = self.disk_count();
        (vdisk.files, vdisk.dirs, vdisk.bytes, vdisk.blocks_bytes) =
            (c.files, c.dirs, c.bytes, c.allocated);
        let jobs = self.jobs();
        let (disk_free, disk_total) = at::statvfs_fd(self.disk.root_fd())
            .map(|s| (s.f_bavail * s.f_frsize, s.f_blocks * s.f_frsize))
            .unwrap_or((0, 0));
        Stats {
            vram,
            vdisk,
            backend,
            vram_limit: u.limit,
            vram_used: u.bytes,
            vram_meta: u.meta,
            backend_memory,
            backend_rtt_us,
            backend_state,
            daemon_rss: resident_bytes(),
            disk_dir: self.disk_dir.display().to_string(),
            disk_free,
            disk_total,
            uptime_secs: self.started.elapsed().as_secs(),
            jobs,
        }
    }
}

/// A tier's counters as `stats` shows them.
fn tier_stats(t: &Totals) -> TierStats {
    let by_op = OP_KINDS
        .iter()
        .map(|&k| (k, t.kind(k)))
        .filter(|(_, c)| c.ops > 0 || c.bytes > 0)
        .map(|(k, c)| {
            let s = OpStats {
                ops: c.ops,
                errors: c.errors,
                bytes: c.bytes,
                mean_us: c.nanos as f64 / c.ops.max(1) as f64 / 1e3,
                p50_us: c.quantile(0.5) * 1e6,
                p99_us: c.quantile(0.99) * 1e6,
            };
            (k.name().to_owned(), s)
        })
        .collect();
    TierStats {
        ops: t.ops(),
        read_bytes: t.kind(OpKind::Read).bytes + t.kind(OpKind::JobRead).bytes,
        write_bytes: t.kind(OpKind::Write).bytes + t.kind(OpKind::JobWrite).bytes,
        errors: t.errors(),
        by_op,
        errors_by_errno: t.errnos.iter().map(|&(e, n)| (errno_name(e), n)).collect(),
        ..Default::default()
    }
}

/// The daemon's resident set size, from /proc/self/statm.
fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
    pages * page
}
