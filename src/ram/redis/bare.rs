//! Inodes this mount saw holding no extended attributes. The kernel asks for
//! `security.capability` before the first write to a file and before a chown, and a chmod
//! here reads the access ACL: three round trips per file in `tar -x`, all answered "none".
//! A sighting is trusted `ATTR_TTL`, so another mount's setxattr shows at most that much
//! later, as its other attribute changes do. This mount's own xattr changes end every
//! sighting of the inode, and one read while a change ran is not recorded.
//!
//! A sighting also keeps the inode's mode bits: a write kept back (`behind.rs`) by a caller
//! the kernel asks to drop setuid and setgid for needs to know there are none.

use super::*;

/// Sightings kept before the stale ones are swept out (then again at twice the survivors).
const SWEEP_AT: usize = 4096;

#[derive(Default)]
struct State {
    /// When each inode was seen, its mode bits, and whether it had no xattrs.
    seen: HashMap<Ino, (Instant, u16, bool)>,
    /// Moves at the start and the end of every xattr change on this mount.
    epoch: u64,
    sweep_at: usize,
}

#[derive(Default)]
pub(super) struct Bare {
    state: Mutex<State>,
}

/// An xattr change of one inode, from before its round trip to after its answer.
pub(super) struct XattrChange<'a> {
    bare: &'a Bare,
    ino: Ino,
}

impl Bare {
    /// Taken before a read whose answer may be recorded with `saw`.
    pub(super) fn epoch(&self) -> u64 {
        self.state.lock().epoch
    }

    /// Records what a read begun at `epoch` found of the inode: `xb`, its xattr bytes, and
    /// its mode bits.
    pub(super) fn saw(&self, ino: Ino, xattr_bytes: u64, perm: u16, epoch: u64) {
        let mut st = self.state.lock();
        if st.epoch != epoch {
            st.seen.remove(&ino);
            return;
        }
        if st.seen.len() >= st.sweep_at.max(SWEEP_AT) {
            st.seen.retain(|_, s| s.0.elapsed() < ATTR_TTL);
            st.sweep_at = st.seen.len() * 2;
        }
        st.seen
            .insert(ino, (Instant::now(), perm, xattr_bytes == 0));
    }

    fn fresh(&self, ino: Ino) -> Option<(u16, bool)> {
        let st = self.state.lock();
        st.seen
            .get(&ino)
            .filter(|s| s.0.elapsed() < ATTR_TTL)
            .map(|s| (s.1, s.2))
    }

    /// Whether the inode was seen without xattrs within `ATTR_TTL`.
    pub(super) fn is_bare(&self, ino: Ino) -> bool {
        self.fresh(ino).is_some_and(|(_, bare)| bare)
    }

    /// The inode's mode bits, as seen within `ATTR_TTL`.
    pub(super) fn perm(&self, ino: Ino) -> Option<u16> {
        self.fresh(ino).map(|(perm, _)| perm)
    }

    pub(super) fn change(&self, ino: Ino) -> XattrChange<'_> {
        self.end(ino);
        XattrChange { bare: self, ino }
    }

    /// Ends the inode's sighting, and any read running drops what it finds.
    pub(super) fn end(&self, ino: Ino) {
        let mut st = self.state.lock();
        st.epoch += 1;
        st.seen.remove(&ino);
    }

    pub(super) fn clear(&self) {
        let mut st = self.state.lock();
        st.epoch += 1;
        st.seen.clear();
    }
}

impl Drop for XattrChange<'_> {
    fn drop(&mut self) {
        self.bare.end(self.ino);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_overlaps_an_xattr_change_is_not_recorded() {
        let b = Bare::default();
        let e = b.epoch();
        b.saw(7, 0, 0o644, e);
        assert!(b.is_bare(7));
        b.saw(7, 12, 0o644, b.epoch());
        assert!(!b.is_bare(7), "xattrs seen end the sighting");
        assert_eq!(b.perm(7), Some(0o644), "the mode is kept with xattrs too");

        let e = b.epoch();
        let change = b.change(7);
        b.saw(7, 0, 0o644, e);
        assert!(!b.is_bare(7), "read begun before the change started");
        let e = b.epoch();
        drop(change);
        b.saw(7, 0, 0o644, e);
        assert!(!b.is_bare(7), "read begun while the change ran");
        let e = b.epoch();
        b.saw(7, 0, 0o644, e);
        assert!(b.is_bare(7));
        let _c = b.change(7);
        assert!(!b.is_bare(7), "a change ends the sighting at once");
    }

    #[test]
    fn sweeps_keep_the_fresh_sightings() {
        let b = Bare::default();
        let e = b.epoch();
        for ino in 1..=(SWEEP_AT as Ino * 3) {
            b.saw(ino, 0, 0o644, e);
        }
        assert!((1..=(SWEEP_AT as Ino * 3)).all(|i| b.is_bare(i)));
    }
}
