//! The filesystem core: every operation as a typed call returning `FsResult`, routed by the
//! tier tag of the inode number (`inode`). `fuse` is a thin adapter on top; nothing here
//! replies to the kernel, so the core is testable without a mount.
//!
//! The root is synthetic and fixed: it holds `vram/` and `vdisk/`, and refuses anything else
//! with EPERM. Across the tiers, rename and link fail with EXDEV, as between two filesystems.

mod attr;
mod dir;
mod file;
pub mod fuse;
pub mod handles;
pub mod inode;
mod notify;
mod passthrough;
mod running;
mod xattr;

use attr::{file_type, fuse_attr};
use notify::KernelCache;
use running::Running;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use fuser::{FileAttr, FileType, INodeNo, Notifier};

use crate::acl;
use crate::control::protocol::CONTROL_NAME;
use crate::control::server::Control;
use crate::counters::{Counters, OpKind, Place};
use crate::disk::{at, DiskTier};
use crate::error::{FsError, FsResult};
use crate::node::{is_tmp_name, killed_mode, sgid_hangs_on_group};
use crate::ram::{self, Attr, Falloc, Kind, NewNode, RamStore, RenameMode, SetAttr, XattrSet};
use crate::sync::Mutex;
use handles::{Handle, Handles};
use inode::Target;

/// Names in the root.
const VRAM_NAME: &str = "vram";
const VDISK_NAME: &str = "vdisk";

/// How long the kernel may trust what the disk tier says: changes made on the host directly
/// show through the mount within this time.
pub const DISK_TTL: Duration = Duration::from_secs(1);

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub uid: u32,
    pub gid: u32,
    /// The calling thread, for what the request does not carry (supplementary groups).
    pub pid: u32,
    /// The caller's umask, on requests that create (0 elsewhere).
    pub umask: u32,
}

impl Ctx {
    /// Whether the caller is outside group `gid`: neither its fsgid nor one of its
    /// supplementary groups. Read from `/proc` only when asked (a setgid bit hangs on it);
    /// a caller that has gone counts as outside, so that setgid goes rather than stays.
    pub fn outside_group(&self, gid: u32) -> bool {
        if self.gid == gid {
            return false;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid));
        let groups = status.ok().and_then(|s| {
            let line = s.lines().find_map(|l| l.strip_prefix("Groups:"))?;
            Some(line.split_whitespace().any(|g| g.parse() == Ok(gid)))
        });
        groups != Some(true)
    }
}

/// An inode as the kernel sees it, with how long it may cache it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub attr: FileAttr,
    pub ttl: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Opened {
    pub fh: u64,
    /// Keep the page cache across opens (safe where only this mount changes the data).
    pub keep_cache: bool,
    /// Every read and write goes to the daemon (the control file's answers change).
    pub direct_io: bool,
}

#[derive(Debug, Clone)]
pub struct DirItem {
    pub ino: u64,
    pub offset: u64,
    pub kind: FileType,
    pub name: OsString,
}

#[derive(Debug, Clone, Copy)]
pub struct StatFs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
}

/// The two tiers and what the mount adds on top of them.
pub struct MavFs {
    store: Arc<dyn RamStore>,
    disk: Arc<DiskTier>,
    handles: Handles,
    control: Arc<Control>,
    counters: Arc<Counters>,
    owner: Ctx,
    mounted_at: SystemTime,
    /// Attribute and entry timeout for `vram/`: long on a store only this mount changes.
    ram_ttl: Duration,
    /// Open handles per inode that the kernel opened to run the file (`execve`).
    running: Running,
    /// `vram/` files open for writing (by store inode), which a policy leaves alone.
    writers: Arc<crate::policy::Writers>,
    /// The kernel caches writes and sends them back page by page at offsets of its own.
    writeback_cache: bool,
    /// The kernel enforces POSIX ACLs (FUSE_POSIX_ACL) and leaves the umask to us
    /// (FUSE_DONT_MASK): modes and ACLs are kept in step here.
    acl: bool,
    notifier: Arc<OnceLock<Notifier>>,
}

