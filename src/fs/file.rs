//! Open files: open, create, read, write, close, fsync, allocation, and the setuid and
//! setgid bits a write, truncate or allocation drops.

use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use super::*;

impl MavFs {
    /// Open flags for a host file. Under the writeback cache the kernel reads the rest of a
    /// page it caches a partial write into, also through a write-only handle, and cached
    /// writes come back at the offsets it chose (it handles O_APPEND itself; on an O_APPEND
    /// host file they would all land at its end).
    fn host_flags(&self, flags: i32) -> i32 {
        if !self.writeback_cache {
            return flags;
        }
        let flags = flags & !libc::O_APPEND;
        if flags & libc::O_ACCMODE == libc::O_WRONLY {
            (flags & !libc::O_ACCMODE) | libc::O_RDWR
        } else {
            flags
        }
    }

    /// `open(O_TRUNC)` of an existing file, as the kernel's truncate would: size 0, new
    /// mtime and ctime, and the setuid bits dropped when another user than root truncates.
    fn ram_truncate_at_open(&self, ctx: Ctx, i: ram::Ino) -> FsResult<()> {
        let set = SetAttr {
            size: Some(0),
            mtime: Some(ram::TimeSet::Now),
            kill_privs: ctx.uid != 0,
            ..Default::default()
        };
        let a = self.store.setattr(i, &set).map_err(gone)?;
        if ctx.uid != 0 {
            self.ram_kill_privs(ctx, i, &a)?;
        }
        Ok(())
    }

    pub fn open(&self, ctx: Ctx, ino: u64, flags: i32) -> FsResult<Opened> {
        let truncate = self.running.truncates(ino, flags)?;
        let opened = self.open_tier(ctx, ino, flags, truncate)?;
        self.running.opened(ino, flags);
        self.writer_opened(ino, flags);
        Ok(opened)
    }

    /// Counts an open for writing of a `vram/` file (a policy leaves it alone meanwhile).
    fn writer_opened(&self, ino: u64, flags: i32) {
        if let Some(Target::Ram(i)) = inode::route(ino) {
            if crate::policy::Writers::writes(flags) {
                self.writers.opened(i);
            }
        }
    }

    /// An open `vram/` file: the page cache is kept across opens where only this mount
    /// changes the store.
    fn ram_opened(&self, i: ram::Ino) -> Opened {
        Opened {
            fh: self.store.handle(i),
            keep_cache: !self.store.shared(),
            direct_io: false,
        }
    }

    /// `truncate`: O_TRUNC on a file that may be truncated.
    fn open_tier(&self, ctx: Ctx, ino: u64, flags: i32, truncate: bool) -> FsResult<Opened> {
        match Self::route(ino)? {
            Target::Ram(i) => {
                if truncate {
                    self.ram_truncate_at_open(ctx, i)?;
                }
                let reads = flags & libc::O_ACCMODE != libc::O_WRONLY;
                let cached_is_current = self.store.open(i, reads).map_err(gone)?;
                // Another mount changed it: its size as the kernel keeps it may be old too
                // (close-to-open must not hang on a notice in flight).
                if !cached_is_current && self.store.shared() {
                    self.forget_attrs(inode::from_ram(i));
                }
                Ok(Opened {
                    keep_cache: cached_is_current,
                    ..self.ram_opened(i)
                })
            }
            Target::Disk(id) => {
                let file = match self.disk.open(id, self.host_flags(flags)) {
                    // A write-only host file for a daemon that is not root: as asked.
                    Err(e) if e.raw_os_error() == Some(libc::EACCES) && self.writeback_cache => {
                        self.disk.open(id, flags & !libc::O_APPEND)?
                    }
                    r => r?,
                };
                // The host truncated (and dated) it; the daemon is root there, so the
                // setuid bits a truncate by another user drops are dropped here.
                if truncate && ctx.uid != 0 {
                    kill_disk_privs(ctx, &file)?;
                }
                Ok(Opened {
                    fh: self.handles.insert(Handle::File(file)),
                    keep_cache: false,
                    direct_io: false,
                })
            }
            Target::Root => Err(FsError::IsDir),
            Target::Control => {
                // Checked here too: with allow_other the mode bits alone would do, but the
                // control file steers the whole mount.
                if ctx.uid != 0 && ctx.uid != self.owner.uid {
                    return Err(FsError::Access);
                }
                Ok(Opened {
                    fh: self.control.open(),
                    keep_cache: false,
                    direct_io: true,
                })
            }
        }
    }

