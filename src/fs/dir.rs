//! Directory listings on both tiers and the mount root.

use super::*;
use crate::control::jobs::{self, HostTree, RamTree, Tree};

impl MavFs {
    pub fn opendir(&self, ino: u64) -> FsResult<u64> {
        match Self::route(ino)? {
            Target::Disk(id) => {
                let stream = self.disk.opendir(id)?;
                Ok(self.handles.insert(Handle::Dir(Mutex::new(stream))))
            }
            Target::Ram(i) => {
                // The kernel opens only what it holds as a directory. A store that reads a
                // listing whole checks at that first read (gone: ENOENT, not a directory:
                // ENOTDIR), which spares Redis a round trip per opendir; the others fail
                // early here, as the host would.
                if self.store.lists_whole() {
                    return Ok(self.handles.insert(Handle::RamDir(Mutex::new(None))));
                }
                let a = self.store.getattr(i)?;
                if a.kind != Kind::Dir {
                    return Err(FsError::NotDir);
                }
                Ok(0)
            }
            Target::Root => Ok(0),
            Target::Control => Err(FsError::NotDir),
        }
    }

    pub fn releasedir(&self, fh: u64) {
        if fh != 0 {
            self.handles.remove(fh);
        }
    }

    /// Entries after `offset`, at most `max`. Offsets 1 and 2 are `.` and `..` on the RAM
    /// tier and the root; on the disk tier they are the host directory's own offsets.
    pub fn readdir(&self, ino: u64, fh: u64, offset: u64, max: usize) -> FsResult<Vec<DirItem>> {
        Ok(self.readdir_heard(ino, fh, offset, max, false)?.0)
    }

    /// `readdir`, with what `changes_heard` said when a RAM listing the page comes from was
    /// read (names read before a notice of another mount's change are kept short), and
    /// with `plus`, the attributes of the page's names where the store read them with the
    /// listing.
    fn readdir_heard(
        &self,
        ino: u64,
        fh: u64,
        offset: u64,
        max: usize,
        plus: bool,
    ) -> FsResult<Listed> {
        let dots = |me: u64, parent: u64| {
            [(me, 1u64, "."), (parent, 2, "..")]
                .into_iter()
                .filter(move |(_, o, _)| *o > offset)
                .map(|(ino, offset, n)| DirItem {
                    ino,
                    offset,
                    kind: FileType::Directory,
                    name: n.into(),
                })
        };
        match Self::route(ino)? {
            Target::Root => {
                let mut out: Vec<DirItem> = dots(inode::ROOT, inode::ROOT).collect();
                for (i, (ino, name)) in [(inode::VRAM, VRAM_NAME), (inode::VDISK, VDISK_NAME)]
                    .iter()
                    .enumerate()
                {
                    let off = 3 + i as u64;
                    if off > offset {
                        out.push(DirItem {
                            ino: *ino,
                            offset: off,
                            kind: FileType::Directory,
                            name: (*name).into(),
                        });
                    }
                }
                Ok((out, None, None))
            }
            Target::Ram(i) => {
                let (page, heard, attrs) = self.ram_page(i, fh, offset, max, plus)?;
                let parent = if i == ram::ROOT_INO {
                    inode::ROOT
                } else {
                    inode::from_ram(page.parent)
                };
                let mut out: Vec<DirItem> = dots(ino, parent).collect();
                out.extend(page.entries.into_iter().map(|e| DirItem {
                    ino: inode::from_ram(e.ino),
                    offset: e.cookie,
                    kind: file_type(e.kind),
                    name: e.name,
                }));
                Ok((out, heard, attrs))
            }
            Target::Disk(id) => {
                let h = self.handles.get(fh).ok_or(FsError::BadHandle)?;
                let Handle::Dir(stream) = &*h else {
                    return Err(FsError::BadHandle);
                };
                let entries = stream.lock().read(offset as i64, max)?;
                let items = entries
                    .into_iter()
                    .filter(|e| !is_tmp_name(&e.name))
                    .map(|e| {
                        let ino = match e.name.as_bytes() {
                            b"." => ino,
                            b".." if id == crate::disk::ROOT_ID => inode::ROOT,
                            _ => inode::from_disk(self.disk.entry_id(e.host_ino)),
                        };
                        DirItem {
                            ino,
                            offset: e.next as u64,
                            kind: file_type(e.kind),
                            name: e.name,
                        }
                    })
                    .collect();
                Ok((items, None, None))
            }
            Target::Control => Err(FsError::NotDir),
        }
    }
}

