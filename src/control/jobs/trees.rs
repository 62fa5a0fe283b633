//! The two tiers as the copy engine sees them (`Tree`): the RAM store and the disk dir.

use super::*;
use std::os::fd::AsRawFd;

/// The RAM tier as a `Tree`. Records each name the job changes so the kernel's cache of
/// them can be dropped when the job ends.
pub struct RamTree {
    pub store: Arc<dyn RamStore>,
    changed: Mutex<Vec<(Ino, OsString)>>,
    /// The files the mount has open for writing: a move does not remove one.
    writers: Option<Arc<crate::policy::Writers>>,
}

impl RamTree {
    pub fn new(store: Arc<dyn RamStore>) -> Self {
        RamTree {
            store,
            changed: Mutex::new(Vec::new()),
            writers: None,
        }
    }

    pub fn with_writers(self, writers: Arc<crate::policy::Writers>) -> Self {
        RamTree {
            writers: Some(writers),
            ..self
        }
    }

    fn put_xattr(&self, ino: Ino, xname: &OsStr, value: &[u8]) -> io::Result<()> {
        if crate::node::vram_refuses_xattr(xname) {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        // Pins and persist marks are vram's own: one from the host would be a forgery.
        if crate::policy::is_internal_xattr(xname) {
            return Ok(());
        }
        self.store
            .setxattr(ino, xname, value, ram::XattrSet::Any)
            .map_err(store_err)
    }

    /// Sets each attribute; those that fail are returned with why.
    fn put_xattrs(&self, ino: Ino, xattrs: &Xattrs) -> io::Result<Refused> {
        Ok(xattrs
            .iter()
            .filter_map(|(n, v)| self.put_xattr(ino, n, v).err().map(|e| (n.clone(), e)))
            .collect())
    }

    /// Every name in a directory, temporaries included.
    fn names(&self, dir: Ino) -> io::Result<Vec<OsString>> {
        let all = self.store.readdir_all(dir).map_err(store_err)?;
        Ok(all.entries.into_iter().map(|e| e.name).collect())
    }

    fn set_meta(&self, ino: Ino, meta: &Meta) -> io::Result<()> {
        let set = SetAttr {
            perm: Some(meta.perm),
            uid: Some(meta.uid),
            gid: Some(meta.gid),
            atime: Some(TimeSet::At(meta.atime)),
            mtime: Some(TimeSet::At(meta.mtime)),
            ..Default::default()
        };
        self.store.setattr(ino, &set).map(|_| ()).map_err(store_err)
    }

    fn new_node<'a>(kind: Kind, meta: &Meta, target: &'a [u8]) -> NewNode<'a> {
        if kind == Kind::Symlink {
            NewNode::symlink(target, meta.uid, meta.gid)
        } else {
            // A file stays private until `finish` gives it its mode.
            NewNode::new(kind, 0o600, meta.uid, meta.gid)
        }
    }
}

impl Tree for RamTree {
    fn place(&self) -> Place {
        Place::Vram
    }

    type Dir = Ino;
    type File = Ino;
    type Key = Ino;

