//! A whole job: the copy (`engine`), then, for `--move`, the removal of what was copied.

use super::engine::{join, Copier};
use super::*;

/// The `--move` half of a job: removes what was copied (`done`) and has not changed since,
/// deepest first; what changed or appeared meanwhile stays, and is reported. Returns whether
/// `name` itself went.
fn remove_copied<T: Tree>(
    tree: &T,
    dir: &T::Dir,
    name: &OsStr,
    meta: &Meta,
    path: &str,
    done: &HashMap<String, Meta>,
    kept: &mut Copied,
) -> JobResult<bool> {
    not_too_deep(path)?;
    let copied = done
        .get(path)
        .filter(|c| c.id == meta.id && c.kind == meta.kind);
    if meta.kind == Kind::Dir {
        let sub = tree.child_dir(dir, name).map_err(|e| fail(path, e))?;
        let mut all_gone = true;
        for n in tree.list(&sub).map_err(|e| fail(path, e))? {
            let p = join(path, &n);
            if let Some(m) = tree.stat(&sub, &n).map_err(|e| fail(&p, e))? {
                all_gone &= remove_copied(tree, &sub, &n, &m, &p, done, kept)?;
            }
        }
        if !all_gone || copied.is_none() {
            return Ok(false);
        }
        return match tree.remove(dir, name, true) {
            Ok(()) => {
                tree.note(dir, name);
                Ok(true)
            }
            // A job's file in the making there: the directory stays for it.
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(false),
            Err(e) => Err(fail(path, e)),
        };
    }
    // Hard links share their inode: removing one name moves the others' ctime, so only
    // the content's version (size and mtime) is compared here.
    let same = copied.is_some_and(|c| c.size == meta.size && c.mtime == meta.mtime);
    if !same {
        kept.warn(format!(
            "{path}: changed or appeared after it was copied; kept at the source"
        ));
        return Ok(false);
    }
    match tree.remove(dir, name, false) {
        Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
            kept.warn(format!(
                "{path}: opened for writing after it was copied; kept at the source"
            ));
            return Ok(false);
        }
        r => r.map_err(|e| fail(path, e))?,
    }
    tree.note(dir, name);
    Ok(true)
}

/// A whole push or pull: copy, then (with `--move`) remove the source. `removing` is called
/// as the removal starts (the journal records it).
pub fn run_copy<S: Tree, D: Tree>(
    src: &S,
    dst: &D,
    req: &Plan<'_>,
    state: &JobState,
    counters: &Counters,
    job_id: u64,
    hooks: &dyn Hooks,
) -> JobResult<Copied> {
    let mut c = Copier::new(src, dst, state, counters, req, job_id);
    let (mut copied, found) = c.run(req, hooks)?;
    if found.is_none() || !req.move_source || req.dry_run {
        return Ok(copied);
    }
    if let Some((name, parents)) = req.src.comps.split_last() {
        // The copies reach the destination's disk before any source goes: a crash of the
        // host then cannot take both.
        dst.sync().map_err(|e| fail(dst.label(), e))?;
        hooks.removing();
        let dir = Copier::<S, D>::walk(src, parents)?;
        let now = src.stat(&dir, name).map_err(|e| fail(req.src.text, e))?;
        if let Some(now) = now {
            remove_copied(src, &dir, name, &now, req.src.text, &c.done, &mut copied).map_err(
                |e| match e {
                    JobError::Failed(m) => {
                        JobError::Failed(format!("copied, but removing the source failed: {m}"))
                    }
                    c => c,
                },
            )?;
        }
    }
    Ok(copied)
}