/// How long a vram operation short of space waits for space on its way back.
const SETTLE_MAX: Duration = Duration::from_secs(1);

impl std::fmt::Debug for MavFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MavFs")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl MavFs {
    /// `notifier` is filled once the session exists, so jobs can tell the kernel what they
    /// changed behind its back.
    pub fn new(
        store: Arc<dyn RamStore>,
        disk: DiskTier,
        disk_dir: PathBuf,
        owner: Ctx,
        ram_ttl: Duration,
        notifier: Arc<OnceLock<Notifier>>,
    ) -> Self {
        let disk = Arc::new(disk);
        let counters = Arc::new(Counters::default());
        let writers = Arc::new(crate::policy::Writers::default());
        let control = Arc::new(Control::new(
            store.clone(),
            disk.clone(),
            disk_dir,
            counters.clone(),
            Arc::new(KernelCache {
                notifier: notifier.clone(),
            }),
            writers.clone(),
        ));
        control.sweep_interrupted();
        let n = notifier.clone();
        store.watch_others(Box::new(move |changed| notify::foreign(&n, changed)));
        MavFs {
            store,
            disk,
            handles: Handles::default(),
            control,
            counters,
            owner,
            mounted_at: SystemTime::now(),
            ram_ttl,
            running: Running::default(),
            writers,
            writeback_cache: false,
            acl: false,
            notifier,
        }
    }

    /// Tells the kernel to drop the attributes it holds of `ino` (its pages stay).
    pub fn forget_attrs(&self, ino: u64) {
        if let Some(n) = self.notifier.get() {
            let _ = n.inval_inode(INodeNo(ino), -1, 0);
        }
    }

    /// The kernel agreed to cache writes.
    pub fn set_writeback_cache(&mut self) {
        self.writeback_cache = true;
    }

    /// The kernel agreed to hand POSIX ACLs over and to leave the umask to us.
    pub fn set_acl(&mut self) {
        self.acl = true;
    }

    pub fn control(&self) -> Arc<Control> {
        self.control.clone()
    }

    /// Counts one operation against the tier of `ino` (the root and control file are not
    /// a tier's).
    pub fn count(&self, ino: u64, kind: OpKind, took: Duration, errno: Option<i32>) {
        if let Some(place) = place_of(ino) {
            self.counters.op(place, kind, took, errno);
        }
    }

    pub fn count_bytes(&self, ino: u64, kind: OpKind, n: u64) {
        if let Some(place) = place_of(ino) {
            self.counters.bytes(place, kind, n);
        }
    }

    fn route(ino: u64) -> FsResult<Target> {
        inode::route(ino).ok_or(FsError::NoInode)
    }

    /// An entry for the kernel, counted as a kernel reference (see `RamStore::pin`).
    /// `heard`: the store's `changes_heard` before the call that read `a`.
    fn ram_pinned(&self, a: &Attr, heard: u64) -> FsResult<Entry> {
        self.store.pin(a.ino)?;
        Ok(self.ram_entry(a, heard))
    }

    fn ram_entry(&self, a: &Attr, heard: u64) -> Entry {
        Entry {
            attr: fuse_attr(inode::from_ram(a.ino), a),
            ttl: self.store.kernel_ttl(heard).unwrap_or(self.ram_ttl),
        }
    }

    fn disk_entry(&self, a: &Attr) -> Entry {
        Entry {
            attr: fuse_attr(inode::from_disk(a.ino), a),
            ttl: DISK_TTL,
        }
    }

    fn root_entry(&self) -> Entry {
        let t = self.mounted_at;
        Entry {
            attr: FileAttr {
                ino: INodeNo(inode::ROOT),
                size: 4096,
                blocks: 0,
                atime: t,
                mtime: t,
                ctime: t,
                crtime: t,
                kind: FileType::Directory,
                perm: 0o755,
                nlink: 4,
                uid: self.owner.uid,
                gid: self.owner.gid,
                rdev: 0,
                blksize: 4096,
                flags: 0,
            },
            ttl: Duration::from_secs(3600),
        }
    }

    fn control_entry(&self) -> Entry {
        let mut e = self.root_entry();
        e.attr.ino = INodeNo(inode::CONTROL);
        e.attr.kind = FileType::RegularFile;
        e.attr.perm = 0o600;
        e.attr.nlink = 1;
        e.attr.size = 0;
        e
    }

    /// A parent directory for a new or removed entry: never the fixed root.
    fn parent(ino: u64) -> FsResult<Target> {
        match Self::route(ino)? {
            Target::Root => Err(FsError::RootIsFixed),
            Target::Control => Err(FsError::NotDir),
            t => Ok(t),
        }
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> FsResult<Entry> {
        // One tier as the root: the control file is there still.
        if parent == inode::ROOT && name == CONTROL_NAME && inode::root_tier().is_some() {
            return Ok(self.control_entry());
        }
        match name.as_bytes() {
            b"." => return self.lookup_self(parent),
            b".." => return self.lookup_parent(parent),
            _ => {}
        }
        match Self::route(parent)? {
            Target::Root => match name.to_str() {
                Some(VRAM_NAME) => self.getattr(inode::VRAM),
                Some(VDISK_NAME) => self.getattr(inode::VDISK),
                Some(CONTROL_NAME) => Ok(self.control_entry()),
                _ => Err(FsError::Store(ram::StoreError::NotFound)),
            },
            Target::Control => Err(FsError::NotDir),
            // A job's file in the making is nobody else's business.
            _ if is_tmp_name(name) => Err(FsError::Store(ram::StoreError::NotFound)),
            Target::Ram(p) => {
                let heard = self.store.changes_heard();
                self.ram_pinned(&self.store.lookup(p, name)?, heard)
            }
            Target::Disk(p) => Ok(self.disk_entry(&self.disk.lookup(p, name)?)),
        }
    }

    /// `.`: the kernel asks for an inode by its number alone, to open a file handle whose
    /// inode it no longer holds. A removed one is gone (ENOENT, which it turns into ESTALE).
    fn lookup_self(&self, ino: u64) -> FsResult<Entry> {
        match Self::route(ino)? {
            Target::Root => Ok(self.root_entry()),
            Target::Control => Ok(self.control_entry()),
            Target::Ram(i) => {
                let heard = self.store.changes_heard();
                let a = self.store.getattr(i)?;
                if a.nlink == 0 {
                    return Err(FsError::Store(ram::StoreError::NotFound));
                }
                self.ram_pinned(&a, heard)
            }
            Target::Disk(id) => Ok(self.disk_entry(&self.disk.lookup_self(id)?)),
        }
    }

    /// `..` of a directory, for a file handle of one the kernel no longer holds.
    fn lookup_parent(&self, ino: u64) -> FsResult<Entry> {
        // Above a tier's root is the mount's root: that tier's root itself, if it is one.
        let mount_root = || match inode::root_tier() {
            None => Ok(self.root_entry()),
            Some(_) => self.getattr(inode::ROOT),
        };
        match Self::route(ino)? {
            Target::Root => Ok(self.root_entry()),
            Target::Control => Err(FsError::NotDir),
            Target::Ram(ram::ROOT_INO) | Target::Disk(crate::disk::ROOT_ID) => mount_root(),
            Target::Ram(i) => {
                let up = self.store.readdir(i, 0, 0)?.parent;
                self.lookup_self(inode::from_ram(up))
            }
            Target::Disk(id) => Ok(self.disk_entry(&self.disk.lookup_parent(id)?)),
        }
    }

    /// What tells inode `ino` from an earlier one of the same number: the host's own
    /// generation on `vdisk/`, the store's on `vram/`.
    pub fn generation(&self, ino: u64) -> u64 {
        // The kernel made the mount's root with generation 0, and takes any other for a
        // sign that the inode is stale (a tier mounted as the root answers `..` with it).
        if ino == inode::ROOT {
            return 0;
        }
        match inode::route(ino) {
            Some(Target::Disk(id)) => self.disk.generation(id),
            Some(Target::Ram(_)) => self.store.generation(),
            _ => 0,
        }
    }

    /// How long the kernel may hold a name `lookup` found absent in `parent` (None: not
    /// at all). `heard`: `changes_heard` before that lookup. A shared store's absent names
    /// are kept as its names are: another mount's new name comes with a notice that drops
    /// what the kernel holds of it.
    pub fn negative_ttl(&self, parent: u64, heard: u64) -> Option<Duration> {
        match inode::route(parent) {
            Some(Target::Ram(_)) => Some(self.store.kernel_ttl(heard).unwrap_or(self.ram_ttl)),
            _ => None,
        }
    }

    /// What the store heard of other mounts' changes so far (`RamStore::changes_heard`).
    pub fn changes_heard(&self) -> u64 {
        self.store.changes_heard()
    }

    pub fn forget(&self, ino: u64, n: u64) {
        match inode::route(ino) {
            Some(Target::Disk(id)) => self.disk.forget(id, n),
            Some(Target::Ram(i)) => self.store.forget(i, n),
            _ => {}
        }
    }

    /// Runs a vram operation that takes space. One that fails for want of it while unlinked
    /// inodes are still kept is tried again as their space comes back: the kernel sends the
    /// close and the forget that free a removed file after the unlink or close has returned,
    /// so `rm old; cp new .` would otherwise fail now and then (ext4, likewise, tries an
    /// allocation again once a journal commit has freed blocks). At most SETTLE_MAX.
    fn ram_spend<T>(&self, mut op: impl FnMut() -> ram::StoreResult<T>) -> ram::StoreResult<T> {
        let mut deadline = None;
        loop {
            // Counted before the try: one given back while it failed counts as space back.
            let kept = self.store.orphans();
            match op() {
                Err(ram::StoreError::NoSpace) => {
                    let d = *deadline.get_or_insert_with(|| Instant::now() + SETTLE_MAX);
                    if !self.some_space_back(kept, d) {
                        return Err(ram::StoreError::NoSpace);
                    }
                }
                r => return r,
            }
        }
    }

    /// Waits until fewer than `kept` (or than now, if more) unlinked inodes are kept (true),
    /// or `deadline`. None kept: the store is simply full, and nothing is waited for.
    fn some_space_back(&self, kept: u64, deadline: Instant) -> bool {
        let kept = kept.max(self.store.orphans());
        while kept > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            if self.store.orphans() < kept {
                return true;
            }
        }
        false
    }

    pub fn getattr(&self, ino: u64) -> FsResult<Entry> {
        match Self::route(ino)? {
            Target::Root => Ok(self.root_entry()),
            Target::Control => Ok(self.control_entry()),
            Target::Ram(i) => {
                let heard = self.store.changes_heard();
                Ok(self.ram_entry(&self.store.getattr(i).map_err(gone)?, heard))
            }
            Target::Disk(id) => Ok(self.disk_entry(&self.disk.getattr(id)?)),
        }
    }

    fn disk_file(&self, fh: Option<u64>) -> Option<Arc<Handle>> {
        fh.filter(|&f| f != 0).and_then(|f| self.handles.get(f))
    }

    /// The kernel leaves dropping setuid and setgid to the filesystem (HANDLE_KILLPRIV_V2):
    /// on chown, on a truncate by another user than root, and where it has nothing else to
    /// ask (its own check found privileges to drop before a write it does not send here, as
    /// on a passthrough file). The kernel knows whether the caller has CAP_FSETID; the
    /// protocol tells it only in flags this library does not pass on, so root stands for it.
    pub fn setattr(&self, ctx: Ctx, ino: u64, set: &SetAttr, fh: Option<u64>) -> FsResult<Entry> {
        let chown = (set.uid.is_some() || set.gid.is_some()) && set.perm.is_none();
        let truncate = set.size.is_some() && ctx.uid != 0;
        let set = &SetAttr {
            kill_privs: set.kill_privs || chown || truncate || set.changes_only_ctime(),
            ..set.clone()
        };
        let e = self.setattr_tier(ino, set, fh)?;
        // From a caller outside the file's group setgid without group execute goes too
        // (what the kernel asks when its own check found it, as before a write or an
        // allocation): a second step, where that bit is there (rare).
        let (perm, gid) = (e.attr.perm.into(), e.attr.gid);
        if set.kill_privs && ctx.uid != 0 && file::sgid_left_to_kill(ctx, perm, gid) {
            let kill = SetAttr {
                kill_privs: true,
                kill_sgid: true,
                ..Default::default()
            };
            return self.setattr_tier(ino, &kill, fh);
        }
        Ok(e)
    }

    fn setattr_tier(&self, ino: u64, set: &SetAttr, fh: Option<u64>) -> FsResult<Entry> {
        match Self::route(ino)? {
            // A shell's `>` truncates before writing a request: nothing to truncate.
            Target::Control if set.size.is_some() && set.perm.is_none() && set.uid.is_none() => {
                Ok(self.control_entry())
            }
            Target::Root | Target::Control => Err(FsError::RootIsFixed),
            Target::Ram(i) => {
                let heard = self.store.changes_heard();
                let a = self
                    .ram_spend(|| self.store.setattr(i, set))
                    .map_err(gone)?;
                if self.acl && set.perm.is_some() && a.kind != Kind::Symlink {
                    self.ram_chmod_acl(i, a.perm)?;
                }
                Ok(self.ram_entry(&a, heard))
            }
            Target::Disk(id) => {
                let h = self.disk_file(fh);
                let file = match h.as_deref() {
                    Some(Handle::File(f)) => Some(f),
                    _ => None,
                };
                Ok(self.disk_entry(&self.disk.setattr(id, set, file)?))
            }
        }
    }

    pub fn readlink(&self, ino: u64) -> FsResult<Vec<u8>> {
        match Self::route(ino)? {
            Target::Ram(i) => Ok(self.store.readlink(i).map_err(gone)?),
            Target::Disk(id) => Ok(self.disk.readlink(id)?),
            _ => Err(FsError::Invalid),
        }
    }

    /// mknod, mkdir and symlink share this path on `vram/`.
    /// Creates on `vram/`. A new inode that another mount removed before it could be pinned
    /// answers ESTALE, so the kernel tries the whole call again.
    fn ram_create(
        &self,
        ctx: Ctx,
        p: ram::Ino,
        name: &OsStr,
        node: &NewNode<'_>,
    ) -> FsResult<Entry> {
        self.ram_create_as(ctx, p, name, node, false)
    }

    /// `ram_create`; `open`: the new file starts opened (see `RamStore::create_open`). The
    /// mode is the caller's before its umask, which applies unless the parent has a
    /// default ACL (`xattr::inherit`).
    fn ram_create_as(
        &self,
        ctx: Ctx,
        p: ram::Ino,
        name: &OsStr,
        node: &NewNode<'_>,
        open: bool,
    ) -> FsResult<Entry> {
        let heard = self.store.changes_heard();
        let a = self.ram_spend(|| {
            self.inherit(node, ctx.umask, |n| {
                if open {
                    self.store.create_open(p, name, n)
                } else {
                    self.store.create(p, name, n)
                }
            })
        })?;
        self.ram_pinned(&a, heard).map_err(|e| match e {
            FsError::Store(e) => FsError::Store(gone(e)),
            e => e,
        })
    }

    pub fn mknod(
        &self,
        ctx: Ctx,
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
    ) -> FsResult<Entry> {
        match Self::parent(parent)? {
            Target::Ram(p) => {
                let kind = Kind::from_mode(mode).ok_or(FsError::Invalid)?;
                if kind == Kind::Dir || kind == Kind::Symlink {
                    return Err(FsError::Invalid);
                }
                let node = NewNode::new(kind, mode, ctx.uid, ctx.gid).with_rdev(rdev);
                self.ram_create(ctx, p, name, &node)
            }
            Target::Disk(p) => {
                let mode = self.disk_mode(p, mode, ctx.umask);
                Ok(self.disk_entry(&self.disk.mknod(p, name, mode, rdev, ctx.uid, ctx.gid)?))
            }
            _ => Err(FsError::RootIsFixed),
        }
    }

    pub fn mkdir(&self, ctx: Ctx, parent: u64, name: &OsStr, mode: u32) -> FsResult<Entry> {
        match Self::parent(parent)? {
            Target::Ram(p) => {
                let node = NewNode::new(Kind::Dir, mode, ctx.uid, ctx.gid);
                self.ram_create(ctx, p, name, &node)
            }
            Target::Disk(p) => {
                let mode = self.disk_mode(p, mode, ctx.umask) & 0o7777;
                Ok(self.disk_entry(&self.disk.mkdir(p, name, mode, ctx.uid, ctx.gid)?))
            }
            _ => Err(FsError::RootIsFixed),
        }
    }

    pub fn symlink(&self, ctx: Ctx, parent: u64, name: &OsStr, target: &Path) -> FsResult<Entry> {
        match Self::parent(parent)? {
            Target::Ram(p) => {
                let node = NewNode::symlink(target.as_os_str().as_bytes(), ctx.uid, ctx.gid);
                self.ram_create(ctx, p, name, &node)
            }
            Target::Disk(p) => {
                Ok(self.disk_entry(&self.disk.symlink(p, name, target, ctx.uid, ctx.gid)?))
            }
            _ => Err(FsError::RootIsFixed),
        }
    }

    pub fn unlink(&self, parent: u64, name: &OsStr) -> FsResult<()> {
        match Self::parent(parent)? {
            Target::Ram(p) => Ok(self.store.unlink(p, name)?),
            Target::Disk(p) => Ok(self.disk.unlink(p, name)?),
            _ => Err(FsError::RootIsFixed),
        }
    }

    pub fn rmdir(&self, parent: u64, name: &OsStr) -> FsResult<()> {
        match Self::parent(parent)? {
            Target::Ram(p) => match self.store.rmdir(p, name) {
                Err(ram::StoreError::NotEmpty) if self.clear_ram_leftovers(p, name) => {
                    Ok(self.store.rmdir(p, name)?)
                }
                r => Ok(r?),
            },
            Target::Disk(p) => match self.disk.rmdir(p, name) {
                Err(e)
                    if e.raw_os_error() == Some(libc::ENOTEMPTY)
                        && self.clear_disk_leftovers(p, name) =>
                {
                    Ok(self.disk.rmdir(p, name)?)
                }
                r => Ok(r?),
            },
            _ => Err(FsError::RootIsFixed),
        }
    }

    pub fn rename(
        &self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
    ) -> FsResult<()> {
        match (Self::parent(parent)?, Self::parent(newparent)?) {
            (Target::Ram(p), Target::Ram(np)) => {
                let mode = match flags {
                    0 => RenameMode::Replace,
                    libc::RENAME_NOREPLACE => RenameMode::NoReplace,
                    libc::RENAME_EXCHANGE => RenameMode::Exchange,
                    _ => return Err(FsError::Invalid),
                };
                Ok(self.store.rename(p, name, np, newname, mode)?)
            }
            (Target::Disk(p), Target::Disk(np)) => {
                Ok(self.disk.rename(p, name, np, newname, flags)?)
            }
            _ => Err(FsError::CrossTier),
        }
    }

    pub fn link(&self, ino: u64, newparent: u64, newname: &OsStr) -> FsResult<Entry> {
        match (Self::route(ino)?, Self::parent(newparent)?) {
            (Target::Ram(i), Target::Ram(np)) if i != ram::ROOT_INO => {
                let heard = self.store.changes_heard();
                self.ram_pinned(&self.store.link(i, np, newname)?, heard)
            }
            (Target::Disk(id), Target::Disk(np)) if id != crate::disk::ROOT_ID => {
                Ok(self.disk_entry(&self.disk.link(id, np, newname)?))
            }
            (Target::Root, _) | (Target::Control, _) => Err(FsError::RootIsFixed),
            (Target::Ram(_), Target::Ram(_)) | (Target::Disk(_), Target::Disk(_)) => {
                Err(FsError::Store(ram::StoreError::NotPermitted))
            }
            _ => Err(FsError::CrossTier),
        }
    }

    pub fn statfs(&self, ino: u64) -> FsResult<StatFs> {
        match Self::route(ino)? {
            Target::Disk(_) => {
                let s = self.disk.statfs()?;
                Ok(StatFs {
                    blocks: s.f_blocks,
                    bfree: s.f_bfree,
                    bavail: s.f_bavail,
                    files: s.f_files,
                    ffree: s.f_ffree,
                    bsize: s.f_bsize as u32,
                    namelen: s.f_namemax as u32,
                    frsize: s.f_frsize as u32,
                })
            }
            _ => {
                const BS: u64 = 4096;
                let u = self.store.usage();
                let blocks = u.limit / BS;
                let free = u.limit.saturating_sub(u.bytes + u.meta) / BS;
                let inodes = u.files + u.dirs;
                // Inodes are limited only by bytes: offer as many as a small file could take.
                let ffree = free.max(1) * 16;
                Ok(StatFs {
                    blocks,
                    bfree: free,
                    bavail: free,
                    files: inodes + ffree,
                    ffree,
                    bsize: BS as u32,
                    namelen: ram::NAME_MAX as u32,
                    frsize: BS as u32,
                })
            }
        }
    }

    /// Whether `ino` is a regular file of `vdisk/` (what passthrough can serve).
    pub fn is_disk_file(&self, ino: u64) -> bool {
        match inode::route(ino) {
            Some(Target::Disk(id)) => self.disk.kind(id) == Some(Kind::File),
            _ => false,
        }
    }

    /// A read-write host file for a passthrough backing id: every open of the inode shares
    /// it, whatever mode each was opened in (the kernel checked each caller's access).
    pub fn backing_file(&self, ino: u64) -> std::io::Result<File> {
        match inode::route(ino) {
            Some(Target::Disk(id)) => self.disk.open(id, libc::O_RDWR),
            _ => Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

/// For an operation on an inode the kernel holds: the inode may have been removed since the
/// kernel looked its name up (another mount on a shared store), and ESTALE makes the kernel
/// walk the path again instead of failing an `open(O_CREAT)` with ENOENT.
fn gone(e: ram::StoreError) -> ram::StoreError {
    match e {
        ram::StoreError::NotFound => ram::StoreError::Stale,
        e => e,
    }
}

fn place_of(ino: u64) -> Option<Place> {
    match inode::route(ino) {
        Some(Target::Ram(_)) => Some(Place::Vram),
        Some(Target::Disk(_)) => Some(Place::Vdisk),
        _ => None,
    }
}

/// A new node's mode with the caller's umask applied. The kernel applies it already unless
/// FUSE_DONT_MASK is on; doing it again is harmless and keeps the mode right either way.
fn apply_umask(mode: u32, umask: u32) -> u32 {
    mode & !(umask & 0o777)
}

#[cfg(test)]
mod tests;