impl MavFs {
    /// Up to `max` entries of RAM directory `dir` after `offset` (temporaries left out):
    /// from the handle's listing where the store lists whole, with what `changes_heard` said
    /// when it was read (read afresh at offset 0, so a listing begun after a change shows
    /// it), else pages from the store.
    fn ram_page(
        &self,
        dir: ram::Ino,
        fh: u64,
        offset: u64,
        max: usize,
        plus: bool,
    ) -> FsResult<(ram::DirPage, Option<u64>, Attrs)> {
        let after = offset.max(2);
        let keep = |e: &ram::DirEntry| !is_tmp_name(&e.name);
        let h = match fh {
            0 => None,
            fh => self.handles.get(fh),
        };
        let Some(Handle::RamDir(listing)) = h.as_deref() else {
            // A page of temporaries only would read as the end: go on past them.
            let mut page = self.store.readdir(dir, after, max)?;
            while !page.entries.is_empty() && !page.entries.iter().any(keep) {
                let last = page.entries.last().map_or(after, |e| e.cookie);
                page = self.store.readdir(dir, last, max)?;
            }
            page.entries.retain(keep);
            return Ok((page, None, None));
        };
        let mut listing = listing.lock();
        let (all, heard, attrs) = match listing.take() {
            Some((all, heard)) if offset != 0 => (all, heard, None),
            _ => {
                let heard = self.store.changes_heard();
                let (all, attrs) = match plus {
                    // Attributes read with the listing serve only the page sent now: a
                    // later page takes them fresh, after this mount's changes since.
                    true => self.store.readdir_all_plus(dir, max)?,
                    false => (self.store.readdir_all(dir)?, None),
                };
                (all, heard, attrs)
            }
        };
        let from = all.entries.partition_point(|e| e.cookie <= after);
        // One per entry or none: a page without them takes them from `getattr_many`.
        let mut read = attrs
            .filter(|a| a.len() == all.entries.len())
            .map(|a| a.into_iter().skip(from));
        let (mut entries, mut page_attrs) = (Vec::new(), Vec::new());
        for e in &all.entries[from..] {
            let a = read.as_mut().and_then(Iterator::next);
            if entries.len() == max {
                break;
            }
            if keep(e) {
                entries.push(e.clone());
                page_attrs.extend(a);
            }
        }
        let page = ram::DirPage {
            parent: all.parent,
            entries,
        };
        let attrs = read.map(|_| page_attrs);
        *listing = Some((all, heard));
        Ok((page, Some(heard), attrs))
    }
}

/// A page of names, what `changes_heard` said when its listing was read, and the names'
/// attributes where they were read with it.
type Listed = (Vec<DirItem>, Option<u64>, Attrs);

/// Attributes read with a listing, one per name of a page.
type Attrs = Option<Vec<ram::StoreResult<ram::Attr>>>;

/// The offset of the last item a page read, and whether it read any name.
type LastRead = Option<(u64, bool)>;

/// Whether an item is a name, not `.` or `..`.
fn named(it: &DirItem) -> bool {
    !matches!(it.name.as_bytes(), b"." | b"..")
}

/// A name of a listing with what a lookup of it answered and counted; `None`: sent
/// without one (`.`, `..`, the tiers in the mount root, a name whose lookup failed).
pub struct DirItemPlus {
    pub item: DirItem,
    pub entry: Option<Entry>,
}

impl MavFs {
    /// `readdir`, each name looked up as the kernel's lookup would be: counted, so the
    /// kernel forgets it later. The caller forgets those it does not send. A name whose
    /// lookup failed goes without one, so one bad name does not fail the listing.
    pub fn readdirplus(
        &self,
        ino: u64,
        fh: u64,
        offset: u64,
        max: usize,
    ) -> FsResult<Vec<DirItemPlus>> {
        let mut out = Vec::new();
        let mut offset = offset;
        loop {
            let (page, last) = self.readdirplus_page(ino, fh, offset, max)?;
            let none_left = !page.iter().any(|p| named(&p.item));
            out.extend(page);
            // Every name of the page gone since the listing was read: an answer without
            // one would read as the end, so go on from the last.
            match last {
                Some((off, true)) if none_left => offset = off,
                _ => return Ok(out),
            }
        }
    }

