//! Extended attributes on both tiers.

use super::*;
use crate::policy;

impl MavFs {
    pub fn setxattr(
        &self,
        ctx: Ctx,
        ino: u64,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> FsResult<()> {
        let how = match flags {
            0 => XattrSet::Any,
            libc::XATTR_CREATE => XattrSet::Create,
            libc::XATTR_REPLACE => XattrSet::Replace,
            _ => return Err(FsError::Invalid),
        };
        let acl = acl::is_acl(name);
        if acl && !self.acl {
            return Err(FsError::NotSupported);
        }
        match Self::route(ino)? {
            Target::Ram(i) if acl => self.ram_set_acl(ctx, i, name, value, how),
            Target::Ram(_) if policy::is_internal_xattr(name) => {
                Err(FsError::Store(ram::StoreError::NotPermitted))
            }
            Target::Ram(i) => {
                refuse_acl(name)?;
                Ok(self.ram_spend(|| self.store.setxattr(i, name, value, how))?)
            }
            Target::Disk(id) => {
                self.disk.setxattr(id, name, value, how)?;
                // The host's own check took the daemon for the caller.
                if name == acl::ACCESS {
                    let a = self.disk.getattr(id)?;
                    let perm = u32::from(a.perm);
                    if perm & libc::S_ISGID != 0 && ctx.uid != 0 && ctx.outside_group(a.gid) {
                        let set = SetAttr {
                            perm: Some((perm & !libc::S_ISGID) as u16),
                            ..Default::default()
                        };
                        self.disk.setattr(id, &set, None)?;
                    }
                }
                Ok(())
            }
            _ => Err(FsError::NotSupported),
        }
    }

    /// An ACL set on `vram/`, with the mode kept in step (Linux's `posix_acl_update_mode`):
    /// an access ACL sets the permission bits, and one the mode says as much as is not
    /// kept; setgid goes for a caller outside the file's group. A default ACL only on a
    /// directory.
    fn ram_set_acl(
        &self,
        ctx: Ctx,
        i: ram::Ino,
        name: &OsStr,
        value: &[u8],
        how: XattrSet,
    ) -> FsResult<()> {
        let parsed = acl::Acl::parse(value).ok_or(FsError::Invalid)?;
        let a = self.store.getattr(i).map_err(gone)?;
        if a.kind == Kind::Symlink {
            return Err(FsError::NotSupported);
        }
        if name == acl::DEFAULT {
            if a.kind != Kind::Dir {
                return Err(FsError::Access);
            }
            return Ok(self.ram_spend(|| self.store.setxattr(i, name, value, how))?);
        }
        let (bits, plain) = parsed.mode();
        let mut perm = (a.perm & !0o777) | bits;
        if perm & libc::S_ISGID as u16 != 0 && ctx.uid != 0 && ctx.outside_group(a.gid) {
            perm &= !(libc::S_ISGID as u16);
        }
        if plain {
            match self.store.removexattr(i, name) {
                Ok(()) | Err(ram::StoreError::NoAttr) => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            self.ram_spend(|| self.store.setxattr(i, name, value, how))?;
        }
        if perm != a.perm {
            let set = SetAttr {
                perm: Some(perm),
                ..Default::default()
            };
            self.ram_spend(|| self.store.setattr(i, &set))?;
        }
        Ok(())
    }

    /// After a chmod on `vram/`: the access ACL, if any, takes the new mode's owner, group
    /// class and other bits (Linux's `posix_acl_chmod`).
    pub(super) fn ram_chmod_acl(&self, i: ram::Ino, perm: u16) -> FsResult<()> {
        let name = OsStr::new(acl::ACCESS);
        let v = match self.store.getxattr(i, name) {
            Ok(v) => v,
            Err(ram::StoreError::NoAttr) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(old) = acl::Acl::parse(&v) else {
            return Ok(());
        };
        let new = old.chmod(perm);
        Ok(self.ram_spend(|| self.store.setxattr(i, name, new.bytes(), XattrSet::Any))?)
    }

    /// The mode a new `vdisk/` node is made with: the host gives it the parent's default
    /// ACL itself, and applies no umask (the daemon's is 0), so the caller's umask applies
    /// here where the parent has no default ACL.
    pub(super) fn disk_mode(&self, parent: u64, mode: u32, umask: u32) -> u32 {
        if self.acl && self.disk.getxattr(parent, OsStr::new(acl::DEFAULT)).is_ok() {
            mode
        } else {
            super::apply_umask(mode, umask)
        }
    }

    /// Runs `create` with `node` made as Linux's `posix_acl_create` makes it: from the
    /// parent's default ACL where there is one (the umask then does not apply), else with
    /// the umask. The store checks the parent's ACL as it creates, and answers with the
    /// one there is if that was not the one the node was made from.
    pub(super) fn inherit(
        &self,
        node: &NewNode<'_>,
        umask: u32,
        create: impl Fn(&NewNode<'_>) -> ram::StoreResult<ram::Attr>,
    ) -> ram::StoreResult<ram::Attr> {
        let masked = super::apply_umask(node.perm.into(), umask) as u16;
        if !self.acl || node.kind == Kind::Symlink {
            return create(&NewNode {
                perm: masked,
                ..*node
            });
        }
        // What the parent's default ACL was last seen to be; empty: none.
        let mut parent: Vec<u8> = Vec::new();
        for _ in 0..8 {
            let made;
            let n = if parent.is_empty() {
                NewNode {
                    perm: masked,
                    acl: ram::Inherit::Absent,
                    ..*node
                }
            } else {
                let damaged =
                    || ram::StoreError::Unavailable("a directory's default ACL is damaged".into());
                let (access, perm) = acl::Acl::parse(&parent)
                    .ok_or_else(damaged)?
                    .create(node.perm);
                made = access;
                NewNode {
                    perm,
                    acl: ram::Inherit::From {
                        from: &parent,
                        access: made.as_ref().map(acl::Acl::bytes),
                    },
                    ..*node
                }
            };
            match create(&n) {
                Err(ram::StoreError::DefaultAcl(d)) => parent = d,
                r => return r,
            }
        }
        Err(ram::StoreError::DefaultAcl(parent))
    }

    pub fn getxattr(&self, ino: u64, name: &OsStr) -> FsResult<Vec<u8>> {
        // What `mavfsctl` reads to turn a path on the mount into a tier's path.
        if ino == inode::CONTROL && name == ROOT_XATTR {
            let root = inode::root_tier().map_or("both", |t| t.name());
            return Ok(root.as_bytes().to_vec());
        }
        match Self::route(ino)? {
            Target::Ram(_) if policy::is_internal_xattr(name) => {
                Err(FsError::Store(ram::StoreError::NoAttr))
            }
            Target::Ram(i) => Ok(self.store.getxattr(i, name)?),
            Target::Disk(id) => Ok(self.disk.getxattr(id, name)?),
            _ => Err(FsError::Store(ram::StoreError::NoAttr)),
        }
    }

    /// The names, each NUL-terminated, as `listxattr(2)` returns them.
    pub fn listxattr(&self, ino: u64) -> FsResult<Vec<u8>> {
        match Self::route(ino)? {
            Target::Ram(i) => {
                let mut out = Vec::new();
                for n in self.store.listxattr(i)? {
                    // Pins and persist marks are the daemon's (`mavfsctl pin`).
                    if policy::is_internal_xattr(&n) {
                        continue;
                    }
                    out.extend_from_slice(n.as_bytes());
                    out.push(0);
                }
                Ok(out)
            }
            Target::Disk(id) => Ok(self.disk.listxattr(id)?),
            _ => Ok(Vec::new()),
        }
    }

    pub fn removexattr(&self, ino: u64, name: &OsStr) -> FsResult<()> {
        match Self::route(ino)? {
            Target::Ram(_) if policy::is_internal_xattr(name) => {
                Err(FsError::Store(ram::StoreError::NoAttr))
            }
            Target::Ram(i) => Ok(self.store.removexattr(i, name)?),
            Target::Disk(id) => Ok(self.disk.removexattr(id, name)?),
            _ => Err(FsError::NotSupported),
        }
    }
}

/// The control file's attribute naming what the mount root holds: `both` tiers, or `vram`
/// or `vdisk` alone.
pub const ROOT_XATTR: &str = crate::control::protocol::ROOT_XATTR;

/// POSIX ACLs are not kept on `vram/`: storing them as plain xattrs would pretend to
/// enforce permissions that nobody checks.
pub(super) fn refuse_acl(name: &OsStr) -> FsResult<()> {
    if crate::node::vram_refuses_xattr(name) {
        return Err(FsError::NotSupported);
    }
    Ok(())
}
