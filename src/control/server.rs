//! The control file `.mavfs-ctl`: one request written, its answers read back, per open file.
//! Requests run on a job thread, so a long push never holds a FUSE thread; a read reports
//! the job's state at that moment and never blocks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, warn};

use super::jobs::journal::{Journal, Phase, Record};
use super::jobs::{self, HostTree, JobError, JobState, Plan, RamTree, Tree};
use super::protocol::{
    self, Answer, Copy, JobInfo, JobList, Op, OpStats, Outcome, Progress, Stats, TierStats,
};
use super::{store_ops, Invalidate};
use crate::counters::{errno_name, Counters, OpKind, Place, Totals, OP_KINDS};
use crate::disk::{at, DiskTier};
use crate::ram::RamStore;
use crate::sync::{Mutex, ShardedMap};

mod interrupted;
mod policy;
pub use policy::PolicyState;

/// Records in the journal how far a job has come.
struct Recorder<'a> {
    control: &'a Control,
    state: &'a JobState,
    id: u64,
}

impl jobs::Hooks for Recorder<'_> {
    fn target(&self, path: &str) {
        self.control
            .update_record(self.id, |r| r.target = Some(path.to_owned()));
    }

    fn removing(&self) {
        self.state.removing.store(true, Ordering::Relaxed);
        self.control
            .update_record(self.id, |r| r.phase = Phase::Removing);
    }
}

/// A job's final answer, once it has one.
struct Job {
    state: JobState,
    result: Mutex<Option<Answer>>,
    /// Told when `result` is set.
    answered: parking_lot::Condvar,
}

impl Job {
    fn answer(&self, a: Answer) {
        *self.result.lock() = Some(a);
        self.answered.notify_all();
    }
}

/// What a running copy is listed as: its verb and request.
type Listed = (&'static str, Copy);

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
    /// Running jobs on the disk tier, so that a stopped one can be resumed or cancelled.
    /// None if the disk dir refuses it (read-only): jobs then run without.
    journal: Option<Journal>,
    /// Bytes jobs read back and found equal to their source, since the mount.
    verified_bytes: AtomicU64,
    /// Held while a job is checked, taken on and listed as running (and while an interrupted
    /// one is swept or given up), so that two requests cannot take on the same job.
    starting: Mutex<()>,
    /// The tiering policy and what it has done.
    policy: PolicyState,
    /// The `vram/` files open for writing: a policy leaves them alone.
    writers: Arc<crate::policy::Writers>,
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
        self.job.answered.notify_all();
    }
}

impl Control {
    pub fn new(
        store: Arc<dyn RamStore>,
        disk: Arc<DiskTier>,
        disk_dir: PathBuf,
        counters: Arc<Counters>,
        kernel: Arc<dyn Invalidate>,
        writers: Arc<crate::policy::Writers>,
    ) -> Self {
        let journal = match Journal::open(disk.root_fd()) {
            Ok(j) => Some(j),
            Err(e) => {
                warn!("no job journal in the disk dir ({e}): a job a stop interrupts cannot be resumed");
                None
            }
        };
        Control {
            store,
            disk,
            disk_dir,
            counters,
            kernel,
            started: Instant::now(),
            open: ShardedMap::new(8),
            next_fh: AtomicU64::new(1),
            // Past every recorded job: ids name temporary files.
            next_job: AtomicU64::new(
                journal
                    .as_ref()
                    .and_then(|j| j.records().iter().map(|r| r.id + 1).max())
                    .unwrap_or(1),
            ),
            starting: Mutex::new(()),
            running: Mutex::new(BTreeMap::new()),
            disk_count: Mutex::new(None),
            journal,
            verified_bytes: AtomicU64::new(0),
            policy: PolicyState::default(),
            writers,
        }
    }

