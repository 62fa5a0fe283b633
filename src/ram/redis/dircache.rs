//! Attributes of directories as this mount's own scripts left them. The kernel drops a
//! directory's attributes after every change in it and asks for them again at once (its
//! permission check on the next path walk): a create, unlink or rename would cost a second
//! round trip for that. Kept `KEEP` only, so another mount's change shows at most that much
//! later than the kernel's own cache (`ATTR_TTL`) lets it show anyway. Two changes of one
//! directory at once on this mount may answer in either order: then nothing is kept.

use super::*;

/// How long the kernel may trust attributes of a `vram/` inode on Redis.
pub const ATTR_TTL: Duration = Duration::from_secs(1);

/// How long a directory's attributes are served from here after the change that gave them.
const KEEP: Duration = Duration::from_millis(100);

/// Entries kept before the stale ones are swept out.
const SWEEP_AT: usize = 4096;

#[derive(Default)]
struct State {
    kept: HashMap<Ino, (Attr, Instant)>,
    /// Changes running per inode, and whether two of them overlapped.
    running: HashMap<Ino, (u32, bool)>,
}

#[derive(Default)]
pub(super) struct DirCache {
    state: Mutex<State>,
}

/// One change of some inodes, from before its round trip to after its answer; the
/// answers it was given are kept when it ends, unless another change of the same inode
/// overlapped it.
pub(super) struct Change<'a> {
    cache: &'a DirCache,
    inos: Vec<Ino>,
    answers: Vec<Attr>,
}

impl DirCache {
    pub(super) fn change(&self, inos: &[Ino]) -> Change<'_> {
        let mut inos = inos.to_vec();
        inos.sort_unstable();
        inos.dedup();
        let mut st = self.state.lock();
        for &ino in &inos {
            let r = st.running.entry(ino).or_default();
            r.1 |= r.0 > 0;
            r.0 += 1;
        }
        Change {
            cache: self,
            inos,
            answers: Vec::new(),
        }
    }

    pub(super) fn get(&self, ino: Ino) -> Option<Attr> {
        let mut st = self.state.lock();
        match st.kept.get(&ino) {
            Some((a, at)) if at.elapsed() < KEEP => Some(a.clone()),
            Some(_) => {
                st.kept.remove(&ino);
                None
            }
            None => None,
        }
    }

    /// The inode changed in a way no script answer told: ask Redis next time.
    pub(super) fn drop(&self, ino: Ino) {
        self.state.lock().kept.remove(&ino);
    }

    /// Another mount changed the inode: nothing kept of it, nor of a change running now.
    pub(super) fn foreign(&self, ino: Ino) {
        let mut st = self.state.lock();
        st.kept.remove(&ino);
        if let Some(r) = st.running.get_mut(&ino) {
            r.1 = true;
        }
    }

    pub(super) fn clear(&self) {
        self.state.lock().kept.clear();
    }
}

impl Change<'_> {
    /// An inode's attributes in the change's answer (only a directory's are kept).
    pub(super) fn answer(&mut self, a: Attr) {
        if a.kind == Kind::Dir && self.inos.contains(&a.ino) {
            self.answers.push(a);
        }
    }

    /// The same, from a script's answer.
    pub(super) fn answer_value(&mut self, v: Option<&Value>) {
        if let Some(a) = v.and_then(|v| parse_attr(0, v).ok()) {
            self.answer(a);
        }
    }
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        let mut st = self.cache.state.lock();
        if st.kept.len() >= SWEEP_AT {
            st.kept.retain(|_, (_, at)| at.elapsed() < KEEP);
        }
        for &ino in &self.inos {
            let overlapped = match st.running.get_mut(&ino) {
                Some(r) => {
                    r.0 -= 1;
                    let o = r.1;
                    if r.0 == 0 {
                        st.running.remove(&ino);
                    }
                    o
                }
                None => true,
            };
            // The last answer for the inode is its state after this change.
            match self.answers.iter().rev().find(|a| a.ino == ino) {
                Some(a) if !overlapped => {
                    st.kept.insert(ino, (a.clone(), Instant::now()));
                }
                _ => {
                    st.kept.remove(&ino);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(ino: Ino, nlink: u32) -> Attr {
        let t = SystemTime::UNIX_EPOCH;
        Attr {
            ino,
            kind: Kind::Dir,
            perm: 0o755,
            nlink,
            uid: 0,
            gid: 0,
            size: 0,
            allocated: 0,
            rdev: 0,
            atime: t,
            mtime: t,
            ctime: t,
            crtime: t,
        }
    }

    #[test]
    fn a_change_alone_is_kept_two_at_once_are_not() {
        let c = DirCache::default();
        {
            let mut ch = c.change(&[5]);
            ch.answer(dir(5, 3));
        }
        assert_eq!(c.get(5).map(|a| a.nlink), Some(3));
        {
            let mut one = c.change(&[5]);
            let mut two = c.change(&[5]);
            two.answer(dir(5, 4));
            drop(two);
            one.answer(dir(5, 5));
        }
        assert_eq!(c.get(5), None, "overlapping answers may be out of order");
        {
            let _failed = c.change(&[5]);
        }
        assert_eq!(c.get(5), None, "a change without an answer keeps nothing");
        {
            let mut again = c.change(&[5, 5]);
            again.answer(dir(5, 6));
        }
        assert_eq!(
            c.get(5).map(|a| a.nlink),
            Some(6),
            "one change of one inode twice"
        );
    }
}
