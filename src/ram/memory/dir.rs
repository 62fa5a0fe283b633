//! A directory's entries in the memory store, by name and by cookie.

use super::*;

#[derive(Debug, Default)]
pub(super) struct DirData {
    pub(super) parent: Ino,
    pub(super) by_name: HashMap<OsString, u64>,
    pub(super) by_cookie: BTreeMap<u64, (OsString, Ino, Kind)>,
    pub(super) next_cookie: u64,
}

impl DirData {
    pub(super) fn new(parent: Ino) -> Self {
        DirData {
            parent,
            next_cookie: 3,
            ..Default::default()
        }
    }

    pub(super) fn get(&self, name: &OsStr) -> Option<(Ino, Kind)> {
        let cookie = self.by_name.get(name)?;
        let (_, ino, kind) = &self.by_cookie[cookie];
        Some((*ino, *kind))
    }

    pub(super) fn insert(&mut self, name: &OsStr, ino: Ino, kind: Kind) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        if let Some(old) = self.by_name.insert(name.to_owned(), cookie) {
            self.by_cookie.remove(&old);
        }
        self.by_cookie.insert(cookie, (name.to_owned(), ino, kind));
    }

    pub(super) fn remove(&mut self, name: &OsStr) -> Option<(Ino, Kind)> {
        let cookie = self.by_name.remove(name)?;
        let (_, ino, kind) = self.by_cookie.remove(&cookie)?;
        Some((ino, kind))
    }

    /// `name` becomes `newname` (replacing any entry of that name) where it stands: the
    /// entry keeps its cookie, so a reader part way through the directory meets it once.
    pub(super) fn rename_within(&mut self, name: &OsStr, newname: &OsStr) {
        let Some(cookie) = self.by_name.remove(name) else {
            return;
        };
        if let Some(old) = self.by_name.insert(newname.to_owned(), cookie) {
            self.by_cookie.remove(&old);
        }
        if let Some(e) = self.by_cookie.get_mut(&cookie) {
            e.0 = newname.to_owned();
        }
    }

    /// The inodes behind `a` and `b` change places; each name keeps its cookie.
    pub(super) fn exchange_within(&mut self, a: &OsStr, b: &OsStr) {
        let (Some(&ca), Some(&cb)) = (self.by_name.get(a), self.by_name.get(b)) else {
            return;
        };
        let ea = self.by_cookie.get(&ca).map(|e| (e.1, e.2));
        let eb = self.by_cookie.get(&cb).map(|e| (e.1, e.2));
        if let (Some(ea), Some(eb)) = (ea, eb) {
            for (c, (ino, kind)) in [(ca, eb), (cb, ea)] {
                if let Some(e) = self.by_cookie.get_mut(&c) {
                    (e.1, e.2) = (ino, kind);
                }
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
