//! What FUSE_EXPORT_SUPPORT asks of `vdisk/`: an inode by its id alone (a file handle whose
//! inode the kernel no longer holds), a directory's parent, and a generation that tells a
//! host inode number used again apart from the inode a handle was made for.

use std::collections::VecDeque;

use super::*;

/// How many inodes the kernel let go of keep their host handle here.
const RETIRED: usize = 1 << 16;

/// Host handles of inodes the kernel let go of, the oldest dropped first.
#[derive(Debug, Default)]
pub(super) struct Retired {
    by_id: HashMap<u64, Box<[u8]>>,
    order: VecDeque<u64>,
}

impl Retired {
    pub(super) fn keep(&mut self, id: u64, handle: Box<[u8]>) {
        if self.by_id.insert(id, handle).is_none() {
            self.order.push_back(id);
            if self.order.len() > RETIRED {
                if let Some(old) = self.order.pop_front() {
                    self.by_id.remove(&old);
                }
            }
        }
    }
}

/// FNV-1a: stable from one daemon to the next, as handles outlive a mount.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl DiskTier {
    /// Opens a host handle as `name_to_handle_at` gave it (`O_PATH`).
    pub(super) fn open_handle(&self, handle: &[u8]) -> io::Result<OwnedFd> {
        let mut buf = vec![0u64; handle.len().div_ceil(8)];
        // SAFETY: buf is aligned and at least as long as the handle bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(handle.as_ptr(), buf.as_mut_ptr().cast(), handle.len())
        };
        // SAFETY: buf holds a file_handle as name_to_handle_at wrote it.
        let raw = unsafe {
            libc::open_by_handle_at(
                self.mount_fd.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::file_handle>(),
                libc::O_PATH | libc::O_CLOEXEC,
            )
        };
        // SAFETY: a fresh fd from open_by_handle_at, owned from here.
        Ok(unsafe {
            use std::os::fd::FromRawFd;
            OwnedFd::from_raw_fd(cvt(raw)?)
        })
    }

    /// The generation the kernel is given for inode `id`: a hash of its host handle, which
    /// holds the host's own generation (0 where there is no handle).
    pub fn generation(&self, id: u64) -> u64 {
        let Some(node) = self.nodes.get(id) else {
            return 0;
        };
        let slot = node.slot.lock();
        slot.handle.as_deref().map_or(0, fnv)
    }

    /// `.`: inode `id` once more, counted as `lookup` counts. One the kernel let go of comes
    /// back by its host handle while the host has it; otherwise ESTALE.
    pub fn lookup_self(&self, id: u64) -> io::Result<Attr> {
        let stale = || io::Error::from_raw_os_error(libc::ESTALE);
        if id == ROOT_ID {
            return self.getattr(ROOT_ID);
        }
        // Only inodes handed out before: a host inode number alone could name a file
        // outside the disk dir (after a remount such handles are stale).
        let fd = match self.nodes.get(id) {
            Some(node) => at::reopen(self.fd_for(&node)?.as_fd(), libc::O_PATH)?.into(),
            None => {
                let handle = self.retired.lock().by_id.get(&id).cloned();
                let fd = self.open_handle(&handle.ok_or_else(stale)?)?;
                // A directory moved out of the disk dir on the host stays out.
                let dir = at::stat_fd(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
                if dir && !self.inside(fd.as_fd())? {
                    return Err(stale());
                }
                fd
            }
        };
        let a = self.remember(fd)?;
        if a.ino != id {
            self.forget(a.ino, 1);
            return Err(stale());
        }
        Ok(a)
    }

    /// `..` of directory `id` (not the disk dir itself), counted as `lookup` counts. A
    /// directory moved out of the disk dir on the host has no parent here (ESTALE).
    pub fn lookup_parent(&self, id: u64) -> io::Result<Attr> {
        let n = self.node(id)?;
        let up = at::open_path_at(n.fd.as_fd(), c"..")?;
        let st = at::stat_fd(up.as_fd())?;
        if (st.st_dev, st.st_ino) == (self.root_dev, self.root_ino) {
            return self.getattr(ROOT_ID);
        }
        if !self.inside(up.as_fd())? {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        }
        self.remember(up)
    }

    /// Whether the directory `fd` is the disk dir or under it, walking up by `..`.
    fn inside(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        let mut cur: OwnedFd = at::reopen(fd, libc::O_PATH)?.into();
        for _ in 0..4096 {
            let st = at::stat_fd(cur.as_fd())?;
            if (st.st_dev, st.st_ino) == (self.root_dev, self.root_ino) {
                return Ok(true);
            }
            let up = at::open_path_at(cur.as_fd(), c"..")?;
            let ust = at::stat_fd(up.as_fd())?;
            if (ust.st_dev, ust.st_ino) == (st.st_dev, st.st_ino) {
                return Ok(false);
            }
            cur = up;
        }
        Ok(false)
    }
}
