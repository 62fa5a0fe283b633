//! Changes of the memory store's tree that meet several inodes: rename and remove.

use super::*;

impl MemoryStore {
    /// Whether `a` is `b` or one of its ancestors, following directories' parent links.
    fn is_ancestor(&self, a: Ino, mut b: Ino) -> bool {
        loop {
            if a == b {
                return true;
            }
            if b == ROOT_INO {
                return false;
            }
            let parent = match self.get(b) {
                Ok(n) => match &n.state.read().body {
                    Body::Dir(d) => d.parent,
                    _ => return false,
                },
                Err(_) => return false,
            };
            if parent == b {
                return false;
            }
            b = parent;
        }
    }

    /// unlink (`dir == false`) or rmdir (`dir == true`) of `parent/name`.
    pub(super) fn remove_entry(&self, parent: Ino, name: &OsStr, dir: bool) -> StoreResult<()> {
        check_removable(name)?;
        let p = self.get(parent)?;
        loop {
            let (ino, child) = self.child_of(&p, name)?.ok_or(StoreError::NotFound)?;
            let mut g = lock_in_order(&[&p, &child]);
            let entry = g[0].as_ref().ok_or(StoreError::Invalid)?.dir()?.get(name);
            if entry.map(|e| e.0) != Some(ino) {
                continue;
            }
            let now = SystemTime::now();
            {
                let cs = g[1].as_mut().ok_or(StoreError::Invalid)?;
                match (dir, cs.kind == Kind::Dir) {
                    (false, true) => return Err(StoreError::IsDir),
                    (true, false) => return Err(StoreError::NotDir),
                    (true, true) if !cs.dir()?.is_empty() => return Err(StoreError::NotEmpty),
                    _ => {}
                }
                cs.nlink = if dir { 0 } else { cs.nlink - 1 };
                cs.ctime = now;
                self.reap_if_unused(ino, cs);
            }
            let ps = g[0].as_mut().ok_or(StoreError::Invalid)?;
            ps.dir_mut()?.remove(name);
            if dir {
                ps.nlink -= 1;
            }
            ps.touch_dir(now);
            return Ok(());
        }
    }

