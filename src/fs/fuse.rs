//! `impl fuser::Filesystem`: decode the request, call the core, reply. Nothing else lives
//! here, and nothing here can panic on what a user sends.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fuser::{
    AccessFlags, BackingId, BsdFileFlags, Errno, FileHandle, Filesystem, FopenFlags, ForgetOne,
    Generation, INodeNo, InitFlags, IoctlFlags, KernelConfig, LockOwner, OpenFlags, RenameFlags,
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry,
    ReplyIoctl, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use log::{debug, warn};

use super::passthrough::{MakeBacking, Passthrough, CREATED_TTL};
use super::{Ctx, Entry, MavFs, Opened};

mod listing;
use crate::control::server::Control;
use crate::counters::OpKind;
use crate::error::FsError;
use crate::ram::SetAttr;
use crate::ram::TimeSet;

/// Entries fetched from a tier per `readdir` call; the reply buffer takes what fits.
const READDIR_BATCH: usize = 256;
/// Names looked up per READDIRPLUS: about what a 32 KiB reply holds (some 150 bytes each);
/// those that do not fit are forgotten again.
const READDIRPLUS_BATCH: usize = 128;

/// The mounted filesystem: the core plus what only a live session has.
pub struct FuseFs {
    core: MavFs,
    /// Present when the kernel and our privileges allow passthrough.
    passthrough: Option<Passthrough>,
    /// Ask the kernel for its writeback cache (see `MountConfig::writeback_cache`).
    want_writeback: bool,
    /// Ask the kernel to enforce POSIX ACLs (`MountConfig::acl`).
    want_acl: bool,
    /// Ask for FUSE over io_uring (`MountConfig::uring`); set if the kernel grants it.
    uring: Option<Arc<AtomicBool>>,
}

impl FuseFs {
    /// Runs an operation and counts it, its latency and its failure against the inode's tier.
    fn done<T>(
        &self,
        kind: OpKind,
        ino: u64,
        op: impl FnOnce() -> Result<T, FsError>,
    ) -> Result<T, FsError> {
        let started = Instant::now();
        let r = op();
        // A missing name or attribute is an answer, not a failure.
        let errno = match &r {
            Err(e) if e.errno() != libc::ENOENT && e.errno() != libc::ENODATA => Some(e.errno()),
            _ => None,
        };
        self.core.count(ino, kind, started.elapsed(), errno);
        r
    }

    /// The control file's server, which also answers for the metrics endpoint.
    pub fn control(&self) -> Arc<Control> {
        self.core.control()
    }

    pub fn new(core: MavFs, want_writeback: bool, want_acl: bool) -> Self {
        FuseFs {
            core,
            passthrough: None,
            want_writeback,
            want_acl,
            uring: None,
        }
    }

    fn forget_one(&self, ino: u64, nlookup: u64) {
        let _ = self.done(OpKind::Forget, ino, || {
            self.core.forget(ino, nlookup);
            Ok(())
        });
    }

    /// Asks the kernel for FUSE over io_uring at init; `granted` tells whether it agreed.
    pub fn want_uring(mut self, granted: Arc<AtomicBool>) -> Self {
        self.uring = Some(granted);
        self
    }

    /// A passthrough backing id for an open `vdisk/` file, if this open can have one.
    fn backing(
        &self,
        ino: u64,
        fh: u64,
        flags: i32,
        make: Option<MakeBacking<'_>>,
    ) -> Option<Arc<BackingId>> {
        let pt = self.passthrough.as_ref()?;
        if !self.core.is_disk_file(ino) {
            return None;
        }
        pt.open(ino, fh, flags, make)
    }

    fn reply_entry(&self, reply: ReplyEntry, r: Result<Entry, FsError>, op: &str) {
        match r {
            Ok(e) => reply.entry(&self.ttl(&e), &e.attr, self.generation(&e)),
            Err(e) => reply.error(fail(op, e)),
        }
    }

    /// What tells this inode from an earlier one of the same number, for file handles.
    fn generation(&self, e: &Entry) -> Generation {
        Generation(self.core.generation(e.attr.ino.0))
    }

    /// How long the kernel may keep `e` (`Passthrough::ttl`).
    fn ttl(&self, e: &Entry) -> Duration {
        (self.passthrough.as_ref()).map_or(e.ttl, |pt| pt.ttl(e.attr.ino.0, e.ttl))
    }
}

fn ctx(req: &Request) -> Ctx {
    Ctx {
        uid: req.uid(),
        gid: req.gid(),
        pid: req.pid(),
        umask: 0,
    }
}

