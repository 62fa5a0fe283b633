//! What a policy asks for now, and why: a walk of the parts of `vram/` its rules reach.
//! The dry run prints the plan; the policy thread carries it out.

use std::ffi::{OsStr, OsString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{human_age, Policy, Rule, PERSISTED_XATTR, PIN_XATTR};
use crate::node::{Attr, Ino, Kind};
use crate::ram::{RamStore, ROOT_INO};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Removed from `vram/`.
    Delete,
    /// Moved to `/vdisk`, same relative path.
    Demote,
    /// Copied to `/vdisk`, same relative path; it stays in `vram/`.
    Persist,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Demote => "demote",
            Action::Persist => "persist",
        }
    }
}

/// One thing the policy asks for.
#[derive(Debug, Clone)]
pub struct Planned {
    pub action: Action,
    /// `/vram/a/b`.
    pub path: String,
    /// Under `/vram`.
    pub comps: Vec<OsString>,
    pub dir: Ino,
    /// The file as it was seen: a change before the action is carried out calls it off.
    pub attr: Attr,
    /// Its durable copy on `/vdisk` is current (a demotion may replace it).
    pub persisted: bool,
    pub why: String,
}

/// The version a durable copy is of: the file's mtime and size.
/// The persist mark of a file at `path` (`/vram/...`): its version there. A file renamed
/// or cloned elsewhere carries a mark that is not its new place's.
pub fn mark(a: &Attr, path: &str) -> String {
    format!("{} {path}", version(a))
}

pub fn version(a: &Attr) -> String {
    let ns = a
        .mtime
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{ns}:{}", a.size)
}

/// The mtime a version string (`version`) names.
fn version_time(v: &[u8]) -> Option<SystemTime> {
    let s = std::str::from_utf8(v).ok()?;
    let ns: u64 = s.split(':').next()?.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(ns))
}

/// A file the walk found under a rule.
struct Seen<'p> {
    rule: &'p Rule,
    comps: Vec<OsString>,
    dir: Ino,
    attr: Attr,
    idle: Duration,
    pinned: bool,
    persisted: bool,
    /// Open for writing on this mount: counted, never acted on.
    writing: bool,
    /// Since when the file has had changes without a durable copy: the version last
    /// copied (its mtime), or the file's birth if it never was.
    dirty_since: SystemTime,
}

/// Files under a persist_after rule whose durable copy is not current.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dirty {
    pub files: u64,
    pub bytes: u64,
    /// The oldest change among them.
    pub oldest: Option<SystemTime>,
}

impl Dirty {
    /// The summary of files (inode, size, last change), leaving out those in `done`.
    pub fn of(files: &[(Ino, u64, SystemTime)], done: &std::collections::HashSet<Ino>) -> Dirty {
        let mut d = Dirty::default();
        for &(_, size, mtime) in files.iter().filter(|f| !done.contains(&f.0)) {
            d.files += 1;
            d.bytes += size;
            d.oldest = Some(d.oldest.map_or(mtime, |o| o.min(mtime)));
        }
        d
    }
}