    /// `rename` (the caller holds the gate).
    pub(super) fn rename_entry(
        &self,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        mode: RenameMode,
    ) -> StoreResult<()> {
        check_name(name)?;
        check_name(newname)?;
        let p1 = self.get(parent)?;
        let p2 = self.get(newparent)?;
        loop {
            let (src_ino, src) = self.child_of(&p1, name)?.ok_or(StoreError::NotFound)?;
            let dst = self.child_of(&p2, newname)?;
            let dst_node = dst.as_ref().map(|(_, n)| n.clone());
            if dst.as_ref().is_some_and(|d| d.0 == src_ino) {
                // Two names of one inode: POSIX says do nothing.
                return Ok(());
            }
            // A directory cannot move into its own subtree, nor over a directory it lies in
            // (the kernel checks this for one mount; other callers and other mounts may not).
            let src_is_dir = src.state.read().kind == Kind::Dir;
            if src_is_dir && self.is_ancestor(src_ino, newparent) {
                return Err(StoreError::Invalid);
            }
            if let Some((dst_ino, _)) = &dst {
                if self.is_ancestor(*dst_ino, parent) {
                    return Err(match mode {
                        RenameMode::Replace => StoreError::NotEmpty,
                        _ => StoreError::Invalid,
                    });
                }
            }
            let mut nodes = vec![&p1, &p2, &src];
            if let Some(d) = &dst_node {
                nodes.push(d);
            }
            let mut g = lock_in_order(&nodes);
            // Every inode must be a distinct one from here on (the checks above make it so
            // unless the tree moved meanwhile): nothing is changed unless all are locked.
            if g[2].is_none() || (dst_node.is_some() && g[3].is_none()) {
                continue;
            }
            // Re-check under the locks: the names may have moved meanwhile.
            let now_src = g[0].as_ref().ok_or(StoreError::Invalid)?.dir()?.get(name);
            let p2_guard = if g[1].is_some() { 1 } else { 0 };
            let now_dst = g[p2_guard]
                .as_ref()
                .ok_or(StoreError::Invalid)?
                .dir()?
                .get(newname);
            if now_src.map(|e| e.0) != Some(src_ino)
                || now_dst.map(|e| e.0) != dst.as_ref().map(|d| d.0)
            {
                continue;
            }
            let src_kind = now_src.map(|e| e.1).ok_or(StoreError::NotFound)?;
            let now = SystemTime::now();
            let dst_ino = dst.as_ref().map(|d| d.0);
            let src_guard = 2;
            let dst_guard = 3;
            match (mode, dst_ino) {
                (RenameMode::Exchange, None) => return Err(StoreError::NotFound),
                (RenameMode::NoReplace, Some(_)) => return Err(StoreError::Exists),
                (RenameMode::Exchange, Some(dst_ino)) => {
                    let dst_kind = now_dst.map(|e| e.1).ok_or(StoreError::NotFound)?;
                    if p2_guard == 0 {
                        dir_in(&mut g, 0)?.exchange_within(name, newname);
                    } else {
                        dir_in(&mut g, 0)?.insert(name, dst_ino, dst_kind);
                        dir_in(&mut g, p2_guard)?.insert(newname, src_ino, src_kind);
                    }
                    if p2_guard == 1 && (src_kind == Kind::Dir) != (dst_kind == Kind::Dir) {
                        let (from, to) = if src_kind == Kind::Dir {
                            (0, 1)
                        } else {
                            (1, 0)
                        };
                        g[from].as_mut().ok_or(StoreError::Invalid)?.nlink -= 1;
                        g[to].as_mut().ok_or(StoreError::Invalid)?.nlink += 1;
                    }
                    for (i, new_parent) in [(src_guard, newparent), (dst_guard, parent)] {
                        let s = g[i].as_mut().ok_or(StoreError::Invalid)?;
                        s.ctime = now;
                        if let Body::Dir(d) = &mut s.body {
                            d.parent = new_parent;
                        }
                    }
                }
                (_, dst_ino) => {
                    if let Some(dst_ino) = dst_ino {
                        let ds = g[dst_guard].as_mut().ok_or(StoreError::Invalid)?;
                        match (src_kind == Kind::Dir, ds.kind == Kind::Dir) {
                            (true, false) => return Err(StoreError::NotDir),
                            (false, true) => return Err(StoreError::IsDir),
                            (true, true) if !ds.dir()?.is_empty() => {
                                return Err(StoreError::NotEmpty)
                            }
                            _ => {}
                        }
                        if ds.kind == Kind::Dir {
                            ds.nlink = 0;
                            g[p2_guard].as_mut().ok_or(StoreError::Invalid)?.nlink -= 1;
                        } else {
                            ds.nlink -= 1;
                        }
                        let ds = g[dst_guard].as_mut().ok_or(StoreError::Invalid)?;
                        ds.ctime = now;
                        self.reap_if_unused(dst_ino, ds);
                    }
                    if p2_guard == 0 {
                        dir_in(&mut g, 0)?.rename_within(name, newname);
                    } else {
                        dir_in(&mut g, 0)?.remove(name);
                        dir_in(&mut g, p2_guard)?.insert(newname, src_ino, src_kind);
                    }
                    let s = g[src_guard].as_mut().ok_or(StoreError::Invalid)?;
                    s.ctime = now;
                    if let Body::Dir(d) = &mut s.body {
                        d.parent = newparent;
                    }
                    if src_kind == Kind::Dir && p2_guard == 1 {
                        g[0].as_mut().ok_or(StoreError::Invalid)?.nlink -= 1;
                        g[1].as_mut().ok_or(StoreError::Invalid)?.nlink += 1;
                    }
                }
            }
            g[0].as_mut().ok_or(StoreError::Invalid)?.touch_dir(now);
            g[p2_guard]
                .as_mut()
                .ok_or(StoreError::Invalid)?
                .touch_dir(now);
            return Ok(());
        }
    }
}