fn fail(op: &str, e: FsError) -> Errno {
    match &e {
        // The store logs an outage once, and its end; one line per failed operation would
        // flood the log.
        FsError::Store(
            crate::ram::StoreError::Unavailable(_) | crate::ram::StoreError::Backend { .. },
        ) => debug!("{op}: {e}"),
        _ if e.is_internal() => warn!("{op}: {e}"),
        _ => debug!("{op}: {e}"),
    }
    Errno::from_i32(e.errno())
}

fn time(t: Option<TimeOrNow>) -> Option<TimeSet> {
    t.map(|t| match t {
        TimeOrNow::Now => TimeSet::Now,
        TimeOrNow::SpecificTime(t) => TimeSet::At(t),
    })
}

fn reply_empty(reply: ReplyEmpty, r: Result<(), FsError>, op: &str) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(fail(op, e)),
    }
}

/// `flush`: whether the kernel must send FLUSH at each close (`MavFs::flush_needed`).
fn open_flags(o: &Opened, flush: bool) -> FopenFlags {
    let mut f = FopenFlags::empty();
    if !flush {
        f |= FopenFlags::FOPEN_NOFLUSH;
    }
    if o.keep_cache {
        f |= FopenFlags::FOPEN_KEEP_CACHE;
    }
    if o.direct_io {
        f |= FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_NONSEEKABLE;
    }
    f
}

fn reply_xattr(reply: ReplyXattr, r: Result<Vec<u8>, FsError>, size: u32, op: &str) {
    match r {
        Ok(v) if size == 0 => reply.size(v.len() as u32),
        Ok(v) if v.len() > size as usize => reply.error(Errno::ERANGE),
        Ok(v) => reply.data(&v),
        Err(e) => reply.error(fail(op, e)),
    }
}

