//! Extended attributes of `vdisk/` inodes: through the magic link of the inode's `O_PATH` fd,
//! and a symlink's through its directory and name (where it was last seen, checked to be it).

use super::*;

impl DiskTier {
    /// Remembers where a symlink was seen, for its extended attributes.
    pub(super) fn seen(&self, a: &Attr, parent: u64, name: &CStr) {
        if a.kind != Kind::Symlink {
            return;
        }
        if let Some(node) = self.nodes.shard(a.ino).read().get(&a.ino) {
            node.slot.lock().seen_at = Some((parent, OsStr::from_bytes(name.to_bytes()).into()));
        }
    }

    /// After a rename to `dir`/`name`: a known symlink now there was seen there.
    pub(super) fn moved(&self, dir: &Held, name: &CStr) {
        let Ok(Some(st)) = at::stat_at(dir.fd.as_fd(), name) else {
            return;
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
            return;
        }
        if let Some(id) = self.known_id(&st) {
            let a = attr_of(id, &st);
            self.seen(&a, dir.id, name);
        }
    }

    /// The directory and name of symlink `n`, checked to name it still (a rename on the host
    /// behind the mount's back answers ESTALE).
    fn link_at(&self, n: &Held) -> io::Result<(Held, std::ffi::CString)> {
        let stale = || io::Error::from_raw_os_error(libc::ESTALE);
        let (parent, name) = n.slot.lock().seen_at.clone().ok_or_else(stale)?;
        let p = self.node(parent)?;
        let c = at::name(&name)?;
        let there = at::stat_at(p.fd.as_fd(), &c)?.ok_or_else(stale)?;
        let own = at::stat_fd(n.fd.as_fd())?;
        if (there.st_dev, there.st_ino) != (own.st_dev, own.st_ino) {
            return Err(stale());
        }
        Ok((p, c))
    }

    pub fn setxattr(&self, id: u64, name: &OsStr, value: &[u8], how: XattrSet) -> io::Result<()> {
        let n = self.node(id)?;
        let flags = match how {
            XattrSet::Any => 0,
            XattrSet::Create => libc::XATTR_CREATE,
            XattrSet::Replace => libc::XATTR_REPLACE,
        };
        if n.kind == Kind::Symlink {
            let (p, c) = self.link_at(&n)?;
            return at::link::set(p.fd(), &c, name, value, flags);
        }
        at::set_xattr(n.fd(), name, value, flags)
    }

    pub fn getxattr(&self, id: u64, name: &OsStr) -> io::Result<Vec<u8>> {
        let n = self.node(id)?;
        if n.kind == Kind::Symlink {
            let (p, c) = self.link_at(&n)?;
            return at::link::get(p.fd(), &c, name);
        }
        at::get_xattr(n.fd(), name)
    }

    pub fn listxattr(&self, id: u64) -> io::Result<Vec<u8>> {
        let n = self.node(id)?;
        if n.kind == Kind::Symlink {
            let (p, c) = self.link_at(&n)?;
            return at::link::list(p.fd(), &c);
        }
        at::list_xattr(n.fd())
    }

    pub fn removexattr(&self, id: u64, name: &OsStr) -> io::Result<()> {
        let n = self.node(id)?;
        if n.kind == Kind::Symlink {
            let (p, c) = self.link_at(&n)?;
            return at::link::remove(p.fd(), &c, name);
        }
        at::remove_xattr(n.fd(), name)
    }
}
