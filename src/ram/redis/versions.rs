//! Which version of each file the kernel's pages hold on this mount: the file's version
//! count (`v`, one up at every change of its data or size, whichever mount makes it) when
//! this mount last opened it. An open that finds it unchanged lets the kernel keep its
//! pages; close-to-open between mounts holds, since a write elsewhere counts it up.

use super::*;

/// Files remembered before the map starts again (forgetting only costs a cold read).
const MAX_FILES: usize = 1 << 16;

#[derive(Default)]
pub(super) struct Versions {
    map: Mutex<HashMap<Ino, Vec<u8>>>,
}

impl Versions {
    /// Records that the kernel opens version `version` of `ino` now: true if the pages it
    /// cached on earlier opens are of that version.
    pub(super) fn opened(&self, ino: Ino, version: Option<&[u8]>) -> bool {
        let mut map = self.map.lock();
        let Some(version) = version else {
            map.remove(&ino);
            return false;
        };
        if map.get(&ino).is_some_and(|v| v == version) {
            return true;
        }
        if map.len() >= MAX_FILES {
            map.clear();
        }
        map.insert(ino, version.to_vec());
        false
    }

    /// The version of `ino` whose pages the kernel keeps, if any.
    pub(super) fn known(&self, ino: Ino) -> Option<Vec<u8>> {
        self.map.lock().get(&ino).cloned()
    }

    pub(super) fn clear(&self) {
        self.map.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Versions;

    #[test]
    fn pages_are_kept_only_for_the_version_they_were_read_from() {
        let v = Versions::default();
        assert!(!v.opened(7, Some(b"100")), "first open: nothing cached yet");
        assert!(v.opened(7, Some(b"100")), "unchanged since");
        assert!(!v.opened(7, Some(b"101")), "changed since the last open");
        assert!(v.opened(7, Some(b"101")));
        assert!(!v.opened(8, Some(b"101")), "another file");
        assert!(!v.opened(7, None), "no version: never kept");
        assert!(!v.opened(7, Some(b"101")), "forgotten with it");
    }
}