    /// Removes the temporary files that jobs a stopped daemon left behind (on a thread of
    /// its own: the mount answers meanwhile). The jobs stay listed, to resume or cancel.
    pub fn sweep_interrupted(self: &Arc<Self>) {
        let stopped = self.stopped_jobs();
        if stopped.is_empty() {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("mavfs-sweep".into())
            .stack_size(jobs::JOB_STACK)
            .spawn(move || {
                for r in stopped {
                    let one = me.starting.lock();
                    if !me.is_stopped(&r) {
                        continue; // resumed meanwhile
                    }
                    let n = me.sweep(&r);
                    drop(one);
                    log::info!(
                        "job {} ({} {} -> {}) was interrupted: {n} temporary files removed; `mavfsctl resume {}` finishes it, `mavfsctl cancel {}` gives it up",
                        r.id, r.op, r.copy.src, r.copy.dst, r.id, r.id
                    );
                }
            });
        if let Err(e) = spawned {
            warn!("cannot start the sweep of interrupted jobs: {e}");
        }
    }

    /// Removes one interrupted job's temporary files; how many went.
    fn sweep(&self, r: &Record) -> usize {
        let (copy, exact) = r.resolved();
        let Ok(plan) = Plan::new(&copy) else {
            return 0;
        };
        let plan = Plan {
            exact_dst: exact,
            ..plan
        };
        let ram = RamTree::new(self.store.clone());
        let host = HostTree::new(self.disk.clone());
        let n = if r.op == "push" {
            jobs::sweep_job(&host, &plan, r.id)
        } else {
            jobs::sweep_job(&ram, &plan, r.id)
        };
        self.kernel.entries(Place::Vram, &ram.take_changed());
        self.kernel.entries(Place::Vdisk, &host.take_changed());
        n.unwrap_or_else(|e| {
            warn!("job {}: removing its temporary files: {e}", r.id);
            0
        })
    }

    /// Whether a job of this daemon with this id runs now (its temporary files are not
    /// leftovers).
    pub fn job_running(&self, id: u64) -> bool {
        self.running.lock().contains_key(&id)
    }

    /// Whether a job's temporary files may be removed: it runs neither here nor in another
    /// daemon on the same disk dir.
    pub fn job_stopped(&self, id: u64) -> bool {
        if self.job_running(id) {
            return false;
        }
        match self.journal.as_ref().and_then(|j| j.get(id)) {
            Some(r) => self.is_stopped(&r),
            None => true,
        }
    }

    /// Whether a recorded job runs nowhere: its daemon is gone, or it is this daemon and the
    /// job's thread is (it died, or could not start).
    fn is_stopped(&self, r: &Record) -> bool {
        if r.is_ours() {
            !self.job_running(r.id)
        } else {
            !r.is_live()
        }
    }

    /// The recorded jobs that run nowhere.
    fn stopped_jobs(&self) -> Vec<Record> {
        let Some(j) = &self.journal else {
            return Vec::new();
        };
        j.records()
            .into_iter()
            .filter(|r| self.is_stopped(r))
            .collect()
    }

    /// Changes this daemon's record of a job.
    fn update_record(&self, id: u64, change: impl FnOnce(&mut Record)) {
        let Some(j) = &self.journal else { return };
        if let Some(mut r) = j.get(id).filter(Record::is_ours) {
            change(&mut r);
            if let Err(e) = j.put(&r) {
                warn!("job {id}: journal: {e}");
            }
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
        let starting = self.starting.lock();
        let (id, listed) = match self.job_id(&req.op) {
            Ok(v) => v,
            Err(message) => {
                st.immediate = Some(Answer::Error { message });
                return;
            }
        };
        let job = Arc::new(Job {
            state: JobState::default(),
            result: Mutex::new(None),
            answered: parking_lot::Condvar::new(),
        });
        // A copy's rate; a resumed job keeps the one it was recorded with.
        if let Some((_, c)) = &listed {
            job.state.rate.store(c.rate.unwrap_or(0), Ordering::Relaxed);
        }
        st.job = Some(job.clone());
        let me = self.clone();
        let resumed = matches!(req.op, Op::Resume { .. });
        if let Some((op, copy)) = listed {
            let entry = Running {
                op,
                copy,
                job: job.clone(),
            };
            self.running.lock().insert(id, entry);
        }
        drop(starting);
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
                done.job.answer(answer);
                drop(done);
            });
        if let Err(e) = spawned {
            // A resumed job stays recorded: it is again one that runs nowhere.
            self.running.lock().remove(&id);
            if !resumed {
                self.end_record(id);
            }
            warn!("cannot start a job thread: {e}");
            st.job = None;
            st.immediate = Some(Answer::Error {
                message: format!("cannot start the job: {e}"),
            });
        }
    }

