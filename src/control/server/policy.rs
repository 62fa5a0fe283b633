//! The mount's policy (`crate::policy`) at work: loaded, checked, carried out on a thread of
//! its own through the same jobs `mavfsctl push` runs (listed in `mavfsctl jobs`, journaled,
//! their copies whole or absent), and pins.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use log::{info, warn};

use super::*;
use crate::node::{Ino, Kind};
use crate::policy::{self, Action, Planned, Policy, PERSISTED_XATTR, PIN_XATTR};
use crate::ram::{StoreError, XattrSet, ROOT_INO};
use crate::vpath::VPath;

/// What the policy thread has done since the mount.
#[derive(Debug, Default)]
pub struct PolicyState {
    pub policy: Mutex<Option<Arc<Policy>>>,
    /// Files, and their bytes, demoted, persisted and deleted.
    pub demoted: AtomicU64,
    pub persisted: AtomicU64,
    pub deleted: AtomicU64,
    pub moved_bytes: AtomicU64,
    /// The last action that failed, in one line.
    pub last_error: Mutex<Option<String>>,
    /// What waited for its durable copy at the last round.
    pub dirty: Mutex<policy::Dirty>,
    /// Demotions refused because another file is at the destination (each said once).
    pub conflicts: Mutex<std::collections::HashSet<String>>,
    /// Files an action is under way on: the other lane leaves them alone meanwhile.
    busy: Mutex<std::collections::HashSet<Ino>>,
}

/// The policy's two threads: durable copies are never kept waiting behind demotions (a
/// watermark can ask for gigabytes), nor demotions behind copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Deletions and demotions, by rule and by watermark.
    Move,
    /// Durable copies (`persist_after`).
    Persist,
}

impl Lane {
    fn takes(self, a: Action) -> bool {
        (a == Action::Persist) == (self == Lane::Persist)
    }
}

/// Marks a file busy while an action runs on it.
struct Busy<'a>(&'a PolicyState, Ino);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.lock().remove(&self.1);
    }
}

impl Control {
    /// The policy given at mount; its threads run for the daemon's life.
    pub fn start_policy(self: &Arc<Self>, policy: Option<Policy>) {
        *self.policy.policy.lock() = policy.map(Arc::new);
        for (lane, name) in [
            (Lane::Move, "mavfs-policy"),
            (Lane::Persist, "mavfs-persist"),
        ] {
            self.start_lane(lane, name);
        }
    }