impl Filesystem for FuseFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Each wanted capability only where the kernel offers it.
        for flag in [
            InitFlags::FUSE_PARALLEL_DIROPS,
            InitFlags::FUSE_CACHE_SYMLINKS,
            // open(O_TRUNC) truncates in OPEN itself, not in a SETATTR before it: a reader
            // racing a separate SETATTR can be left a zeroed page under the old size (the
            // kernel's page cache), and it saves a round trip.
            InitFlags::FUSE_ATOMIC_O_TRUNC,
            // Setuid and setgid are dropped here (`MavFs::setattr`, `write`), so the kernel
            // stops asking for security.capability before every write: a round trip each.
            InitFlags::FUSE_HANDLE_KILLPRIV_V2,
            // File handles (open_by_handle_at, NFS export) outlive the kernel's hold on the
            // inode: it asks for `.` (and `..`) of an inode number (`MavFs::lookup`).
            InitFlags::FUSE_EXPORT_SUPPORT,
            // A listing carries each name's attributes, so `rm -r`, `ls -l` and `find`
            // make no lookup per name after it; the kernel asks for that only where
            // lookups followed the listing before (or at its start).
            InitFlags::FUSE_DO_READDIRPLUS,
            InitFlags::FUSE_READDIRPLUS_AUTO,
        ] {
            if config.capabilities().contains(flag) {
                let _ = config.add_capabilities(flag);
            }
        }
        // POSIX ACLs: the kernel enforces them and hands the umask over, so that a default
        // ACL can take its place (`xattr::inherit`). Both or neither.
        let acl = InitFlags::FUSE_POSIX_ACL | InitFlags::FUSE_DONT_MASK;
        if self.want_acl
            && config.capabilities().contains(acl)
            && config.add_capabilities(acl).is_ok()
        {
            self.core.set_acl();
        }
        let writeback = self.want_writeback
            && config
                .add_capabilities(InitFlags::FUSE_WRITEBACK_CACHE)
                .is_ok();
        if writeback {
            self.core.set_writeback_cache();
        }
        let _ = config.set_max_write(1 << 20);
        if let Some(granted) = &self.uring {
            if config
                .add_capabilities(InitFlags::FUSE_OVER_IO_URING)
                .is_ok()
            {
                granted.store(true, Ordering::Release);
            }
        }
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        // The kernel does not pass through files of a connection with a writeback cache.
        if root
            && !writeback
            && config.add_capabilities(InitFlags::FUSE_PASSTHROUGH).is_ok()
            && config.set_max_stack_depth(2).is_ok()
        {
            self.passthrough = Some(Passthrough::new());
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let heard = self.core.changes_heard();
        match self.done(OpKind::Lookup, parent.0, || {
            self.core.lookup(parent.0, name)
        }) {
            Ok(e) => reply.entry(&self.ttl(&e), &e.attr, self.generation(&e)),
            Err(e) if e.errno() == libc::ENOENT => match self.core.negative_ttl(parent.0, heard) {
                // Inode 0 with a timeout: the kernel caches "no such name".
                Some(ttl) => {
                    let mut attr = self.core.root_entry().attr;
                    attr.ino = INodeNo(0);
                    reply.entry(&ttl, &attr, Generation(0))
                }
                None => reply.error(Errno::ENOENT),
            },
            Err(e) => reply.error(fail("lookup", e)),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.forget_one(ino.0, nlookup);
        crate::uring::rest_after_forgets();
    }

    fn batch_forget(&self, _req: &Request, nodes: &[ForgetOne]) {
        for n in nodes {
            self.forget_one(n.nodeid().0, n.nlookup());
        }
        crate::uring::rest_after_forgets();
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.done(OpKind::Getattr, ino.0, || self.core.getattr(ino.0)) {
            Ok(e) => reply.attr(&self.ttl(&e), &e.attr),
            Err(e) => reply.error(fail("getattr", e)),
        }
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let set = SetAttr {
            perm: mode.map(|m| (m & 0o7777) as u16),
            uid,
            gid,
            size,
            atime: time(atime),
            mtime: time(mtime),
            ctime,
            ..Default::default()
        };
        match self.done(OpKind::Setattr, ino.0, || {
            self.core.setattr(ctx(req), ino.0, &set, fh.map(|f| f.0))
        }) {
            Ok(e) => reply.attr(&self.ttl(&e), &e.attr),
            Err(e) => reply.error(fail("setattr", e)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.done(OpKind::Readlink, ino.0, || self.core.readlink(ino.0)) {
            Ok(t) => reply.data(&t),
            Err(e) => reply.error(fail("readlink", e)),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let ctx = Ctx { umask, ..ctx(req) };
        self.reply_entry(
            reply,
            self.done(OpKind::Mknod, parent.0, || {
                self.core.mknod(ctx, parent.0, name, mode, rdev)
            }),
            "mknod",
        );
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let ctx = Ctx { umask, ..ctx(req) };
        self.reply_entry(
            reply,
            self.done(OpKind::Mkdir, parent.0, || {
                self.core.mkdir(ctx, parent.0, name, mode)
            }),
            "mkdir",
        );
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.done(OpKind::Unlink, parent.0, || {
                self.core.unlink(parent.0, name)
            }),
            "unlink",
        );
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.done(OpKind::Rmdir, parent.0, || self.core.rmdir(parent.0, name)),
            "rmdir",
        );
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        self.reply_entry(
            reply,
            self.done(OpKind::Symlink, parent.0, || {
                self.core.symlink(ctx(req), parent.0, link_name, target)
            }),
            "symlink",
        );
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = self.done(OpKind::Rename, parent.0, || {
            self.core
                .rename(parent.0, name, newparent.0, newname, flags.bits())
        });
        reply_empty(reply, r, "rename");
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        self.reply_entry(
            reply,
            self.done(OpKind::Link, ino.0, || {
                self.core.link(ino.0, newparent.0, newname)
            }),
            "link",
        );
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let flush = self.core.flush_needed(flags.0);
        match self.done(OpKind::Open, ino.0, || {
            self.core.open(ctx(req), ino.0, flags.0)
        }) {
            Ok(o) => match self.backing(
                ino.0,
                o.fh,
                flags.0,
                Some(&|| reply.open_backing(self.core.backing_file(ino.0)?)),
            ) {
                Some(id) => {
                    // What the kernel cached of the file before this writer came is dropped:
                    // from now on it caches nothing (`ttl`). A new file (create) had nothing.
                    if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
                        self.core.forget_attrs(ino.0);
                    }
                    reply.opened_passthrough(FileHandle(o.fh), open_flags(&o, flush), &id)
                }
                None => reply.opened(FileHandle(o.fh), open_flags(&o, flush)),
            },
            Err(e) => reply.error(fail("open", e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        // The reply is sent from where the tier holds the bytes, when it can.
        let mut reply = Some(reply);
        let mut sent = 0;
        let mut answer = |d: &[u8]| {
            sent = d.len() as u64;
            if let Some(r) = reply.take() {
                r.data(d);
            }
        };
        let r = self.done(OpKind::Read, ino.0, || {
            self.core.read_with(ino.0, fh.0, offset, size, &mut answer)
        });
        match (r, reply) {
            (Ok(()), _) => self.core.count_bytes(ino.0, OpKind::Read, sent),
            (Err(e), Some(reply)) => reply.error(fail("read", e)),
            (Err(e), None) => warn!("read: {e}, after its bytes were sent"),
        }
    }

    fn write(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.done(OpKind::Write, ino.0, || {
            let kill = write_flags.contains(WriteFlags::FUSE_WRITE_KILL_SUIDGID);
            let kill_by = kill.then(|| ctx(req));
            self.core.write(ino.0, fh.0, offset, data, kill_by)
        }) {
            Ok(n) => {
                self.core.count_bytes(ino.0, OpKind::Write, u64::from(n));
                reply.written(n)
            }
            Err(e) => reply.error(fail("write", e)),
        }
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let _ = self.done(OpKind::Release, ino.0, || {
            if let Some(pt) = &self.passthrough {
                pt.release(ino.0, fh.0, flags.0);
            }
            self.core.release(ino.0, fh.0, flags.0);
            Ok(())
        });
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            self.done(OpKind::Fsync, ino.0, || {
                self.core.fsync(ino.0, fh.0, datasync)
            }),
            "fsync",
        );
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.done(OpKind::Opendir, ino.0, || self.core.opendir(ino.0)) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(fail("opendir", e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.done(OpKind::Readdir, ino.0, || {
            self.core.readdir(ino.0, fh.0, offset, READDIR_BATCH)
        }) {
            Ok(items) => {
                for it in items {
                    if reply.add(INodeNo(it.ino), it.offset, it.kind, &it.name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(fail("readdir", e)),
        }
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        match self.done(OpKind::Readdirplus, ino.0, || {
            self.core
                .readdirplus(ino.0, fh.0, offset, READDIRPLUS_BATCH)
        }) {
            Ok(items) => self.send_listing_plus(items, reply),
            Err(e) => reply.error(fail("readdirplus", e)),
        }
    }

    fn releasedir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let _ = self.done(OpKind::Releasedir, ino.0, || {
            self.core.releasedir(fh.0);
            Ok(())
        });
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn statfs(&self, _req: &Request, ino: INodeNo, reply: ReplyStatfs) {
        match self.done(OpKind::Statfs, ino.0, || self.core.statfs(ino.0)) {
            Ok(s) => reply.statfs(
                s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.bsize, s.namelen, s.frsize,
            ),
            Err(e) => reply.error(fail("statfs", e)),
        }
    }

    fn setxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            self.done(OpKind::Setxattr, ino.0, || {
                self.core.setxattr(ctx(req), ino.0, name, value, flags)
            }),
            "setxattr",
        );
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        reply_xattr(
            reply,
            self.done(OpKind::Getxattr, ino.0, || self.core.getxattr(ino.0, name)),
            size,
            "getxattr",
        );
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        reply_xattr(
            reply,
            self.done(OpKind::Listxattr, ino.0, || self.core.listxattr(ino.0)),
            size,
            "listxattr",
        );
    }

    fn removexattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            self.done(OpKind::Removexattr, ino.0, || {
                self.core.removexattr(ino.0, name)
            }),
            "removexattr",
        );
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // The kernel checks permissions itself (default_permissions).
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let ctx = Ctx { umask, ..ctx(req) };
        match self.done(OpKind::Create, parent.0, || {
            self.core.create(ctx, parent.0, name, mode, flags)
        }) {
            Ok((e, o)) => {
                let ino = e.attr.ino.0;
                let flush = self.core.flush_needed(flags);
                let make = || reply.open_backing(self.core.backing_file(ino)?);
                match self.backing(ino, o.fh, flags, Some(&make)) {
                    Some(id) => reply.created_passthrough(
                        &self.ttl(&e).max(CREATED_TTL),
                        &e.attr,
                        self.generation(&e),
                        FileHandle(o.fh),
                        open_flags(&o, flush),
                        &id,
                    ),
                    None => reply.created(
                        &self.ttl(&e),
                        &e.attr,
                        self.generation(&e),
                        FileHandle(o.fh),
                        open_flags(&o, flush),
                    ),
                }
            }
            Err(e) => reply.error(fail("create", e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Where the store keeps no writes back, nothing is to do at close that release does
        // not do: ENOSYS tells the kernel to stop asking (one round trip less per close).
        if !self.core.flush_matters() {
            return reply.error(Errno::ENOSYS);
        }
        reply_empty(
            reply,
            self.done(OpKind::Flush, ino.0, || self.core.flush(ino.0, fh.0)),
            "flush",
        );
    }

    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: IoctlFlags,
        _cmd: u32,
        _in_data: &[u8],
        _out_size: u32,
        reply: ReplyIoctl,
    ) {
        // No ioctls here; a terminal probe (TCGETS) and the like get what a plain file gives.
        reply.error(Errno::ENOTTY);
    }

    fn fallocate(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            self.done(OpKind::Fallocate, ino.0, || {
                self.core
                    .fallocate(ctx(req), ino.0, fh.0, offset, length, mode)
            }),
            "fallocate",
        );
    }
}

/// How long the kernel may cache `vram/` metadata on the in-process store: it alone changes it.
pub const MEMORY_TTL: Duration = Duration::from_secs(3600);