/// What `policy` asks for at `now`, in the order to do it: deletions, then demotions by
/// rule, then those the high watermark asks for (least recently used first), then
/// persists; and the files that wait for their durable copy (inode, size, last change). Files open for writing here (`writing`)
/// are left alone, pinned ones are never demoted or deleted.
pub fn plan(
    policy: &Policy,
    store: &dyn RamStore,
    now: SystemTime,
    writing: &dyn Fn(Ino) -> bool,
) -> (Vec<Planned>, Vec<(Ino, u64, SystemTime)>) {
    let mut seen = Vec::new();
    walk(
        policy,
        store,
        ROOT_INO,
        &mut Vec::new(),
        has(store, ROOT_INO, PIN_XATTR).is_some(),
        now,
        writing,
        &mut seen,
    );
    let dirty = seen
        .iter()
        .filter(|s| s.rule.persist_after.is_some() && !s.persisted)
        .map(|s| (s.attr.ino, s.attr.size, s.dirty_since))
        .collect();
    let mut out = Vec::new();
    let mut spare = Vec::new();
    for s in seen.into_iter().filter(|s| !s.writing) {
        let r = s.rule;
        let why = |d: Duration, what: &str| {
            format!(
                "not used for {} (rule {}: {}, {what})",
                human_age(s.idle),
                r.path,
                human_age(d)
            )
        };
        let due = |d: Option<Duration>| d.filter(|&d| !s.pinned && s.idle >= d);
        let act = if let Some(d) = due(r.delete_after) {
            Some((Action::Delete, why(d, "delete_after")))
        } else {
            due(r.demote_after).map(|d| (Action::Demote, why(d, "demote_after")))
        };
        match act {
            Some((action, why)) => out.push(planned(action, s, why)),
            None => spare.push(s),
        }
    }
    out.sort_by_key(|p| p.action != Action::Delete);
    // The watermark: least recently used first, among files a rule lets leave vram.
    if let Some(m) = policy.marks {
        let u = store.usage();
        let used = u.bytes + u.meta;
        let high = (u.limit as f64 * m.high) as u64;
        if u.limit > 0 && used > high {
            let mut to_free = used.saturating_sub((u.limit as f64 * m.low) as u64);
            for p in &out {
                to_free = to_free.saturating_sub(p.attr.size);
            }
            spare.sort_by_key(|s| std::cmp::Reverse(s.idle));
            let pct = used as f64 * 100.0 / u.limit as f64;
            let mut left = Vec::new();
            for s in spare {
                let may =
                    !s.pinned && (s.rule.demote_after.is_some() || s.rule.persist_after.is_some());
                if to_free > 0 && may {
                    to_free = to_free.saturating_sub(s.attr.size);
                    let why = format!(
                        "vram/ at {pct:.0}% of its limit, over the {:.0}% high watermark: least recently used (not used for {})",
                        m.high * 100.0,
                        human_age(s.idle)
                    );
                    out.push(planned(Action::Demote, s, why));
                } else {
                    left.push(s);
                }
            }
            spare = left;
        }
    }
    for s in spare {
        if let Some(d) = s.rule.persist_after {
            // Idle for half the bound, or changing for that long: a steady writer's file
            // gets its copy within the bound too.
            let dirty = now.duration_since(s.dirty_since).unwrap_or_default();
            if !s.persisted && (s.idle >= d / 2 || dirty >= d / 2) {
                let why = format!(
                    "changed {} ago, without a durable copy for {} (rule {}: {}, persist_after)",
                    human_age(s.idle),
                    human_age(dirty),
                    s.rule.path,
                    human_age(d)
                );
                out.push(planned(Action::Persist, s, why));
            }
        }
    }
    (out, dirty)
}

/// `/vram/a/b` of components that are UTF-8 (the walk takes no others).
pub fn vram_path(comps: &[OsString]) -> String {
    let mut path = String::from("/vram");
    for c in comps {
        path.push('/');
        path.push_str(&c.to_string_lossy());
    }
    path
}

/// How deep the walk goes, as jobs do.
const MAX_DEPTH: usize = 8192;

fn planned(action: Action, s: Seen<'_>, why: String) -> Planned {
    let path = vram_path(&s.comps);
    Planned {
        action,
        path,
        comps: s.comps,
        dir: s.dir,
        attr: s.attr,
        persisted: s.persisted,
        why,
    }
}

fn has(store: &dyn RamStore, ino: Ino, name: &str) -> Option<Vec<u8>> {
    store.getxattr(ino, OsStr::new(name)).ok()
}

#[allow(clippy::too_many_arguments)]
fn walk<'p>(
    policy: &'p Policy,
    store: &dyn RamStore,
    dir: Ino,
    comps: &mut Vec<OsString>,
    pinned: bool,
    now: SystemTime,
    writing: &dyn Fn(Ino) -> bool,
    out: &mut Vec<Seen<'p>>,
) {
    let Ok(all) = store.readdir_all(dir) else {
        return;
    };
    for e in all.entries {
        // A job's files in the making; names a path cannot carry exactly (jobs take
        // UTF-8 paths); trees deeper than any job walks.
        if crate::node::is_tmp_name(&e.name)
            || e.name.to_str().is_none()
            || comps.len() >= MAX_DEPTH
        {
            continue;
        }
        comps.push(e.name.clone());
        if policy.reaches(comps) {
            let pin = pinned || has(store, e.ino, PIN_XATTR).is_some();
            match e.kind {
                Kind::Dir => walk(policy, store, e.ino, comps, pin, now, writing, out),
                Kind::File => {
                    if let (Some(rule), Ok(attr)) = (policy.rule_for(comps), store.getattr(e.ino)) {
                        let last = attr.atime.max(attr.mtime);
                        let mark = has(store, e.ino, PERSISTED_XATTR);
                        let persisted = mark.as_ref().is_some_and(|v| {
                            *v == super::mark(&attr, &vram_path(comps)).as_bytes()
                        });
                        let dirty_since = mark
                            .as_deref()
                            .and_then(version_time)
                            .unwrap_or(attr.crtime.min(attr.mtime));
                        out.push(Seen {
                            writing: writing(e.ino),
                            dirty_since,
                            rule,
                            comps: comps.clone(),
                            dir,
                            idle: now.duration_since(last).unwrap_or_default(),
                            attr,
                            pinned: pin,
                            persisted,
                        });
                    }
                }
                _ => {}
            }
        }
        comps.pop();
    }
}