    fn label(&self) -> &'static str {
        "/vram"
    }

    fn root(&self) -> io::Result<Ino> {
        Ok(ram::ROOT_INO)
    }

    fn child_dir(&self, dir: &Ino, name: &OsStr) -> io::Result<Ino> {
        let a = self.store.lookup(*dir, name).map_err(store_err)?;
        if a.kind != Kind::Dir {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(a.ino)
    }

    fn stat(&self, dir: &Ino, name: &OsStr) -> io::Result<Option<Meta>> {
        match self.store.lookup(*dir, name) {
            Ok(a) => Ok(Some(Meta::from_attr(&a))),
            Err(ram::StoreError::NotFound) => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }

    fn list(&self, dir: &Ino) -> io::Result<Vec<OsString>> {
        let mut out = self.names(*dir)?;
        out.retain(|n| !is_tmp_name(n));
        Ok(out)
    }

    fn leftovers(&self, dir: &Ino, job: &dyn Fn(u64) -> bool) -> io::Result<Vec<OsString>> {
        let mut out = self.names(*dir)?;
        out.retain(|n| tmp_job(n).is_some_and(job));
        Ok(out)
    }

    fn readlink(&self, dir: &Ino, name: &OsStr) -> io::Result<Vec<u8>> {
        let a = self.store.lookup(*dir, name).map_err(store_err)?;
        self.store.readlink(a.ino).map_err(store_err)
    }

    fn open_read(&self, dir: &Ino, name: &OsStr) -> io::Result<Ino> {
        Ok(self.store.lookup(*dir, name).map_err(store_err)?.ino)
    }

    fn stat_open(&self, f: &Ino) -> io::Result<Meta> {
        Ok(Meta::from_attr(&self.store.getattr(*f).map_err(store_err)?))
    }

    fn data_ranges(&self, f: &Ino, _size: u64) -> io::Result<Vec<(u64, u64)>> {
        self.store.data_ranges(*f).map_err(store_err)
    }

    fn read_at(&self, f: &Ino, offset: u64, len: u32) -> io::Result<Vec<u8>> {
        self.store.read(*f, offset, len).map_err(store_err)
    }

    fn read_into(&self, f: &Ino, offset: u64, len: u32, buf: &mut Vec<u8>) -> io::Result<()> {
        self.store
            .read_into(*f, offset, len, buf)
            .map_err(store_err)
    }

    fn xattrs(&self, dir: &Ino, name: &OsStr) -> io::Result<Xattrs> {
        let a = self.store.lookup(*dir, name).map_err(store_err)?;
        if a.kind == Kind::Symlink {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for n in self.store.listxattr(a.ino).map_err(store_err)? {
            // Pins and persist marks belong to the file's place in vram, not to the file.
            if crate::policy::is_internal_xattr(&n) {
                continue;
            }
            match self.store.getxattr(a.ino, &n) {
                Ok(v) => out.push((n, v)),
                // Removed between the list and the read.
                Err(ram::StoreError::NoAttr) => {}
                Err(e) => return Err(store_err(e)),
            }
        }
        Ok(out)
    }

    fn set_xattr(&self, dir: &Ino, name: &OsStr, xname: &OsStr, value: &[u8]) -> io::Result<()> {
        let a = self.store.lookup(*dir, name).map_err(store_err)?;
        self.put_xattr(a.ino, xname, value)
    }

    fn set_size(&self, f: &Ino, size: u64) -> io::Result<()> {
        let set = SetAttr {
            size: Some(size),
            ..Default::default()
        };
        self.store.setattr(*f, &set).map(|_| ()).map_err(store_err)
    }

    fn mknod(&self, dir: &Ino, name: &OsStr, meta: &Meta) -> io::Result<()> {
        let node = NewNode::new(meta.kind, 0o600, meta.uid, meta.gid).with_rdev(meta.rdev);
        let a = self.store.create(*dir, name, &node).map_err(store_err)?;
        self.set_meta(a.ino, meta)
    }

    fn note(&self, dir: &Ino, name: &OsStr) {
        self.changed.lock().push((*dir, name.to_owned()));
    }

    fn take_changed(&self) -> Vec<(u64, OsString)> {
        std::mem::take(&mut *self.changed.lock())
    }

    /// The store's own durability holds (Redis persists as it is set up to).
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }

    fn create(&self, dir: &Ino, name: &OsStr, meta: &Meta) -> io::Result<Ino> {
        let a = self
            .store
            .create(*dir, name, &Self::new_node(Kind::File, meta, b""))
            .map_err(store_err)?;
        Ok(a.ino)
    }

    fn write_at(&self, f: &Ino, offset: u64, data: &[u8]) -> io::Result<()> {
        self.store
            .write(*f, offset, data)
            .map(|_| ())
            .map_err(store_err)
    }

    fn finish(&self, f: &Ino, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused> {
        let refused = self.put_xattrs(*f, xattrs)?;
        self.set_meta(*f, meta)?;
        Ok(refused)
    }

    fn key(&self, dir: &Ino, name: &OsStr) -> io::Result<Ino> {
        Ok(self.store.lookup(*dir, name).map_err(store_err)?.ino)
    }

    fn link(&self, key: &Ino, dir: &Ino, name: &OsStr) -> io::Result<()> {
        self.store.link(*key, *dir, name).map_err(store_err)?;
        Ok(())
    }

    fn symlink(&self, dir: &Ino, name: &OsStr, target: &[u8], meta: &Meta) -> io::Result<()> {
        let a = self
            .store
            .create(*dir, name, &Self::new_node(Kind::Symlink, meta, target))
            .map_err(store_err)?;
        let set = SetAttr {
            atime: Some(TimeSet::At(meta.atime)),
            mtime: Some(TimeSet::At(meta.mtime)),
            ..Default::default()
        };
        self.store.setattr(a.ino, &set).map_err(store_err)?;
        Ok(())
    }

    fn mkdir(&self, dir: &Ino, name: &OsStr, meta: &Meta) -> io::Result<Ino> {
        let a = self
            .store
            .create(*dir, name, &Self::new_node(Kind::Dir, meta, b""))
            .map_err(store_err)?;
        Ok(a.ino)
    }

    fn finish_dir(&self, dir: &Ino, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused> {
        self.finish(dir, meta, xattrs)
    }

    fn rename(&self, dir: &Ino, from: &OsStr, to: &OsStr, replace: bool) -> io::Result<()> {
        let mode = if replace {
            RenameMode::Replace
        } else {
            RenameMode::NoReplace
        };
        self.store
            .rename(*dir, from, *dir, to, mode)
            .map_err(store_err)?;
        Ok(())
    }

    fn remove(&self, dir: &Ino, name: &OsStr, is_dir: bool) -> io::Result<()> {
        let r = if is_dir {
            self.store.rmdir(*dir, name)
        } else {
            // A writer that opened it after the copy would write into a removed file.
            if let Some(w) = &self.writers {
                let a = self.store.lookup(*dir, name).map_err(store_err)?;
                if w.writing(a.ino) {
                    return Err(io::Error::from_raw_os_error(libc::ETXTBSY));
                }
            }
            self.store.unlink(*dir, name)
        };
        r.map_err(store_err)
    }
}

/// The disk dir as a `Tree`: every directory an `O_PATH` fd, every step one checked name.
pub struct HostTree {
    pub disk: Arc<DiskTier>,
    /// Names the job changed, by the mount's id of their directory.
    changed: Mutex<Vec<(u64, OsString)>>,
}

pub(super) fn host_meta(st: &libc::stat) -> Meta {
    Meta {
        id: (st.st_dev, st.st_ino),
        ..Meta::from_attr(&crate::disk::attr_of(st.st_ino, st))
    }
}

impl HostTree {
    /// Gives a made entry its source's owner (as root), extended attributes, mode and
    /// times; returns the attributes that could not be set.
    fn give_meta(
        &self,
        fd: std::os::fd::BorrowedFd<'_>,
        meta: &Meta,
        xattrs: &Xattrs,
    ) -> io::Result<Refused> {
        self.hand_over(fd, meta)?;
        let refused = xattrs
            .iter()
            .filter_map(|(n, v)| {
                at::set_xattr(fd.as_raw_fd(), n, v, 0)
                    .err()
                    .map(|e| (n.clone(), e))
            })
            .collect();
        at::chmod_fd(fd, u32::from(meta.perm))?;
        at::utimes_fd(
            fd,
            Some(TimeSet::At(meta.atime)),
            Some(TimeSet::At(meta.mtime)),
        )?;
        Ok(refused)
    }

    pub fn new(disk: Arc<DiskTier>) -> Self {
        HostTree {
            disk,
            changed: Mutex::new(Vec::new()),
        }
    }

    fn hand_over(&self, fd: std::os::fd::BorrowedFd<'_>, meta: &Meta) -> io::Result<()> {
        if self.disk.as_root() {
            at::chown_fd(fd, meta.uid, meta.gid)?;
        }
        Ok(())
    }
}

impl Tree for HostTree {
    fn place(&self) -> Place {
        Place::Vdisk
    }

    type Dir = Arc<OwnedFd>;
    type File = File;
    type Key = Arc<OwnedFd>;

    fn label(&self) -> &'static str {
        "/vdisk"
    }

    fn root(&self) -> io::Result<Arc<OwnedFd>> {
        Ok(Arc::new(self.disk.root_fd().try_clone_to_owned()?))
    }

    fn child_dir(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<Arc<OwnedFd>> {
        let fd = at::open_at(
            dir.as_fd(),
            &at::name(name)?,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        )
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink: it is not a directory we may enter.
            Some(libc::ELOOP) => io::Error::from_raw_os_error(libc::ENOTDIR),
            _ => e,
        })?;
        Ok(Arc::new(fd))
    }

    fn stat(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<Option<Meta>> {
        Ok(at::stat_at(dir.as_fd(), &at::name(name)?)?.map(|st| host_meta(&st)))
    }

    fn list(&self, dir: &Arc<OwnedFd>) -> io::Result<Vec<OsString>> {
        Ok(at::list(dir.as_fd())?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !is_tmp_name(n))
            .collect())
    }

    fn leftovers(
        &self,
        dir: &Arc<OwnedFd>,
        job: &dyn Fn(u64) -> bool,
    ) -> io::Result<Vec<OsString>> {
        Ok(at::list(dir.as_fd())?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| tmp_job(n).is_some_and(job))
            .collect())
    }

    fn readlink(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<Vec<u8>> {
        at::readlink_fd(at::open_path_at(dir.as_fd(), &at::name(name)?)?.as_fd())
    }

    fn open_read(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<File> {
        // Non-blocking, so a FIFO swapped in on the host cannot hold the job; then checked.
        let f = File::from(at::open_at(
            dir.as_fd(),
            &at::name(name)?,
            libc::O_RDONLY | libc::O_NONBLOCK,
            0,
        )?);
        if at::stat_fd(f.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(f)
    }

    fn stat_open(&self, f: &File) -> io::Result<Meta> {
        Ok(host_meta(&at::stat_fd(f.as_fd())?))
    }

    fn data_ranges(&self, f: &File, size: u64) -> io::Result<Vec<(u64, u64)>> {
        at::data_ranges(f, size)
    }

    fn read_at(&self, f: &File, offset: u64, len: u32) -> io::Result<Vec<u8>> {
        at::pread_full(f, offset, len)
    }

    fn read_into(&self, f: &File, offset: u64, len: u32, buf: &mut Vec<u8>) -> io::Result<()> {
        at::pread_into(f, offset, len, buf)
    }

    fn xattrs(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<Xattrs> {
        let fd = at::open_path_at(dir.as_fd(), &at::name(name)?)?;
        if at::stat_fd(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Ok(Vec::new());
        }
        let names = match at::list_xattr(fd.as_raw_fd()) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for n in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let n = OsStr::from_bytes(n);
            match at::get_xattr(fd.as_raw_fd(), n) {
                Ok(v) => out.push((n.to_owned(), v)),
                Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn set_xattr(
        &self,
        dir: &Arc<OwnedFd>,
        name: &OsStr,
        xname: &OsStr,
        value: &[u8],
    ) -> io::Result<()> {
        let fd = at::open_path_at(dir.as_fd(), &at::name(name)?)?;
        at::set_xattr(fd.as_raw_fd(), xname, value, 0)
    }

    fn set_size(&self, f: &File, size: u64) -> io::Result<()> {
        f.set_len(size)
    }

    fn mknod(&self, dir: &Arc<OwnedFd>, name: &OsStr, meta: &Meta) -> io::Result<()> {
        let c = at::name(name)?;
        let fmt = match meta.kind {
            Kind::Fifo => libc::S_IFIFO,
            Kind::Socket => libc::S_IFSOCK,
            Kind::CharDev => libc::S_IFCHR,
            Kind::BlockDev => libc::S_IFBLK,
            _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        at::mknod_at(dir.as_fd(), &c, fmt | 0o600, meta.rdev)?;
        self.give_meta(
            at::open_path_at(dir.as_fd(), &c)?.as_fd(),
            meta,
            &Vec::new(),
        )
        .map(|_| ())
    }

    fn note(&self, dir: &Arc<OwnedFd>, name: &OsStr) {
        if let Some(id) = at::stat_fd(dir.as_fd())
            .ok()
            .and_then(|st| self.disk.known_id(&st))
        {
            self.changed.lock().push((id, name.to_owned()));
        }
    }

    fn take_changed(&self) -> Vec<(u64, OsString)> {
        std::mem::take(&mut *self.changed.lock())
    }

    fn sync(&self) -> io::Result<()> {
        let fd = at::open_at(
            self.disk.root_fd(),
            c".",
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )?;
        // SAFETY: syncfs on an open fd has no memory effects.
        at::cvt(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(|_| ())
    }

    fn create(&self, dir: &Arc<OwnedFd>, name: &OsStr, _meta: &Meta) -> io::Result<File> {
        let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
        Ok(File::from(at::open_at(
            dir.as_fd(),
            &at::name(name)?,
            flags,
            0o600,
        )?))
    }

    fn write_at(&self, f: &File, offset: u64, data: &[u8]) -> io::Result<()> {
        f.write_all_at(data, offset)
    }

    fn finish(&self, f: &File, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused> {
        self.give_meta(f.as_fd(), meta, xattrs)
    }

    fn key(&self, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<Arc<OwnedFd>> {
        Ok(Arc::new(at::open_path_at(dir.as_fd(), &at::name(name)?)?))
    }

    fn link(&self, key: &Arc<OwnedFd>, dir: &Arc<OwnedFd>, name: &OsStr) -> io::Result<()> {
        at::link_fd(key.as_fd(), dir.as_fd(), &at::name(name)?)
    }

    fn symlink(
        &self,
        dir: &Arc<OwnedFd>,
        name: &OsStr,
        target: &[u8],
        meta: &Meta,
    ) -> io::Result<()> {
        let c = at::name(name)?;
        at::symlink_at(OsStr::from_bytes(target), dir.as_fd(), &c)?;
        let fd = at::open_path_at(dir.as_fd(), &c)?;
        self.hand_over(fd.as_fd(), meta)?;
        at::utimes_fd(
            fd.as_fd(),
            Some(TimeSet::At(meta.atime)),
            Some(TimeSet::At(meta.mtime)),
        )
    }

    fn mkdir(&self, dir: &Arc<OwnedFd>, name: &OsStr, _meta: &Meta) -> io::Result<Arc<OwnedFd>> {
        at::mkdir_at(dir.as_fd(), &at::name(name)?, 0o700)?;
        self.child_dir(dir, name)
    }

    fn finish_dir(&self, dir: &Arc<OwnedFd>, meta: &Meta, xattrs: &Xattrs) -> io::Result<Refused> {
        self.give_meta(dir.as_fd(), meta, xattrs)
    }

    fn rename(
        &self,
        dir: &Arc<OwnedFd>,
        from: &OsStr,
        to: &OsStr,
        replace: bool,
    ) -> io::Result<()> {
        let flags = if replace { 0 } else { libc::RENAME_NOREPLACE };
        at::rename_at(
            dir.as_fd(),
            &at::name(from)?,
            dir.as_fd(),
            &at::name(to)?,
            flags,
        )
    }

    fn remove(&self, dir: &Arc<OwnedFd>, name: &OsStr, is_dir: bool) -> io::Result<()> {
        at::unlink_at(dir.as_fd(), &at::name(name)?, is_dir)
    }
}