    /// A request's job id, and for a push or pull what it copies (listed while it runs). A
    /// copy is recorded in the journal, which gives its id; a resumed job keeps its own.
    fn job_id(&self, op: &Op) -> Result<(u64, Option<Listed>), String> {
        let counted = || self.next_job.fetch_add(1, Ordering::Relaxed);
        // A job id names its temporary files: unique among this daemon's jobs and past every
        // recorded one.
        let (name, copy) = match op {
            Op::Push(c) => ("push", c),
            Op::Pull(c) => ("pull", c),
            Op::Resume { id } => {
                let r = self.interrupted(*id)?;
                let j = self.journal.as_ref().ok_or("no job journal")?;
                let r = j
                    .adopt(r)
                    .map_err(|e| format!("job {id}: cannot take it over: {e}"))?;
                self.next_job.fetch_max(r.id + 1, Ordering::Relaxed);
                return Ok((
                    r.id,
                    Some((if r.op == "push" { "push" } else { "pull" }, r.copy)),
                ));
            }
            // Not listed and making no files: it needs no id of its own.
            _ => return Ok((0, None)),
        };
        if copy.dry_run {
            // It makes no file: no id to name them by.
            return Ok((0, None));
        }
        let id = match &self.journal {
            Some(j) => match j.begin(name, copy, self.next_job.load(Ordering::Relaxed)) {
                Ok(r) => {
                    self.next_job.fetch_max(r.id + 1, Ordering::Relaxed);
                    r.id
                }
                Err(e) => {
                    warn!("job journal: {e}; this job cannot be resumed if the mount stops");
                    counted()
                }
            },
            None => counted(),
        };
        Ok((id, Some((name, copy.clone()))))
    }

