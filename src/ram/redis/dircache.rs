//! Attributes of directories as this mount's own scripts left them. The kernel drops a
//! directory's attributes after every change in it and asks for them again at once (its
//! permission check on the next path walk): a create, unlink or rename would cost a second
//! round trip for that. Kept `KEEP` only, so another mount's change shows at most that much
//! later than the kernel's own cache (`ATTR_TTL`) lets it show anyway.

use super::*;

/// How long the kernel may trust attributes of a `vram/` inode on Redis.
pub const ATTR_TTL: Duration = Duration::from_secs(1);

/// How long a directory's attributes are served from here after the change that gave them.
const KEEP: Duration = Duration::from_millis(100);

/// Entries kept before the stale ones are swept out.
const SWEEP_AT: usize = 4096;

#[derive(Default)]
pub(super) struct DirCache {
    map: Mutex<HashMap<Ino, (Attr, Instant)>>,
}

impl DirCache {
    /// Keeps `a` if it is a directory's (no other kind is cached: files change by writes).
    pub(super) fn put(&self, a: Attr) {
        if a.kind != Kind::Dir {
            return;
        }
        let mut map = self.map.lock();
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, at)| at.elapsed() < KEEP);
        }
        // Two threads' answers may arrive out of order: the later change wins.
        if let Some((old, _)) = map.get(&a.ino) {
            if old.ctime > a.ctime {
                return;
            }
        }
        map.insert(a.ino, (a, Instant::now()));
    }

    pub(super) fn get(&self, ino: Ino) -> Option<Attr> {
        let mut map = self.map.lock();
        match map.get(&ino) {
            Some((a, at)) if at.elapsed() < KEEP => Some(a.clone()),
            Some(_) => {
                map.remove(&ino);
                None
            }
            None => None,
        }
    }

    /// The inode changed in a way no script answer told: ask Redis next time.
    pub(super) fn drop(&self, ino: Ino) {
        self.map.lock().remove(&ino);
    }

    pub(super) fn clear(&self) {
        self.map.lock().clear();
    }
}