    pub fn create(
        &self,
        ctx: Ctx,
        parent: u64,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> FsResult<(Entry, Opened)> {
        match Self::parent(parent)? {
            Target::Ram(p) => {
                let node = NewNode::new(Kind::File, mode, ctx.uid, ctx.gid);
                // A name that another mount or a job made since the kernel looked it up:
                // ESTALE has the kernel look it up again and open what it finds itself,
                // with the permission, running-program and truncate checks it skips for a
                // file it takes for new.
                // Created opened, and empty: nothing to truncate, and nobody runs it yet.
                let entry = match self.ram_create_as(ctx, p, name, &node, true) {
                    Err(FsError::Store(ram::StoreError::Exists)) if flags & libc::O_EXCL == 0 => {
                        Err(FsError::Store(ram::StoreError::Stale))
                    }
                    r => r,
                }?;
                // Always a `vram/` inode: it was made in one.
                let Some(Target::Ram(i)) = inode::route(entry.attr.ino.0) else {
                    return Err(FsError::NoInode);
                };
                self.running.opened(entry.attr.ino.0, flags);
                self.writer_opened(entry.attr.ino.0, flags);
                Ok((entry, self.ram_opened(i)))
            }
            Target::Disk(p) => {
                let made = self.disk.create(
                    p,
                    name,
                    self.disk_mode(p, mode, ctx.umask) & 0o7777,
                    self.host_flags(flags),
                    ctx.uid,
                    ctx.gid,
                );
                let (attr, file) = match made {
                    // Made on the host since the kernel looked: as on vram, the kernel looks
                    // again and opens it with its own checks.
                    Err(e)
                        if e.raw_os_error() == Some(libc::EEXIST) && flags & libc::O_EXCL == 0 =>
                    {
                        return Err(FsError::Store(ram::StoreError::Stale));
                    }
                    r => r?,
                };
                let fh = self.handles.insert(Handle::File(file));
                Ok((
                    self.disk_entry(&attr),
                    Opened {
                        fh,
                        keep_cache: false,
                        direct_io: false,
                    },
                ))
            }
            _ => Err(FsError::RootIsFixed),
        }
    }

    fn with_file<T>(&self, fh: u64, f: impl FnOnce(&File) -> std::io::Result<T>) -> FsResult<T> {
        match self.handles.get(fh).as_deref() {
            Some(Handle::File(file)) => Ok(f(file)?),
            Some(Handle::Dir(_) | Handle::RamDir(_)) => Err(FsError::IsDir),
            None => Err(FsError::BadHandle),
        }
    }

    pub fn read(&self, ino: u64, fh: u64, offset: u64, size: u32) -> FsResult<Vec<u8>> {
        match Self::route(ino)? {
            Target::Control => self.control.read(fh, size).map_err(FsError::from),
            Target::Ram(i) => Ok(self.store.read(i, offset, size)?),
            Target::Disk(_) => self.with_file(fh, |f| crate::disk::at::pread_full(f, offset, size)),
            _ => Err(FsError::IsDir),
        }
    }

    /// `read`, the bytes handed to `out` (once, on success only) from where the tier holds
    /// them if it can.
    pub fn read_with(
        &self,
        ino: u64,
        fh: u64,
        offset: u64,
        size: u32,
        out: &mut dyn FnMut(&[u8]),
    ) -> FsResult<()> {
        match Self::route(ino)? {
            Target::Ram(i) => Ok(self.store.read_with(i, offset, size, out)?),
            _ => {
                out(&self.read(ino, fh, offset, size)?);
                Ok(())
            }
        }
    }

    /// `kill_by`: the caller, where the kernel asks for setuid and setgid to go with this
    /// write (the caller lacks CAP_FSETID).
    pub fn write(
        &self,
        ino: u64,
        fh: u64,
        offset: u64,
        data: &[u8],
        kill_by: Option<Ctx>,
    ) -> FsResult<u32> {
        match Self::route(ino)? {
            Target::Control => self.control.write(fh, data).map_err(FsError::from),
            Target::Ram(i) => {
                let a =
                    self.ram_spend(|| self.store.write_behind(i, offset, data, kill_by.is_some()))?;
                // The write told us the mode: a second step only where there is a bit to drop.
                if let (Some(ctx), Some(a)) = (kill_by, a) {
                    self.ram_kill_privs(ctx, i, &a)?;
                }
                Ok(data.len() as u32)
            }
            Target::Disk(_) => self.with_file(fh, |f| {
                f.write_all_at(data, offset)?;
                if let Some(ctx) = kill_by {
                    kill_disk_privs(ctx, f)?;
                }
                Ok(data.len() as u32)
            }),
            _ => Err(FsError::IsDir),
        }
    }

    /// `flags` are the ones the file was opened with.
    pub fn release(&self, ino: u64, fh: u64, flags: i32) {
        self.running.released(ino, flags);
        match inode::route(ino) {
            Some(Target::Ram(i)) => {
                if crate::policy::Writers::writes(flags) {
                    self.writers.released(i);
                }
                self.store.release(i)
            }
            Some(Target::Disk(_)) => {
                self.handles.remove(fh);
            }
            Some(Target::Control) => self.control.release(fh),
            _ => {}
        }
    }

    pub fn fsync(&self, ino: u64, fh: u64, datasync: bool) -> FsResult<()> {
        match Self::route(ino)? {
            Target::Disk(_) => self.with_file(fh, |f| {
                if datasync {
                    f.sync_data()
                } else {
                    f.sync_all()
                }
            }),
            Target::Ram(i) => {
                self.ram_flush(i, fh)?;
                Ok(self.store.sync()?)
            }
            _ => Ok(()),
        }
    }

    /// A close of descriptor `fh`: what the store kept back of the file's writes is sent,
    /// and its error is the close's.
    pub fn flush(&self, ino: u64, fh: u64) -> FsResult<()> {
        match inode::route(ino) {
            Some(Target::Ram(i)) => self.ram_flush(i, fh),
            _ => Ok(()),
        }
    }

    /// Sends the kept writes, waiting for space unlinked files are giving back as a write
    /// would; what still fails is given up, as the error returned says (told to `fh` so,
    /// and to the file's other descriptors by `lost`).
    fn ram_flush(&self, i: ram::Ino, fh: u64) -> FsResult<()> {
        if let Err(e) = self.ram_spend(|| self.store.flush(i)) {
            self.store.give_up(i, &e);
            let _ = self.store.lost(i, fh);
            return Err(e.into());
        }
        Ok(self.store.lost(i, fh)?)
    }

    /// Whether closes must be told (`flush`): the RAM store keeps writes back.
    pub fn flush_matters(&self) -> bool {
        self.store.keeps_writes()
    }

    /// Whether the kernel must be told of the close of a descriptor opened with `flags`:
    /// not for a reader. A reader's close has nothing to send (NFS's flush returns at once
    /// for one too), and it reports nothing of writes another descriptor kept back: that
    /// writer's close, fsync or release sends them. A writer's close still comes, also
    /// where the daemon answers ENOSYS: the kernel writes a shared mapping's dirty pages
    /// back at it, and reports their errors, only if the FLUSH is not waived.
    pub fn flush_needed(&self, flags: i32) -> bool {
        flags & libc::O_ACCMODE != libc::O_RDONLY
    }

    /// As Linux filesystems do, an allocation by another user than root drops setuid and
    /// setgid.
    pub fn fallocate(
        &self,
        ctx: Ctx,
        ino: u64,
        fh: u64,
        offset: u64,
        len: u64,
        mode: i32,
    ) -> FsResult<()> {
        self.fallocate_tier(ino, fh, offset, len, mode)?;
        if ctx.uid == 0 {
            return Ok(());
        }
        match Self::route(ino)? {
            Target::Ram(i) => {
                let a = self.store.getattr(i).map_err(gone)?;
                self.ram_kill_privs(ctx, i, &a)
            }
            Target::Disk(_) => self.with_file(fh, |f| kill_disk_privs(ctx, f)),
            _ => Ok(()),
        }
    }

    /// Drops what a write, truncate or allocation by `ctx` drops from the file whose
    /// attributes are now `a`; nothing is asked of the store where nothing would change.
    pub(super) fn ram_kill_privs(&self, ctx: Ctx, i: ram::Ino, a: &Attr) -> FsResult<()> {
        let perm = u32::from(a.perm);
        let kill_sgid = sgid_left_to_kill(ctx, perm, a.gid);
        if killed_mode(perm, kill_sgid) == perm {
            return Ok(());
        }
        let set = SetAttr {
            kill_privs: true,
            kill_sgid,
            ..Default::default()
        };
        self.store.setattr(i, &set).map_err(gone)?;
        Ok(())
    }

    fn fallocate_tier(&self, ino: u64, fh: u64, offset: u64, len: u64, mode: i32) -> FsResult<()> {
        match Self::route(ino)? {
            Target::Ram(i) => {
                let keep_size = mode & libc::FALLOC_FL_KEEP_SIZE != 0;
                let how = match mode & !libc::FALLOC_FL_KEEP_SIZE {
                    0 => Falloc::Allocate { keep_size },
                    libc::FALLOC_FL_PUNCH_HOLE if keep_size => Falloc::PunchHole,
                    libc::FALLOC_FL_ZERO_RANGE => Falloc::ZeroRange { keep_size },
                    _ => return Err(FsError::NotSupported),
                };
                Ok(self.ram_spend(|| self.store.fallocate(i, offset, len, how))?)
            }
            Target::Disk(_) => self.with_file(fh, |f| {
                use std::os::fd::AsRawFd;
                // SAFETY: plain syscall on an open fd.
                let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, offset as i64, len as i64) };
                if r < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(())
                }
            }),
            _ => Err(FsError::IsDir),
        }
    }
}

/// Drops setuid and setgid from an open host file (the daemon, root there, keeps them on
/// its own writes).
fn kill_disk_privs(ctx: Ctx, f: &File) -> std::io::Result<()> {
    let st = at::stat_fd(f.as_fd())?;
    let mode = st.st_mode & 0o7777;
    let kept = killed_mode(mode, sgid_left_to_kill(ctx, mode, st.st_gid));
    if kept != mode {
        at::chmod_fd(f.as_fd(), kept)?;
    }
    Ok(())
}

/// Whether a kill of privileges by `ctx` also takes setgid without group execute from
/// `mode` of a file in group `gid`: only from a caller outside that group.
pub(super) fn sgid_left_to_kill(ctx: Ctx, mode: u32, gid: u32) -> bool {
    sgid_hangs_on_group(mode) && ctx.outside_group(gid)
}
