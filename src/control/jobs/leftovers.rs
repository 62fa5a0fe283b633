//! Temporary names: a job writes each file under one (`TMP_PREFIX`, its id, a number) and
//! renames it into place once whole. What a stopped job left under such names is swept at
//! the next mount, when the job is cancelled, and by `rmdir` of a directory holding only that.

use super::*;

/// A job's temporary name: `TMP_PREFIX`, the job's id, a number.
pub fn tmp_name(job_id: u64, seq: u64) -> OsString {
    let mut n = OsString::from(OsStr::from_bytes(TMP_PREFIX));
    n.push(format!("{job_id}.{seq}"));
    n
}

/// The job a temporary name belongs to.
pub fn tmp_job(name: &OsStr) -> Option<u64> {
    let rest = name.as_bytes().strip_prefix(TMP_PREFIX)?;
    let id = rest.split(|&b| b == b'.').next()?;
    std::str::from_utf8(id).ok()?.parse().ok()
}

/// Removes the temporary files in `dir` of the jobs `job` picks (never a directory: a job
/// makes its directories under their own names). Returns how many went.
pub fn remove_leftovers<T: Tree>(
    tree: &T,
    dir: &T::Dir,
    job: &dyn Fn(u64) -> bool,
) -> io::Result<usize> {
    let mut n = 0;
    let gone = |e: &io::Error| e.raw_os_error() == Some(libc::ENOENT);
    for name in tree.leftovers(dir, job)? {
        // Another sweep, or an rmdir, may have taken it meanwhile.
        let m = match tree.stat(dir, &name) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        if m.kind == Kind::Dir {
            continue;
        }
        match tree.remove(dir, &name, false) {
            Ok(()) => {
                tree.note(dir, &name);
                n += 1;
            }
            Err(e) if gone(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Removes an interrupted job's temporary files: beside its destination, and throughout
/// the tree it was copying into. Returns how many went.
pub fn sweep_job<T: Tree>(tree: &T, plan: &Plan<'_>, id: u64) -> io::Result<usize> {
    let mine = |j: u64| j == id;
    let Some(src_name) = plan.src.comps.last() else {
        return Ok(0);
    };
    let (parents, last) = match plan.dst.comps.split_last() {
        Some((last, parents)) => (parents, *last),
        None => (&[][..], *src_name),
    };
    let walk = |comps: &[&OsStr]| -> io::Result<Option<T::Dir>> {
        let mut d = tree.root()?;
        for c in comps {
            match tree.child_dir(&d, c) {
                Ok(sub) => d = sub,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Some(d))
    };
    let Some(parent) = walk(parents)? else {
        return Ok(0);
    };
    let mut n = remove_leftovers(tree, &parent, &mine)?;
    // The recorded target: exactly where the copy lands.
    if plan.exact_dst {
        if let Ok(d) = tree.child_dir(&parent, last) {
            n += sweep_tree(tree, &d, &mine, 0)?;
        }
        return Ok(n);
    }
    // Into the tier's root, the copy is `src_name` there; else, into `last` if it is a
    // directory (then `last/src_name` is the job's own tree), or to the name `last`.
    if let Ok(d) = tree.child_dir(&parent, last) {
        if plan.dst.comps.is_empty() {
            n += sweep_tree(tree, &d, &mine, 0)?;
        } else if let Ok(own) = tree.child_dir(&d, src_name) {
            n += remove_leftovers(tree, &d, &mine)?;
            n += sweep_tree(tree, &own, &mine, 0)?;
        } else {
            n += sweep_tree(tree, &d, &mine, 0)?;
        }
    }
    Ok(n)
}

fn sweep_tree<T: Tree>(
    tree: &T,
    dir: &T::Dir,
    job: &dyn Fn(u64) -> bool,
    depth: usize,
) -> io::Result<usize> {
    if depth > MAX_DEPTH {
        return Ok(0);
    }
    let mut n = remove_leftovers(tree, dir, job)?;
    for name in tree.list(dir)? {
        if let Ok(sub) = tree.child_dir(dir, &name) {
            n += sweep_tree(tree, &sub, job, depth + 1)?;
        }
    }
    Ok(n)
}
