//! `MemoryStore`: the in-process RAM store (the default, like tmpfs).
//!
//! Layout: a sharded table `ino → Arc<Inode>`; each inode has its own `RwLock` over its
//! metadata and body. File data lives in fixed 1 MiB chunks, each only as long as the highest
//! byte written in it, so a 4 KiB write touches one chunk and a small file costs its size.
//!
//! Lock order (deadlock freedom): inode locks are taken in ascending inode number; a table
//! shard lock is a leaf (taken last, held briefly, never while waiting for an inode lock).
//! Operations on several inodes (create, link, unlink, rename) look their inodes up without
//! holding a lock, lock them all in order, then re-check that the names still point where they
//! did; if not, they start over.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use super::*;
use crate::sync::{RwLock, RwLockWriteGuard, ShardedMap};

mod dir;
mod file;
mod inode;

use dir::DirData;
use file::FileData;
use inode::{Body, Inode, Space, State};

/// Size of one data chunk.
pub const CHUNK: u64 = 1 << 20;
/// Largest file size, as on a 64-bit tmpfs.
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
const SHARDS: usize = 64;
/// Link count limit for files, as ext4's.
const LINK_MAX: u32 = 65000;

/// The in-process store.
#[derive(Debug)]
pub struct MemoryStore {
    table: ShardedMap<Inode>,
    next_ino: AtomicU64,
    space: Space,
    files: AtomicU64,
    dirs: AtomicU64,
    /// Inodes without links kept alive for an open or the kernel: space on its way back.
    orphans: AtomicU64,
    /// Numbers start again at every mount: this tells a file handle from before it stale.
    generation: u64,
}

/// A generation unlike an earlier store's (the kernel keeps 32 bits of it), never 0.
fn fresh_generation() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = t.subsec_nanos() ^ (t.as_secs() as u32).rotate_left(16) ^ std::process::id();
    u64::from(mixed.max(1))
}

impl MemoryStore {
    /// A store holding at most `limit` bytes, with a root directory owned by `uid:gid`.
    pub fn new(limit: u64, uid: u32, gid: u32) -> Self {
        let store = MemoryStore {
            table: ShardedMap::new(SHARDS),
            next_ino: AtomicU64::new(ROOT_INO + 1),
            generation: fresh_generation(),
            space: Space {
                used: AtomicU64::new(0),
                meta: AtomicU64::new(0),
                limit,
            },
            files: AtomicU64::new(0),
            dirs: AtomicU64::new(1),
            orphans: AtomicU64::new(0),
        };
        let now = SystemTime::now();
        let root = State {
            kind: Kind::Dir,
            perm: 0o755,
            nlink: 2,
            uid,
            gid,
            rdev: 0,
            atime: now,
            mtime: now,
            ctime: now,
            crtime: now,
            open: 0,
            orphan: false,
            body: Body::Dir(DirData::new(ROOT_INO)),
            xattrs: BTreeMap::new(),
        };
        store.insert(ROOT_INO, root);
        store
    }

    fn get(&self, ino: Ino) -> StoreResult<Arc<Inode>> {
        self.table.get(ino).ok_or(StoreError::NotFound)
    }

    fn insert(&self, ino: Ino, state: State) -> Arc<Inode> {
        let node = Arc::new(Inode {
            ino,
            kernel_refs: AtomicU64::new(0),
            state: RwLock::new(state),
        });
        self.table.insert(ino, node.clone());
        node
    }

    /// Drops an inode that has neither links nor open handles, and frees its bytes.
    /// Called with the inode's lock held, so nobody can pin it in between.
    fn reap_if_unused(&self, ino: Ino, st: &mut State) {
        if st.nlink > 0 {
            return;
        }
        let kept = st.open > 0
            || self
                .table
                .get(ino)
                .is_some_and(|n| n.kernel_refs.load(Ordering::Acquire) > 0);
        if kept != st.orphan {
            st.orphan = kept;
            if kept {
                self.orphans.fetch_add(1, Ordering::AcqRel);
            } else {
                self.orphans.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if kept {
            return;
        }
        let mut freed = st.extra_bytes();
        if let Body::File(f) = &mut st.body {
            freed += f.allocated;
            *f = FileData::default();
        }
        st.xattrs.clear();
        self.space.release(freed + INODE_COST);
        self.space.meta.fetch_sub(INODE_COST, Ordering::AcqRel);
        match st.kind {
            Kind::Dir => self.dirs.fetch_sub(1, Ordering::Relaxed),
            _ => self.files.fetch_sub(1, Ordering::Relaxed),
        };
        self.table.remove(ino);
    }

    /// The inode a directory entry points to, looked up without keeping any lock.
    fn child_of(&self, parent: &Inode, name: &OsStr) -> StoreResult<Option<(Ino, Arc<Inode>)>> {
        let child = parent.state.read().dir()?.get(name);
        match child {
            None => Ok(None),
            Some((ino, _)) => Ok(Some((ino, self.get(ino)?))),
        }
    }
}

/// The directory behind guard `i` of `lock_in_order`.
fn dir_in<'g>(
    g: &'g mut [Option<RwLockWriteGuard<'_, State>>],
    i: usize,
) -> StoreResult<&'g mut DirData> {
    g[i].as_mut().ok_or(StoreError::Invalid)?.dir_mut()
}

