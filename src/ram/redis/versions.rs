//! Which version of each file the kernel's pages hold on this mount: the file's version
//! count (`v`, one up at every change of its data or size, whichever mount makes it) when
//! this mount last opened it, or when its own kernel last changed it. An open that finds it
//! unchanged lets the kernel keep its pages; close-to-open between mounts holds, since a
//! write elsewhere counts it up.
//!
//! A file this mount made or wrote keeps its pages too (`made`, `moved`): the kernel wrote
//! them itself, and a publication that finds the version its pages were of carries them to
//! the new one. Such pages may be partial (a write that ends inside a page leaves it to be
//! read), so the open of a small file still brings its bytes (`written`).

use super::*;

/// Files remembered before the map starts again (forgetting only costs a cold read).
const MAX_FILES: usize = 1 << 16;

/// The version a file's pages are of, and whether this mount's writes made them.
struct Held {
    version: Vec<u8>,
    written: bool,
}

#[derive(Default)]
pub(super) struct Versions {
    map: Mutex<HashMap<Ino, Held>>,
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
        if map.get(&ino).is_some_and(|h| h.version == version) {
            return true;
        }
        Self::hold(&mut map, ino, version.to_vec(), false);
        false
    }

    fn hold(map: &mut HashMap<Ino, Held>, ino: Ino, version: Vec<u8>, written: bool) {
        if map.len() >= MAX_FILES {
            map.clear();
        }
        map.insert(ino, Held { version, written });
    }

    /// A file made on this mount, as its create left it (`fields`, the inode's): the kernel
    /// holds no pages of it yet, so none that are not of this version.
    pub(super) fn made(&self, ino: Ino, fields: &Value) {
        Self::hold(&mut self.map.lock(), ino, version_of(fields), true);
    }

    /// This mount's kernel made the change that took `ino` from version `before` to the one
    /// its fields (`after`) show, through its pages (a publication of its writes, `wrote`,
    /// or a change of its times, mode or owner): pages of `before` are of the new version
    /// now. Where they were of another, nothing changes (the next open drops them).
    pub(super) fn moved(&self, ino: Ino, before: &[u8], after: &Value, wrote: bool) {
        let mut map = self.map.lock();
        if let Some(h) = map.get_mut(&ino).filter(|h| h.version == before) {
            h.version = version_of(after);
            h.written |= wrote;
        }
    }

    /// The kernel's pages of `ino` may hold what the store does not (writes given up).
    pub(super) fn forget(&self, ino: Ino) {
        self.map.lock().remove(&ino);
    }

    /// The version of `ino` whose pages the kernel keeps whole where it keeps them (read
    /// from the store, not written here), if any.
    pub(super) fn known(&self, ino: Ino) -> Option<Vec<u8>> {
        let map = self.map.lock();
        map.get(&ino)
            .filter(|h| !h.written)
            .map(|h| h.version.clone())
    }

    pub(super) fn clear(&self) {
        self.map.lock().clear();
    }
}

/// A file's version from its inode's fields (a script's `attr`), as open.lua names it: the
/// count `v`, then the ctime (or the mtime, which it equals where it is left out).
fn version_of(fields: &Value) -> Vec<u8> {
    let a = array(fields);
    let field = |name: &[u8]| {
        a.chunks_exact(2)
            .find(|p| bytes(&p[0]) == Some(name))
            .and_then(|p| bytes(&p[1]))
    };
    let mut v = field(b"v").unwrap_or(b"0").to_vec();
    v.push(b':');
    v.extend_from_slice(field(b"ct").or_else(|| field(b"mt")).unwrap_or_default());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Value {
        Value::Array(
            pairs
                .iter()
                .flat_map(|(k, v)| [k, v])
                .map(|x| Value::BulkString(x.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn a_version_is_the_count_and_the_ctime_or_mtime() {
        assert_eq!(version_of(&fields(&[("k", "f"), ("mt", "5.1")])), b"0:5.1");
        assert_eq!(
            version_of(&fields(&[("v", "3"), ("mt", "5.1"), ("ct", "6.2")])),
            b"3:6.2"
        );
    }

    #[test]
    fn this_mounts_writes_carry_its_pages_forward_only_from_their_version() {
        let v = Versions::default();
        v.made(9, &fields(&[("k", "f"), ("mt", "1.0")]));
        assert_eq!(v.known(9), None, "written here: its pages may be partial");
        v.moved(9, b"0:1.0", &fields(&[("v", "1"), ("mt", "2.0")]), true);
        assert!(
            v.opened(9, Some(b"1:2.0")),
            "its pages are of the version written"
        );
        assert_eq!(v.known(9), None, "still as written");
        v.moved(9, b"1:1.5", &fields(&[("v", "2"), ("mt", "3.0")]), true);
        assert!(
            !v.opened(9, Some(b"2:3.0")),
            "another change came between: the pages are dropped"
        );
        v.moved(10, b"0:1.0", &fields(&[("v", "1"), ("mt", "2.0")]), true);
        assert_eq!(v.known(10), None, "never opened here: nothing to carry");
    }

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
