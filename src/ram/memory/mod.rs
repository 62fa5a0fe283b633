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
use crate::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, ShardedMap};

mod chunk;
mod clone;
mod dir;
mod file;
mod image;
mod inode;
mod pool;
mod snapdir;
mod snapio;
#[cfg(test)]
mod tests;
mod tree;

pub use snapdir::{Saved, SnapshotState, Snapshots};

use chunk::Chunk;
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
    /// Numbers start again at every mount without a snapshot: this tells a file handle
    /// from before it stale.
    generation: u64,
    /// Every change of what a snapshot keeps holds this shared; a snapshot takes it alone
    /// for the moment it copies the metadata, so that it sees each change whole or not at
    /// all (see `gate`).
    gate: RwLock<()>,
    /// Changes begun under the gate: a snapshot is due only if this moved since the last.
    changes: AtomicU64,
    /// Where this store is saved, if anywhere.
    snapshots: std::sync::OnceLock<Arc<Snapshots>>,
    /// Saved for the last time (the mount is gone): every change is refused.
    closed: std::sync::atomic::AtomicBool,
    /// Loaded from a snapshot taken as its store closed: no inode number was handed out
    /// after it, so file handles from before stay good (the generation is kept).
    clean: std::sync::atomic::AtomicBool,
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
        let store = MemoryStore::empty(limit, fresh_generation(), ROOT_INO + 1);
        store.dirs.store(1, Ordering::Relaxed);
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

    /// A store without inodes, not even its root.
    fn empty(limit: u64, generation: u64, next_ino: u64) -> Self {
        MemoryStore {
            table: ShardedMap::new(SHARDS),
            next_ino: AtomicU64::new(next_ino),
            generation,
            space: Space {
                used: AtomicU64::new(0),
                meta: AtomicU64::new(0),
                limit,
            },
            files: AtomicU64::new(0),
            dirs: AtomicU64::new(0),
            orphans: AtomicU64::new(0),
            gate: RwLock::new(()),
            changes: AtomicU64::new(0),
            snapshots: std::sync::OnceLock::new(),
            closed: Default::default(),
            clean: Default::default(),
        }
    }

    /// The store `dir`'s newest complete snapshot holds (a new one if none), saved there
    /// from now on; with a line for each snapshot passed over.
    pub fn from_snapshots(
        dir: Arc<Snapshots>,
        limit: u64,
        uid: u32,
        gid: u32,
    ) -> Result<(MemoryStore, Vec<String>), String> {
        let (store, notes) = dir.load(limit, uid, gid)?;
        let _ = store.snapshots.set(dir);
        Ok((store, notes))
    }

    /// Saves a snapshot if anything changed since the last (`None`: nothing to save, or no
    /// snapshot dir).
    pub fn save_if_changed(&self) -> Option<Result<Saved, String>> {
        self.snapshots.get()?.save(self, false, false).transpose()
    }

    /// The last save, as the mount ends: the store refuses every change from the moment it
    /// is taken (a job still running fails rather than change what is no longer saved).
    pub fn save_and_close(&self) -> Option<Result<Saved, String>> {
        self.snapshots.get()?.save(self, false, true).transpose()
    }

    /// Taken by each change a snapshot keeps, before any inode lock (lock order: gate, then
    /// inodes). Counted once it is held, so a snapshot's count covers only finished changes.
    fn gate(&self) -> StoreResult<RwLockReadGuard<'_, ()>> {
        let g = self.gate.read();
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::ReadOnly(
                "the mount is gone and vram/ was saved".into(),
            ));
        }
        self.changes.fetch_add(1, Ordering::AcqRel);
        Ok(g)
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
        if kept {
            if !st.orphan {
                st.orphan = true;
                self.orphans.fetch_add(1, Ordering::AcqRel);
            }
            return;
        }
        let freed = st.extra_bytes();
        if let Body::File(f) = &mut st.body {
            f.release_all(&self.space);
        }
        st.xattrs.clear();
        self.space.release(freed + INODE_COST);
        self.space.meta.fetch_sub(INODE_COST, Ordering::AcqRel);
        // Only now that its space is back: a write short of space that sees the count fall
        // tries again (`Core::ram_spend`), and must then find the space.
        if st.orphan {
            st.orphan = false;
            self.orphans.fetch_sub(1, Ordering::AcqRel);
        }
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
        let _g = self.gate()?;
        let node = self.get(ino)?;
        let mut st = node.state.write();
        let now = SystemTime::now();
        if let Some(size) = set.size {
            if size > MAX_FILE_SIZE {
                return Err(StoreError::TooLarge);
            }
            st.file_mut()?.truncate(size, &self.space);
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
        let _g = self.gate()?;
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
        let parent_acl = ps.xattrs.get(OsStr::new(crate::acl::DEFAULT));
        let acls = inherited(node.acl, node.kind, parent_acl.map(|v| &v[..]))?;
        let mut extra = if node.kind == Kind::Symlink {
            node.target.len() as u64
        } else {
            0
        };
        let mut xattrs = BTreeMap::new();
        for (n, v) in acls {
            extra += (n.len() + v.len()) as u64;
            xattrs.insert(OsString::from(n), v.to_vec());
        }
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
            xattrs,
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
        let _g = self.gate()?;
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
        let _g = self.gate()?;
        self.remove_entry(parent, name, false)
    }

    fn rmdir(&self, parent: Ino, name: &OsStr) -> StoreResult<()> {
        let _g = self.gate()?;
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
        let _g = self.gate()?;
        self.rename_entry(parent, name, newparent, newname, mode)
    }

    fn readlink(&self, ino: Ino) -> StoreResult<Vec<u8>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        match &st.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(StoreError::Invalid),
        }
    }

    fn open(&self, ino: Ino, _reads: bool) -> StoreResult<bool> {
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
        Ok(st.file()?.read(offset, size))
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn read_into(&self, ino: Ino, offset: u64, size: u32, buf: &mut Vec<u8>) -> StoreResult<()> {
        let node = self.get(ino)?;
        let st = node.state.read();
        st.file()?.read_into(offset, size, buf);
        Ok(())
    }

    fn read_with(
        &self,
        ino: Ino,
        offset: u64,
        size: u32,
        out: &mut dyn FnMut(&[u8]),
    ) -> StoreResult<()> {
        let node = self.get(ino)?;
        let st = node.state.read();
        let f = st.file()?;
        // Handed over under the inode's lock: a write waits for the reply to be copied.
        match f.held(offset, size) {
            Some(bytes) => out(bytes),
            None => out(&f.read(offset, size)),
        }
        Ok(())
    }

    fn data_ranges(&self, ino: Ino) -> StoreResult<Vec<(u64, u64)>> {
        let node = self.get(ino)?;
        let st = node.state.read();
        Ok(st.file()?.data_ranges())
    }

    fn write(&self, ino: Ino, offset: u64, data: &[u8]) -> StoreResult<Attr> {
        let _g = self.gate()?;
        let node = self.get(ino)?;
        offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(StoreError::TooLarge)?;
        let mut st = node.state.write();
        st.file_mut()?.write(offset, data, &self.space)?;
        let now = SystemTime::now();
        st.mtime = now;
        st.ctime = now;
        Ok(st.attr(ino))
    }

    fn fallocate(&self, ino: Ino, offset: u64, len: u64, mode: Falloc) -> StoreResult<()> {
        let _g = self.gate()?;
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
                f.extend(offset, end, &self.space)?;
                if !keep_size {
                    f.size = f.size.max(end);
                }
            }
            Falloc::PunchHole => f.zero(offset, end.min(f.size), &self.space),
            Falloc::ZeroRange { keep_size } => {
                f.zero(offset, end.min(f.size), &self.space);
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
        let _g = self.gate()?;
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
        let _g = self.gate()?;
        let node = self.get(ino)?;
        let mut st = node.state.write();
        let v = st.xattrs.remove(name).ok_or(StoreError::NoAttr)?;
        self.space.release((name.len() + v.len()) as u64);
        st.ctime = SystemTime::now();
        Ok(())
    }

    fn clone_tree(&self, src: Ino, parent: Ino, name: &OsStr) -> StoreResult<Attr> {
        self.clone_inner(src, parent, name)
    }

    fn snapshot_state(&self) -> Option<SnapshotState> {
        let dir = self.snapshots.get()?;
        Some(SnapshotState {
            dir: dir.dir().to_owned(),
            last: dir.last(),
            changed_since: dir.changed(self),
            failed: dir.failed(),
        })
    }

    fn snapshot(&self) -> Option<Result<String, String>> {
        let dir = self.snapshots.get()?;
        Some(
            dir.save(self, true, false)
                .map(|s| s.map_or_else(String::new, |s| s.describe())),
        )
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
