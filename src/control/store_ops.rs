//! What control asks of the RAM store itself: clones (`mavfsctl clone`) and snapshots
//! (`mavfsctl snapshot`, and their state in `stats`).

use std::ffi::OsString;

use super::protocol::SnapshotStats;
use crate::node::{Ino, Place};
use crate::ram::{RamStore, StoreError, ROOT_INO};
use crate::vpath::VPath;

/// Clones `src` to `dst` (both under /vram): the line saying what was made, and the name
/// that now exists (its directory and name), for the kernel to forget what it cached there.
pub fn clone_tree(
    store: &dyn RamStore,
    src: &str,
    dst: &str,
) -> Result<(String, Ino, OsString), String> {
    let (s, d) = (VPath::parse(src)?, VPath::parse(dst)?);
    for p in [&s, &d] {
        if p.tier != Place::Vram {
            return Err(format!("{p}: clones are made inside /vram only"));
        }
    }
    let (Some((src_name, src_dirs)), Some((dst_name, dst_dirs))) =
        (s.comps.split_last(), d.comps.split_last())
    else {
        return Err("the root of /vram cannot be cloned, nor replaced by a clone".into());
    };
    let walk = |path: &VPath, dirs: &[&std::ffi::OsStr]| -> Result<Ino, String> {
        let mut at = ROOT_INO;
        for c in dirs {
            at = store.lookup(at, c).map_err(|e| format!("{path}: {e}"))?.ino;
        }
        Ok(at)
    };
    let from = store
        .lookup(walk(&s, src_dirs)?, src_name)
        .map_err(|e| format!("{s}: {e}"))?;
    let parent = walk(&d, dst_dirs)?;
    let made = store
        .clone_tree(from.ino, parent, dst_name)
        .map_err(|e| match e {
            StoreError::Exists => format!("{d} exists (a clone makes a new name)"),
            StoreError::NotSupported => format!(
                "{d}: another mount of this store runs a build without clones (one would free \
                 data a clone shares); update it first"
            ),
            StoreError::NoSpace => format!("{d}: no space left in the RAM tier for the clone"),
            e => format!("{d}: {e}"),
        })?;
    let what = if made.kind == crate::node::Kind::Dir {
        "tree"
    } else {
        "file"
    };
    Ok((
        format!("cloned {what} {s} to {d}"),
        parent,
        dst_name.to_os_string(),
    ))
}

/// Saves a snapshot now: the line saying what was saved, or why not.
pub fn snapshot(store: &dyn RamStore) -> Result<String, String> {
    store.snapshot().unwrap_or_else(|| {
        Err(
            "this mount keeps no snapshots (mount with --snapshot-dir DIR and the in-process store)"
                .into(),
        )
    })
}

/// The snapshot dir's state as `stats` shows it, if the store has one.
pub fn snapshot_stats(store: &dyn RamStore) -> Option<SnapshotStats> {
    let state = store.snapshot_state()?;
    let mut s = SnapshotStats {
        dir: state.dir.display().to_string(),
        changed_since: state.changed_since,
        failed: state.failed.unwrap_or_default(),
        ..Default::default()
    };
    if let Some(l) = state.last {
        s.last = l.path.display().to_string();
        s.last_bytes = l.bytes;
        s.last_age_secs = l.at.elapsed().map_or(0, |d| d.as_secs());
        s.last_took_secs = l.took.as_secs_f64();
    }
    Some(s)
}