    fn execute(&self, op: &Op, state: &JobState, id: u64) -> Answer {
        let result = match op {
            Op::Push(c) => self.copy(c, true, state, id, None),
            Op::Pull(c) => self.copy(c, false, state, id, None),
            Op::Resume { .. } => match self.journal.as_ref().and_then(|j| j.get(id)) {
                Some(r) => {
                    // To the very target the first run resolved, if it got that far.
                    let (copy, exact) = r.resolved();
                    self.copy(&copy, r.op == "push", state, id, Some((r.phase, exact)))
                }
                None => Err(JobError::Failed(format!("job {id}: its record is gone"))),
            },
            Op::Stats => Ok(Outcome::Stats(Box::new(self.stats()))),
            Op::Jobs => Ok(Outcome::Jobs(JobList { jobs: self.jobs() })),
            Op::CancelJob { id } => self.cancel_job(*id).map(|note| Outcome::Note { note }),
            Op::Cancel => Err(JobError::Failed("nothing to cancel".into())),
            Op::Snapshot => store_ops::snapshot(&*self.store)
                .map(|note| Outcome::Note { note })
                .map_err(JobError::Failed),
            Op::Clone { src, dst } => store_ops::clone_tree(&*self.store, src, dst)
                .map(|(note, dir, name)| {
                    self.kernel.entries(Place::Vram, &[(dir, name)]);
                    Outcome::Note { note }
                })
                .map_err(JobError::Failed),
            Op::Pin { path, pin } => self.pin(path, *pin),
            Op::State { path } => self.state(path).map(Outcome::State),
            Op::PolicyLoad { text } => self.load_policy(text),
            Op::PolicyCheck { text } => self.check_policy(text.as_deref()),
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

    /// A push or pull (or a resumed one): the copy, then its journal record goes.
    fn copy(
        &self,
        c: &Copy,
        push: bool,
        state: &JobState,
        id: u64,
        resume: Option<(Phase, bool)>,
    ) -> Result<Outcome, JobError> {
        let result = Plan::new(c).map_err(JobError::Failed).and_then(|p| {
            let plan = Plan {
                resume: resume.is_some(),
                was_removing: resume.is_some_and(|(p, _)| p == Phase::Removing),
                exact_dst: resume.is_some_and(|(_, exact)| exact),
                ..p
            };
            self.copy_between(c, &plan, push, state, id)
        });
        if !c.dry_run {
            self.end_record(id);
        }
        self.verified_bytes
            .fetch_add(state.progress().verified_bytes, Ordering::Relaxed);
        result
    }

    fn copy_between(
        &self,
        c: &Copy,
        plan: &Plan<'_>,
        push: bool,
        state: &JobState,
        id: u64,
    ) -> Result<Outcome, JobError> {
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
        let ram = RamTree::new(self.store.clone()).with_writers(self.writers.clone());
        let host = HostTree::new(self.disk.clone());
        let hooks = Recorder {
            control: self,
            state,
            id,
        };
        let result = if push {
            jobs::run_copy(&ram, &host, plan, state, &self.counters, id, &hooks)
        } else {
            jobs::run_copy(&host, &ram, plan, state, &self.counters, id, &hooks)
        };
        // What the job changed, the kernel forgets now, before the job answers: a read
        // right after it sees the new state on both tiers.
        self.kernel.entries(Place::Vram, &ram.take_changed());
        self.kernel.entries(Place::Vdisk, &host.take_changed());
        result.map(Outcome::Copied)
    }

    /// Drops a job's record, if this daemon made it (a job without one, because the
    /// journal failed, must not end another's).
    fn end_record(&self, id: u64) {
        if let Some(j) = &self.journal {
            if j.get(id).is_some_and(|r| r.is_ours()) {
                j.end(id);
            }
        }
    }

    /// The push and pull jobs running now, then those a stopped daemon left unfinished.
    pub fn jobs(&self) -> Vec<JobInfo> {
        let _listing = self.starting.lock();
        let mut out: Vec<JobInfo> = self
            .running
            .lock()
            .iter()
            .map(|(&id, r)| JobInfo {
                id,
                op: r.op.to_owned(),
                src: r.copy.src.clone(),
                dst: r.copy.dst.clone(),
                progress: r.job.state.progress(),
                state: "running".into(),
                phase: if r.job.state.removing.load(Ordering::Relaxed) {
                    Phase::Removing.name().into()
                } else {
                    Phase::Copying.name().into()
                },
                move_source: r.copy.move_source,
                verify: r.copy.verify,
            })
            .collect();
        {
            out.extend(self.stopped_jobs().into_iter().map(|r| JobInfo {
                id: r.id,
                op: r.op,
                src: r.copy.src,
                dst: r.copy.dst,
                progress: Progress::default(),
                state: "interrupted".into(),
                phase: r.phase.name().into(),
                move_source: r.copy.move_source,
                verify: r.copy.verify,
            }));
        }
        out
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
        let host = HostTree::new(self.disk.clone());
        let mut c = jobs::Count::default();
        if let Ok(root) = host.root() {
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
        let jobs = self
            .jobs()
            .into_iter()
            .filter(|j| j.state == "running")
            .collect();
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
            snapshot: store_ops::snapshot_stats(&*self.store),
            policy: self.policy_stats(),
            cluster: self.store.nodes(),
            uring_requests: crate::uring::served(),
            verified_bytes: self.verified_bytes.load(Ordering::Relaxed)
                + self
                    .running
                    .lock()
                    .values()
                    .map(|r| r.job.state.progress().verified_bytes)
                    .sum::<u64>(),
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
