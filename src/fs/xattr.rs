//! Extended attributes on both tiers.

use super::*;

impl MavFs {
    pub fn setxattr(&self, ino: u64, name: &OsStr, value: &[u8], flags: i32) -> FsResult<()> {
        let how = match flags {
            0 => XattrSet::Any,
            libc::XATTR_CREATE => XattrSet::Create,
            libc::XATTR_REPLACE => XattrSet::Replace,
            _ => return Err(FsError::Invalid),
        };
        match Self::route(ino)? {
            Target::Ram(i) => {
                refuse_acl(name)?;
                Ok(self.ram_spend(|| self.store.setxattr(i, name, value, how))?)
            }
            Target::Disk(id) => Ok(self.disk.setxattr(id, name, value, how)?),
            _ => Err(FsError::NotSupported),
        }
    }

    pub fn getxattr(&self, ino: u64, name: &OsStr) -> FsResult<Vec<u8>> {
        // What `mavfsctl` reads to turn a path on the mount into a tier's path.
        if ino == inode::CONTROL && name == ROOT_XATTR {
            let root = inode::root_tier().map_or("both", |t| t.name());
            return Ok(root.as_bytes().to_vec());
        }
        match Self::route(ino)? {
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