/// Write-locks distinct inodes in ascending inode order; the guards come back in the order
/// the inodes were given, with `None` for a repeat of an earlier inode.
fn lock_in_order<'a>(nodes: &[&'a Arc<Inode>]) -> Vec<Option<RwLockWriteGuard<'a, State>>> {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| nodes[i].ino);
    let mut guards: Vec<Option<RwLockWriteGuard<'a, State>>> =
        (0..nodes.len()).map(|_| None).collect();
    let mut last = None;
    for i in order {
        if last == Some(nodes[i].ino) {
            continue;
        }
        last = Some(nodes[i].ino);
        guards[i] = Some(nodes[i].state.write());
    }
    guards
}

fn resolve(t: TimeSet, now: SystemTime) -> SystemTime {
    match t {
        TimeSet::Now => now,
        TimeSet::At(t) => t,
    }
}

impl RamStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn lookup(&self, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        if name.len() > NAME_MAX {
            return Err(StoreError::NameTooLong);
        }
        let p = self.get(parent)?;
        let (ino, node) = self.child_of(&p, name)?.ok_or(StoreError::NotFound)?;
        let attr = node.state.read().attr(ino);
        Ok(attr)
    }

    fn getattr(&self, ino: Ino) -> StoreResult<Attr> {
        let node = self.get(ino)?;
        let attr = node.state.read().attr(ino);
        Ok(attr)
    }

    fn setattr(&self, ino: Ino, set: &SetAttr) -> StoreResult<Attr> {
        let node = self.get(ino)?;
        let mut st = node.state.write();
        let now = SystemTime::now();
        if let Some(size) = set.size {
            if size > MAX_FILE_SIZE {
                return Err(StoreError::TooLarge);
            }
            let f = st.file_mut()?;
            let freed = f.truncate(size);
            self.space.release(freed);
            st.mtime = now;
        }
        if let Some(perm) = set.perm {
            st.perm = perm & 0o7777;
        }
        if let Some(uid) = set.uid {
            st.uid = uid;
        }
        if let Some(gid) = set.gid {
            st.gid = gid;
        }
        if let Some(t) = set.atime {
            st.atime = resolve(t, now);
        }
        if let Some(t) = set.mtime {
            st.mtime = resolve(t, now);
        }
        if set.kill_privs && st.kind != Kind::Dir {
            st.perm = killed_mode(u32::from(st.perm), set.kill_sgid) as u16;
        }
        st.ctime = set.ctime.unwrap_or(now);
        Ok(st.attr(ino))
    }

    fn readdir(&self, dir: Ino, after: u64, max: usize) -> StoreResult<DirPage> {
        let node = self.get(dir)?;
        let st = node.state.read();
        let d = st.dir()?;
        let entries = d
            .by_cookie
            .range(after + 1..)
            .take(max)
            .map(|(&cookie, (name, ino, kind))| DirEntry {
                name: name.clone(),
                ino: *ino,
                kind: *kind,
                cookie,
            })
            .collect();
        Ok(DirPage {
            parent: d.parent,
            entries,
        })
    }

    fn create(&self, parent: Ino, name: &OsStr, node: &NewNode<'_>) -> StoreResult<Attr> {
        check_name(name)?;
        let p = self.get(parent)?;
        let mut ps = p.state.write();
        if ps.nlink == 0 {
            return Err(StoreError::NotFound);
        }
        let dir = ps.dir()?;
        if dir.get(name).is_some() {
            return Err(StoreError::Exists);
        }
        let extra = if node.kind == Kind::Symlink {
            node.target.len() as u64
        } else {
            0
        };
        self.space.reserve(extra + INODE_COST)?;
        self.space.meta.fetch_add(INODE_COST, Ordering::AcqRel);
        let now = SystemTime::now();
        let mut perm = node.perm & 0o7777;
        let mut gid = node.gid;
        if ps.perm & (libc::S_ISGID as u16) != 0 {
            gid = ps.gid;
            if node.kind == Kind::Dir {
                perm |= libc::S_ISGID as u16;
            }
        }
        let ino = self.next_ino.fetch_add(1, Ordering::Relaxed);
        let body = match node.kind {
            Kind::File => Body::File(FileData::default()),
            Kind::Dir => Body::Dir(DirData::new(parent)),
            Kind::Symlink => Body::Symlink(node.target.to_vec()),
            _ => Body::Special,
        };
        let state = State {
            kind: node.kind,
            perm,
            nlink: if node.kind == Kind::Dir { 2 } else { 1 },
            uid: node.uid,
            gid,
            rdev: node.rdev,
            atime: now,
            mtime: now,
            ctime: now,
            crtime: now,
            open: 0,
            orphan: false,
            body,
            xattrs: BTreeMap::new(),
        };
        let attr = state.attr(ino);
        self.insert(ino, state);
        match node.kind {
            Kind::Dir => {
                ps.nlink += 1;
                self.dirs.fetch_add(1, Ordering::Relaxed)
            }
            _ => self.files.fetch_add(1, Ordering::Relaxed),
        };
        ps.dir_mut()?.insert(name, ino, node.kind);
        ps.touch_dir(now);
        Ok(attr)
    }

    fn link(&self, ino: Ino, newparent: Ino, newname: &OsStr) -> StoreResult<Attr> {
        check_name(newname)?;
        let node = self.get(ino)?;
        let p = self.get(newparent)?;
        let mut guards = lock_in_order(&[&p, &node]);
        let now = SystemTime::now();
        {
            let ps = guards[0].as_mut().ok_or(StoreError::Invalid)?;
            if ps.nlink == 0 {
                return Err(StoreError::NotFound);
            }
            if ps.dir()?.get(newname).is_some() {
                return Err(StoreError::Exists);
            }
        }
        let attr = {
            let ns = guards[1].as_mut().ok_or(StoreError::Invalid)?;
            if ns.kind == Kind::Dir {
                return Err(StoreError::NotPermitted);
            }
            if ns.nlink == 0 {
                return Err(StoreError::NotFound);
            }
            if ns.nlink >= LINK_MAX {
                return Err(StoreError::TooManyLinks);
            }
            ns.nlink += 1;
            ns.ctime = now;
            ns.attr(ino)
        };
        let ps = guards[0].as_mut().ok_or(StoreError::Invalid)?;
        ps.dir_mut()?.insert(newname, ino, attr.kind);
        ps.touch_dir(now);
        Ok(attr)
    }

    fn unlink(&self, parent: Ino, name: &OsStr) -> StoreResult<()> {
        self.remove_entry(parent, name, false)
    }

    fn rmdir(&self, parent: Ino, name: &OsStr) -> StoreResult<()> {
        self.remove_entry(parent, name, true)
    }

    fn rename(
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

    fn readlink(&self, ino: Ino) -> StoreResult<Vec<u8>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        match &st.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(StoreError::Invalid),
        }
    }

    fn open(&self, ino: Ino) -> StoreResult<bool> {
        let node = self.get(ino)?;
        let mut st = node.state.write();
        if node.unused(&st) {
            return Err(StoreError::NotFound);
        }
        st.open += 1;
        // Only this mount changes the store.
        Ok(true)
    }

    fn orphans(&self) -> u64 {
        self.orphans.load(Ordering::Acquire)
    }

    fn pin(&self, ino: Ino) -> StoreResult<()> {
        let node = self.get(ino)?;
        let st = node.state.read();
        if node.unused(&st) {
            return Err(StoreError::NotFound);
        }
        node.kernel_refs.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn forget(&self, ino: Ino, n: u64) {
        if let Ok(node) = self.get(ino) {
            let mut st = node.state.write();
            let left = node.kernel_refs.load(Ordering::Acquire).saturating_sub(n);
            node.kernel_refs.store(left, Ordering::Release);
            self.reap_if_unused(ino, &mut st);
        }
    }

    fn release(&self, ino: Ino) {
        if let Ok(node) = self.get(ino) {
            let mut st = node.state.write();
            st.open = st.open.saturating_sub(1);
            self.reap_if_unused(ino, &mut st);
        }
    }

    fn read(&self, ino: Ino, offset: u64, size: u32) -> StoreResult<Vec<u8>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        match &st.body {
            Body::File(f) => Ok(f.read(offset, size)),
            Body::Dir(_) => Err(StoreError::IsDir),
            _ => Err(StoreError::Invalid),
        }
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn read_into(&self, ino: Ino, offset: u64, size: u32, buf: &mut Vec<u8>) -> StoreResult<()> {
        let node = self.get(ino)?;
        let st = node.state.read();
        match &st.body {
            Body::File(f) => {
                f.read_into(offset, size, buf);
                Ok(())
            }
            Body::Dir(_) => Err(StoreError::IsDir),
            _ => Err(StoreError::Invalid),
        }
    }

    fn data_ranges(&self, ino: Ino) -> StoreResult<Vec<(u64, u64)>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        match &st.body {
            Body::File(f) => Ok(f.data_ranges()),
            Body::Dir(_) => Err(StoreError::IsDir),
            _ => Err(StoreError::Invalid),
        }
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> StoreResult<Attr> {
        let node = self.get(ino)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(StoreError::TooLarge)?;
        let mut st = node.state.write();
        let f = st.file_mut()?;
        if !data.is_empty() {
            self.space.reserve(f.growth(offset, end))?;
            f.write(offset, data);
        }
        let now = SystemTime::now();
        st.mtime = now;
        st.ctime = now;
        Ok(st.attr(ino))
    }

    fn fallocate(&self, ino: Ino, offset: u64, len: u64, mode: Falloc) -> StoreResult<()> {
        let node = self.get(ino)?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(StoreError::TooLarge)?;
        if len == 0 {
            return Err(StoreError::Invalid);
        }
        let mut st = node.state.write();
        let f = st.file_mut()?;
        match mode {
            Falloc::Allocate { keep_size } => {
                self.space.reserve(f.growth(offset, end))?;
                f.extend(offset, end);
                if !keep_size {
                    f.size = f.size.max(end);
                }
            }
            Falloc::PunchHole => {
                let freed = f.zero(offset, end.min(f.size));
                self.space.release(freed);
            }
            Falloc::ZeroRange { keep_size } => {
                let freed = f.zero(offset, end.min(f.size));
                self.space.release(freed);
                if !keep_size {
                    f.size = f.size.max(end);
                }
            }
        }
        let now = SystemTime::now();
        st.mtime = now;
        st.ctime = now;
        Ok(())
    }

    fn setxattr(&self, ino: Ino, name: &OsStr, value: &[u8], how: XattrSet) -> StoreResult<()> {
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(if name.is_empty() {
                StoreError::Invalid
            } else {
                StoreError::NameTooLong
            });
        }
        if value.len() > XATTR_SIZE_MAX {
            return Err(StoreError::TooLarge);
        }
        let node = self.get(ino)?;
        let mut st = node.state.write();
        let old = st.xattrs.get(name).map(|v| (name.len() + v.len()) as u64);
        match (how, old) {
            (XattrSet::Create, Some(_)) => return Err(StoreError::Exists),
            (XattrSet::Replace, None) => return Err(StoreError::NoAttr),
            _ => {}
        }
        if old.is_none() {
            let listed: usize = st.xattrs.keys().map(|k| k.len() + 1).sum();
            if listed + name.len() + 1 > XATTR_LIST_MAX {
                return Err(StoreError::NoSpace);
            }
        }
        let new = (name.len() + value.len()) as u64;
        let old = old.unwrap_or(0);
        if new > old {
            self.space.reserve(new - old)?;
        } else {
            self.space.release(old - new);
        }
        st.xattrs.insert(name.to_owned(), value.to_vec());
        st.ctime = SystemTime::now();
        Ok(())
    }

    fn getxattr(&self, ino: Ino, name: &OsStr) -> StoreResult<Vec<u8>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        st.xattrs.get(name).cloned().ok_or(StoreError::NoAttr)
    }

    fn listxattr(&self, ino: Ino) -> StoreResult<Vec<OsString>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        Ok(st.xattrs.keys().cloned().collect())
    }

    fn removexattr(&self, ino: Ino, name: &OsStr) -> StoreResult<()> {
        let node = self.get(ino)?;
        let mut st = node.state.write();
        let v = st.xattrs.remove(name).ok_or(StoreError::NoAttr)?;
        self.space.release((name.len() + v.len()) as u64);
        st.ctime = SystemTime::now();
        Ok(())
    }

    fn usage(&self) -> Usage {
        let meta = self.space.meta.load(Ordering::Relaxed);
        Usage {
            bytes: self.space.used.load(Ordering::Relaxed).saturating_sub(meta),
            meta,
            limit: self.space.limit,
            files: self.files.load(Ordering::Relaxed),
            dirs: self.dirs.load(Ordering::Relaxed),
        }
    }
}

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
    fn remove_entry(&self, parent: Ino, name: &OsStr, dir: bool) -> StoreResult<()> {
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
}
