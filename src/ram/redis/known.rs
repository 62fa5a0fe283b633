//! Directories this mount made, with every name in them: a lookup of a name such a
//! directory lacks is answered here, without Redis. `tar -x`, `cp -r` and a create loop look
//! each new name up before making it; that lookup was a round trip answering "no such
//! name". A directory is known from its mkdir on this mount while the notices between mounts
//! flow (`notices.rs`); this mount's own changes keep it current, and another mount's change
//! of a name or of its attributes, a failed or unanswered change here, or a gap in the
//! notices makes it unknown again, and so does `noticed_ttl` after its mkdir. So another
//! mount's new name there shows as soon as its notice arrives, and within that time where a
//! notice was lost, as names the kernel keeps do.

use std::collections::HashSet;

use super::*;

/// Names kept over all directories: past it, everything is forgotten and known afresh.
const MAX_NAMES: usize = 1 << 18;
/// Directories kept.
const MAX_DIRS: usize = 1 << 16;

#[derive(Default)]
struct State {
    /// Each directory's names, and until when they are trusted.
    dirs: HashMap<Ino, (HashSet<OsString>, Instant)>,
    names: usize,
}

#[derive(Default)]
pub(super) struct Known {
    state: Mutex<State>,
}

impl Known {
    /// A directory this mount just made: empty.
    pub(super) fn made(&self, dir: Ino) {
        let mut st = self.state.lock();
        if st.dirs.len() >= MAX_DIRS {
            *st = State::default();
        }
        st.dirs
            .insert(dir, (HashSet::new(), Instant::now() + noticed_ttl()));
    }

    /// Whether `dir` is known and lacks `name`.
    pub(super) fn lacks(&self, dir: Ino, name: &OsStr) -> bool {
        let st = self.state.lock();
        st.dirs
            .get(&dir)
            .is_some_and(|(names, until)| Instant::now() < *until && !names.contains(name))
    }

    /// This mount made `name` in `dir`.
    pub(super) fn add(&self, dir: Ino, name: &OsStr) {
        let mut st = self.state.lock();
        if st.names >= MAX_NAMES {
            *st = State::default();
            return;
        }
        let Some((names, _)) = st.dirs.get_mut(&dir) else {
            return;
        };
        if names.insert(name.to_os_string()) {
            st.names += 1;
        }
    }

    /// This mount removed `name` from `dir`.
    pub(super) fn remove(&self, dir: Ino, name: &OsStr) {
        let mut st = self.state.lock();
        let removed = st.dirs.get_mut(&dir).is_some_and(|(n, _)| n.remove(name));
        if removed {
            st.names -= 1;
        }
    }

    /// `dir` may have changed in a way this mount does not know: asked of Redis again.
    pub(super) fn forget(&self, dir: Ino) {
        let mut st = self.state.lock();
        if let Some((names, _)) = st.dirs.remove(&dir) {
            st.names -= names.len();
        }
    }

    /// After a change of names in `dirs`: `done` on success; a change refused or
    /// unanswered leaves them unsure, so they are forgotten.
    pub(super) fn noted<T>(&self, r: &StoreResult<T>, dirs: &[Ino], done: impl FnOnce(&Self)) {
        match r {
            Ok(_) => done(self),
            Err(_) => dirs.iter().for_each(|&d| self.forget(d)),
        }
    }

    pub(super) fn clear(&self) {
        *self.state.lock() = State::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_made_directories_are_known_and_they_follow_changes() {
        let k = Known::default();
        let n = |s: &str| OsString::from(s);
        assert!(!k.lacks(5, &n("a")), "not made here: unknown");
        k.made(5);
        assert!(k.lacks(5, &n("a")));
        k.add(5, &n("a"));
        assert!(!k.lacks(5, &n("a")));
        assert!(k.lacks(5, &n("b")));
        k.remove(5, &n("a"));
        assert!(k.lacks(5, &n("a")));
        k.add(5, &n("c"));
        k.forget(5);
        assert!(!k.lacks(5, &n("zzz")), "forgotten: unknown");
        assert_eq!(k.state.lock().names, 0);
        k.made(6);
        k.add(6, &n("x"));
        k.clear();
        assert!(!k.lacks(6, &n("y")));
        k.made(7);
        k.state.lock().dirs.get_mut(&7).unwrap().1 = Instant::now();
        assert!(!k.lacks(7, &n("y")), "past its time: unknown");
    }
}