    fn start_lane(self: &Arc<Self>, lane: Lane, name: &str) {
        let me = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .stack_size(jobs::JOB_STACK)
            .spawn(move || {
                // The policy a round last ran, when, and whether it did anything: a new
                // policy runs at once.
                let mut last: Option<(Arc<Policy>, Instant, bool)> = None;
                loop {
                    let Some(me) = me.upgrade() else { return };
                    // Not held while the round runs (an action reads the policy too).
                    let current = me.policy.policy.lock().clone();
                    if let Some(p) = current {
                        // Past the high watermark a round runs at once (writers fill fast),
                        // unless the last one could free nothing.
                        let due = last.as_ref().is_none_or(|(q, at, did)| {
                            !Arc::ptr_eq(q, &p)
                                || at.elapsed() >= p.tick()
                                || lane == Lane::Move && *did && me.over_high_mark(&p)
                        });
                        if due {
                            let did = me.carry_out(&p, lane);
                            last = Some((p, Instant::now(), did));
                        }
                    }
                    drop(me);
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        if let Err(e) = spawned {
            warn!("cannot start the policy thread: {e}; no policy will run");
        }
    }

    /// Whether vram holds more than the policy's high watermark (one cheap question).
    fn over_high_mark(&self, p: &Policy) -> bool {
        p.marks.is_some_and(|m| {
            let u = self.store.usage();
            u.limit > 0 && (u.bytes + u.meta) as f64 > u.limit as f64 * m.high
        })
    }

    fn plan_now(&self, p: &Policy) -> (Vec<Planned>, Vec<(Ino, u64, SystemTime)>) {
        let writers = self.writers.clone();
        policy::plan(p, &*self.store, SystemTime::now(), &|i| writers.writing(i))
    }

    /// One round of a lane: everything the policy asks of it now. Whether it did anything.
    fn carry_out(self: &Arc<Self>, p: &Policy, lane: Lane) -> bool {
        let (plan, dirty) = self.plan_now(p);
        let mut done = std::collections::HashSet::new();
        if lane == Lane::Persist {
            *self.policy.dirty.lock() = policy::Dirty::of(&dirty, &done);
        }
        for item in plan.into_iter().filter(|i| lane.takes(i.action)) {
            // A policy loaded meanwhile plans afresh.
            let current = self.policy.policy.lock().clone();
            if !current.is_some_and(|c| std::ptr::eq(&*c, p)) {
                break;
            }
            match self.act(&item) {
                Ok(true) => {
                    done.insert(item.attr.ino);
                }
                Ok(false) => {}
                Err(e) => {
                    let line = format!("policy: {} {}: {e}", item.action.verb(), item.path);
                    warn!("{line}");
                    *self.policy.last_error.lock() = Some(line);
                }
            }
        }
        // What this round copied no longer waits.
        if lane == Lane::Persist {
            *self.policy.dirty.lock() = policy::Dirty::of(&dirty, &done);
        }
        !done.is_empty()
    }

    /// Carries out one planned action, unless the file changed since it was planned, was
    /// pinned or opened for writing since: whether it was carried out.
    fn act(self: &Arc<Self>, item: &Planned) -> Result<bool, String> {
        let (name, _) = item.comps.split_last().ok_or("the root of /vram")?;
        if !self.policy.busy.lock().insert(item.attr.ino) {
            return Ok(false);
        }
        let _busy = Busy(&self.policy, item.attr.ino);
        let now = self
            .store
            .lookup(item.dir, name)
            .map_err(|e| e.to_string())?;
        if now.ino != item.attr.ino
            || policy::version(&now) != policy::version(&item.attr)
            || self.writers.writing(now.ino)
            || self.pinned_path(&item.comps)
        {
            return Ok(false);
        }
        let unlink = || -> Result<bool, String> {
            // The last moment to see a writer that opened it meanwhile.
            if self.writers.writing(now.ino) {
                return Ok(false);
            }
            self.store
                .unlink(item.dir, name)
                .map_err(|e| e.to_string())?;
            self.kernel
                .entries(Place::Vram, &[(item.dir, name.to_os_string())]);
            Ok(true)
        };
        let host = self.host_meta(&item.comps);
        let same_on_host = host
            .as_ref()
            .is_some_and(|m| m.size == item.attr.size && m.mtime == item.attr.mtime);
        match item.action {
            Action::Delete => {
                if !unlink()? {
                    return Ok(false);
                }
                self.policy.deleted.fetch_add(1, Ordering::Relaxed);
                info!("policy: deleted {} ({})", item.path, item.why);
                return Ok(true);
            }
            // This very version is on the host already (a durable copy, a pull that kept
            // its source): nothing to copy again.
            Action::Demote if same_on_host => {
                if !unlink()? {
                    return Ok(false);
                }
                self.policy.demoted.fetch_add(1, Ordering::Relaxed);
                info!(
                    "policy: evicted {}, whose copy on /vdisk is current ({})",
                    item.path, item.why
                );
                return Ok(true);
            }
            // Another file is there: it is the user's, and stays. Said once.
            Action::Demote if host.is_some() => {
                if self.policy.conflicts.lock().insert(item.path.clone()) {
                    let line = format!(
                        "policy: cannot demote {}: another file is at {} (left as both are)",
                        item.path,
                        item.path.replacen("/vram", "/vdisk", 1)
                    );
                    warn!("{line}");
                    *self.policy.last_error.lock() = Some(line);
                }
                return Ok(false);
            }
            Action::Demote | Action::Persist => {}
        }
        self.host_parents(&item.comps)?;
        let demote = item.action == Action::Demote;
        let copy = Copy {
            src: item.path.clone(),
            dst: item.path.replacen("/vram", "/vdisk", 1),
            move_source: demote,
            // A durable copy is this file's own place on the host.
            force: !demote,
            verify: false,
            dry_run: false,
            rate: self.policy.policy.lock().as_ref().and_then(|p| p.rate),
        };
        match self.run_op(Op::Push(copy)) {
            // A source changed or opened during its move stays, named in a warning: tried
            // again at a later round.
            Answer::Done {
                result: Outcome::Copied(c),
            } if !c.warnings.is_empty() => {
                info!("policy: {} kept: {}", item.path, c.warnings.join("; "));
                return Ok(false);
            }
            Answer::Done { .. } => {}
            Answer::Error { message } => return Err(message),
            other => return Err(format!("{other:?}")),
        }
        let (counter, what) = if demote {
            (&self.policy.demoted, "demoted")
        } else {
            (&self.policy.persisted, "persisted")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.policy
            .moved_bytes
            .fetch_add(item.attr.size, Ordering::Relaxed);
        if !demote {
            // Marked current only if nothing changed it during the copy.
            if let Ok(a) = self.store.getattr(item.attr.ino) {
                if policy::version(&a) == policy::version(&item.attr) {
                    let mark = policy::mark(&a, &item.path);
                    if let Err(e) = self.store.setxattr(
                        a.ino,
                        OsStr::new(PERSISTED_XATTR),
                        mark.as_bytes(),
                        XattrSet::Any,
                    ) {
                        warn!("policy: {}: cannot mark its copy current: {e}", item.path);
                    }
                }
            }
        }
        info!("policy: {what} {} ({})", item.path, item.why);
        Ok(true)
    }

    /// Whether a pin holds the file at `comps` (under /vram) or a directory above it,
    /// /vram itself included.
    fn pinned_path(&self, comps: &[impl AsRef<OsStr>]) -> bool {
        let pin = OsStr::new(PIN_XATTR);
        let mut at = ROOT_INO;
        if self.store.getxattr(at, pin).is_ok() {
            return true;
        }
        for c in comps {
            match self.store.lookup(at, c.as_ref()) {
                Ok(a) => at = a.ino,
                Err(_) => return false,
            }
            if self.store.getxattr(at, pin).is_ok() {
                return true;
            }
        }
        false
    }

    /// The directories above a file under `/vdisk`, made where missing with the modes and
    /// owners of those above it in `/vram`.
    fn host_parents(&self, comps: &[std::ffi::OsString]) -> Result<(), String> {
        let ram = RamTree::new(self.store.clone());
        let host = HostTree::new(self.disk.clone());
        let mut r = ram.root().map_err(|e| e.to_string())?;
        let mut h = host.root().map_err(|e| e.to_string())?;
        for c in &comps[..comps.len().saturating_sub(1)] {
            let meta = ram.stat(&r, c).map_err(|e| e.to_string())?.ok_or("gone")?;
            r = ram.child_dir(&r, c).map_err(|e| e.to_string())?;
            h = match host.child_dir(&h, c) {
                Ok(d) => d,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let d = host.mkdir(&h, c, &meta).map_err(|e| e.to_string())?;
                    host.note(&h, c);
                    d
                }
                Err(e) => return Err(format!("/vdisk: {e}")),
            };
        }
        self.kernel.entries(Place::Vdisk, &host.take_changed());
        Ok(())
    }

    /// Runs a request as a job of its own, as if a client had written it, and waits for
    /// its answer.
    fn run_op(self: &Arc<Self>, op: Op) -> Answer {
        let req = protocol::Request {
            v: protocol::VERSION,
            op,
        };
        let mut st = OpenCtl {
            request: serde_json::to_vec(&req).unwrap_or_default(),
            ..Default::default()
        };
        st.request.push(b'\n');
        self.start(&mut st);
        if let Some(a) = st.immediate {
            return a;
        }
        let Some(job) = st.job else {
            return Answer::Error {
                message: "no job".into(),
            };
        };
        // Every job gets an answer, even one whose thread panics (`JobDone`).
        let mut result = job.result.lock();
        loop {
            if let Some(a) = result.clone() {
                return a;
            }
            job.answered.wait(&mut result);
        }
    }

    /// The policy's part of `stats`.
    pub fn policy_stats(&self) -> Option<protocol::PolicyStats> {
        let p = self.policy.policy.lock().clone()?;
        let dirty = *self.policy.dirty.lock();
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Some(protocol::PolicyStats {
            rules: p.rules.len() as u64,
            demoted: n(&self.policy.demoted),
            persisted: n(&self.policy.persisted),
            deleted: n(&self.policy.deleted),
            moved_bytes: n(&self.policy.moved_bytes),
            dirty_files: dirty.files,
            dirty_bytes: dirty.bytes,
            dirty_age_secs: dirty
                .oldest
                .map(|t| t.elapsed().unwrap_or_default().as_secs()),
            last_error: self.policy.last_error.lock().clone().unwrap_or_default(),
        })
    }

    pub(super) fn load_policy(&self, text: &str) -> Result<Outcome, JobError> {
        let p = Policy::parse(text).map_err(|e| JobError::Failed(format!("policy: {e}")))?;
        let n = p.rules.len();
        *self.policy.policy.lock() = Some(Arc::new(p));
        Ok(Outcome::Note {
            note: format!("policy loaded: {n} rules"),
        })
    }

    /// The dry run: one line per action, with its reason.
    pub(super) fn check_policy(&self, text: Option<&str>) -> Result<Outcome, JobError> {
        let p =
            match text {
                Some(t) => Arc::new(
                    Policy::parse(t).map_err(|e| JobError::Failed(format!("policy: {e}")))?,
                ),
                None => self.policy.policy.lock().clone().ok_or_else(|| {
                    JobError::Failed("this mount has no policy (give a file)".into())
                })?,
            };
        let (plan, _) = self.plan_now(&p);
        let mut note = String::new();
        let mut bytes = 0;
        for item in &plan {
            bytes += item.attr.size;
            note.push_str(&format!(
                "{} {} ({} bytes): {}\n",
                item.action.verb(),
                item.path,
                item.attr.size,
                item.why
            ));
        }
        note.push_str(&format!(
            "{} actions, {bytes} bytes; nothing was changed (dry run)",
            plan.len()
        ));
        Ok(Outcome::Note { note })
    }

    /// What is at the same relative path under /vdisk, if anything.
    fn host_meta(&self, comps: &[impl AsRef<OsStr>]) -> Option<jobs::Meta> {
        let host = HostTree::new(self.disk.clone());
        let (name, dirs) = comps.split_last()?;
        let mut d = host.root().ok()?;
        for c in dirs {
            d = host.child_dir(&d, c.as_ref()).ok()?;
        }
        host.stat(&d, name.as_ref()).ok().flatten()
    }

    /// Where a file is and what the policy makes of it.
    pub(super) fn state(&self, path: &str) -> Result<protocol::FileState, JobError> {
        let fail = |e: String| JobError::Failed(e);
        let p = VPath::parse(path).map_err(fail)?;
        let comps: Vec<std::ffi::OsString> = p.comps.iter().map(|c| c.to_os_string()).collect();
        let mut at = ROOT_INO;
        let pinned = self.pinned_path(&p.comps);
        let mut found = Ok(());
        for c in &p.comps {
            match self.store.lookup(at, c) {
                Ok(a) => {
                    at = a.ino;
                }
                Err(e) => {
                    found = Err(e);
                    break;
                }
            }
        }
        let now = SystemTime::now();
        let idle = |t: SystemTime| now.duration_since(t).unwrap_or_default().as_secs();
        // The same relative path on the other tier.
        let host_meta = self.host_meta(&p.comps);
        let mut st = protocol::FileState {
            path: p.to_string(),
            ..Default::default()
        };
        // The same relative path is looked up in both tiers, whichever was named.
        match found {
            Ok(()) if !p.comps.is_empty() => {
                let a = self
                    .store
                    .getattr(at)
                    .map_err(|e| fail(format!("{p}: {e}")))?;
                let current = self
                    .store
                    .getxattr(at, OsStr::new(PERSISTED_XATTR))
                    .is_ok_and(|v| v == policy::mark(&a, &policy::vram_path(&comps)).as_bytes());
                st.size = a.size;
                st.pinned = pinned;
                st.idle_secs = idle(a.atime.max(a.mtime));
                st.durable_copy = match (current, &host_meta) {
                    (true, Some(_)) => "current",
                    (_, Some(_)) => "stale",
                    _ => "none",
                }
                .into();
                st.tier = if host_meta.is_some() { "both" } else { "vram" }.into();
                let current = self.policy.policy.lock().clone();
                if let Some(pol) = current {
                    if let Some(r) = pol.rule_for(&comps) {
                        let mut says = Vec::new();
                        for (what, d) in [
                            ("demote_after", r.demote_after),
                            ("persist_after", r.persist_after),
                            ("delete_after", r.delete_after),
                        ] {
                            if let Some(d) = d {
                                says.push(format!("{what} {}", policy::human_age(d)));
                            }
                        }
                        st.rule = format!("{}: {}", r.path, says.join(", "));
                    }
                }
            }
            _ => match host_meta {
                Some(m) => {
                    st.tier = "vdisk".into();
                    st.size = m.size;
                    st.idle_secs = idle(m.mtime);
                    st.durable_copy = "none".into();
                }
                None => return Err(fail(format!("{p}: no such file in /vram or /vdisk"))),
            },
        }
        Ok(st)
    }

    pub(super) fn pin(&self, path: &str, on: bool) -> Result<Outcome, JobError> {
        let fail = |e: String| JobError::Failed(e);
        let p = VPath::parse(path).map_err(fail)?;
        if p.tier != Place::Vram {
            return Err(fail(format!(
                "{p}: pins keep files in /vram; this is not under it"
            )));
        }
        let mut at = ROOT_INO;
        for c in &p.comps {
            at = self
                .store
                .lookup(at, c)
                .map_err(|e| fail(format!("{p}: {e}")))?
                .ino;
        }
        let a = self
            .store
            .getattr(at)
            .map_err(|e| fail(format!("{p}: {e}")))?;
        if a.kind == Kind::Symlink {
            return Err(fail(format!("{p}: a symlink cannot be pinned")));
        }
        let name = OsStr::new(PIN_XATTR);
        let r = if on {
            self.store.setxattr(at, name, b"", XattrSet::Any)
        } else {
            match self.store.removexattr(at, name) {
                Err(StoreError::NoAttr) => Ok(()),
                r => r,
            }
        };
        r.map_err(|e| fail(format!("{p}: {e}")))?;
        let what = if a.kind == Kind::Dir { "tree" } else { "file" };
        Ok(Outcome::Note {
            note: if on {
                format!("pinned {what} {p}: no policy demotes or deletes it")
            } else {
                format!("unpinned {what} {p}")
            },
        })
    }
}
