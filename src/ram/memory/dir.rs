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

    pub(super) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