    /// One page of `readdirplus`, and the offset of its last item read with whether any
    /// item read was a name (not a dot).
    fn readdirplus_page(
        &self,
        ino: u64,
        fh: u64,
        offset: u64,
        max: usize,
    ) -> FsResult<(Vec<DirItemPlus>, LastRead)> {
        // Names read before a notice of another mount's change came are kept short.
        let heard = self.store.changes_heard();
        let (items, listed, read_with) = self.readdir_heard(ino, fh, offset, max, true)?;
        let heard = listed.map_or(heard, |l| l.min(heard));
        let target = Self::route(ino)?;
        // What a lookup of each name answers; None for the dots, and for the tiers in the
        // mount root (whose attributes would wait for Redis: `ls` of the mount would too).
        let looked: Vec<Option<FsResult<Entry>>> = match target {
            Target::Root | Target::Control => items.iter().map(|_| None).collect(),
            Target::Ram(_) => {
                let ram_ino = |it: &DirItem| match inode::route(it.ino) {
                    Some(Target::Ram(i)) if named(it) => Some(i),
                    _ => None,
                };
                let inos: Vec<ram::Ino> = items.iter().filter_map(ram_ino).collect();
                let mut attrs = match read_with {
                    Some(a) if a.len() == inos.len() => a,
                    _ => self.store.getattr_many(&inos)?,
                }
                .into_iter();
                items
                    .iter()
                    .map(|it| {
                        ram_ino(it)?;
                        let a = attrs.next()?;
                        // Unlinked since the listing was read, though still open.
                        let a = a.and_then(|a| match a.nlink {
                            0 => Err(ram::StoreError::NotFound),
                            _ => Ok(a),
                        });
                        Some(
                            a.map_err(FsError::from)
                                .and_then(|a| self.ram_pinned(&a, heard)),
                        )
                    })
                    .collect()
            }
            Target::Disk(id) => items
                .iter()
                .map(|it| {
                    named(it).then(|| {
                        let a = self.disk.lookup(id, &it.name)?;
                        Ok(self.disk_entry(&a))
                    })
                })
                .collect(),
        };
        let last = items.last().map(|it| (it.offset, items.iter().any(named)));
        let mut out = Vec::with_capacity(items.len());
        for (item, r) in items.into_iter().zip(looked) {
            match r {
                Some(Ok(e)) => out.push(DirItemPlus {
                    item: DirItem {
                        ino: e.attr.ino.0,
                        ..item
                    },
                    entry: Some(e),
                }),
                // Gone since the listing was read: left out, as a later listing would.
                Some(Err(e)) if e.errno() == libc::ENOENT => {}
                // Sent as a plain name: the kernel looks it up when it is used, and that
                // lookup answers with the error.
                Some(Err(e)) => {
                    log::debug!("readdirplus: {:?}: {e}", item.name);
                    out.push(DirItemPlus { item, entry: None });
                }
                None => out.push(DirItemPlus { item, entry: None }),
            }
        }
        Ok((out, last))
    }

    /// Gives back the lookups of listed names the kernel was not sent.
    pub fn forget_listed(&self, items: impl IntoIterator<Item = DirItemPlus>) {
        for p in items.into_iter().filter(|p| p.entry.is_some()) {
            self.forget(p.item.ino, 1);
        }
    }
}

/// A directory that lists as empty may still hold the temporary files of a job a stopped
/// daemon left behind: `rmdir` removes them rather than fail with ENOTEMPTY on it.
impl MavFs {
    /// Removes the leftovers in `parent/name`; true if any went.
    pub(super) fn clear_ram_leftovers(&self, parent: ram::Ino, name: &OsStr) -> bool {
        let tree = RamTree::new(self.store.clone());
        let gone = tree
            .child_dir(&parent, name)
            .and_then(|d| self.clear_leftovers(&tree, &d));
        gone.unwrap_or(0) > 0
    }

    pub(super) fn clear_disk_leftovers(&self, parent: u64, name: &OsStr) -> bool {
        let tree = HostTree::new(self.disk.clone());
        let gone = self
            .disk
            .node(parent)
            .and_then(|p| tree.child_dir(&p.fd, name))
            .and_then(|d| self.clear_leftovers(&tree, &d));
        gone.unwrap_or(0) > 0
    }

    fn clear_leftovers<T: Tree>(&self, tree: &T, dir: &T::Dir) -> std::io::Result<usize> {
        let control = self.control.clone();
        let n = jobs::remove_leftovers(tree, dir, &|id| control.job_stopped(id))?;
        if n > 0 {
            log::info!("rmdir: removed {n} temporary files that stopped jobs left behind");
        }
        Ok(n)
    }
}
