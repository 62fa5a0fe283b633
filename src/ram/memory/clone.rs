//! Clones: an instant copy of a tree whose files share their chunks with the originals
//! (copied on the first write to either side; counted once against the limit).

use super::*;

impl MemoryStore {
    /// `RamStore::clone_tree`. Changes wait while the metadata is copied, so the copy is
    /// the tree at one moment; no file byte is copied.
    pub(super) fn clone_inner(&self, src: Ino, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        check_name(name)?;
        let _alone = self.gate.write();
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::ReadOnly(
                "the mount is gone and vram/ was saved".into(),
            ));
        }
        self.changes.fetch_add(1, Ordering::AcqRel);
        let p = self.get(parent)?;
        {
            let ps = p.state.read();
            if ps.nlink == 0 {
                return Err(StoreError::NotFound);
            }
            if ps.dir()?.get(name).is_some() {
                return Err(StoreError::Exists);
            }
        }
        // Every inode of the tree, parents before children, each given its new number; a
        // file met under several names is one inode with that many links.
        let mut order: Vec<(Ino, Arc<Inode>)> = Vec::new();
        let mut renumbered: HashMap<Ino, (Ino, u32)> = HashMap::new();
        let mut todo = vec![src];
        while let Some(ino) = todo.pop() {
            if let Some(seen) = renumbered.get_mut(&ino) {
                seen.1 += 1;
                continue;
            }
            let node = self.get(ino)?;
            {
                let st = node.state.read();
                if st.nlink == 0 {
                    return Err(StoreError::NotFound);
                }
                if let Body::Dir(d) = &st.body {
                    todo.extend(d.by_cookie.values().map(|e| e.1));
                }
            }
            renumbered.insert(ino, (self.next_ino.fetch_add(1, Ordering::Relaxed), 1));
            order.push((ino, node));
        }
        let extra: u64 = order
            .iter()
            .map(|(_, n)| n.state.read().extra_bytes())
            .sum();
        let meta = order.len() as u64 * INODE_COST;
        self.space.reserve(meta + extra)?;
        self.space.meta.fetch_add(meta, Ordering::AcqRel);
        let now = SystemTime::now();
        let new_ino = |old: Ino| renumbered.get(&old).map_or(old, |r| r.0);
        let mut root = None;
        for (old, node) in &order {
            let st = node.state.read();
            let mut nlink = renumbered.get(old).map_or(1, |r| r.1);
            let body = match &st.body {
                Body::File(f) => Body::File(f.share()),
                Body::Dir(d) => {
                    let up = if *old == src {
                        parent
                    } else {
                        new_ino(d.parent)
                    };
                    let mut copy = DirData::new(up);
                    for (n, child, kind) in d.by_cookie.values() {
                        copy.insert(n, new_ino(*child), *kind);
                    }
                    nlink = 2 + d.by_cookie.values().filter(|e| e.2 == Kind::Dir).count() as u32;
                    Body::Dir(copy)
                }
                Body::Symlink(t) => Body::Symlink(t.clone()),
                Body::Special => Body::Special,
            };
            let copy = State {
                kind: st.kind,
                perm: st.perm,
                nlink,
                uid: st.uid,
                gid: st.gid,
                rdev: st.rdev,
                atime: st.atime,
                mtime: st.mtime,
                ctime: now,
                crtime: now,
                open: 0,
                orphan: false,
                body,
                xattrs: st.xattrs.clone(),
            };
            let ino = new_ino(*old);
            if *old == src {
                root = Some(copy.attr(ino));
            }
            match st.kind {
                Kind::Dir => self.dirs.fetch_add(1, Ordering::Relaxed),
                _ => self.files.fetch_add(1, Ordering::Relaxed),
            };
            drop(st);
            self.insert(ino, copy);
        }
        let root = root.ok_or(StoreError::NotFound)?;
        let mut ps = p.state.write();
        ps.dir_mut()?.insert(name, root.ino, root.kind);
        if root.kind == Kind::Dir {
            ps.nlink += 1;
        }
        ps.touch_dir(now);
        Ok(root)
    }
}
