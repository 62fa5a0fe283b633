//! What `mavfsctl` uses: find the mount, turn a path argument into a virtual path, send one
//! request through the control file and read its answers.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use super::protocol::{Answer, Op, Request, CONTROL_NAME};
use crate::config::mount_table;

/// Mount points of MAVFS mounts in this namespace, from `/proc/self/mountinfo`.
pub fn mavfs_mounts() -> Vec<PathBuf> {
    mount_table()
        .into_iter()
        .filter(|m| m.fstype == "fuse.mavfs" || (m.fstype == "fuse" && m.source == "mavfs"))
        .map(|m| m.point)
        .collect()
}

fn control_file(mount: &Path) -> PathBuf {
    mount.join(CONTROL_NAME)
}

fn check_mount(mount: &Path, how: &str) -> Result<PathBuf, String> {
    let m = mount
        .canonicalize()
        .map_err(|e| format!("{} ({how}): {e}", mount.display()))?;
    if !control_file(&m).exists() {
        return Err(format!("{} ({how}) is not a MAVFS mount", m.display()));
    }
    Ok(m)
}

/// Finds the mount: `--mount`, else `$MAVFS_MOUNT`, else the MAVFS mount holding the current
/// directory, else the only MAVFS mount there is.
pub fn find_mount(flag: Option<&Path>, cwd: &Path) -> Result<PathBuf, String> {
    if let Some(m) = flag {
        return check_mount(m, "--mount");
    }
    if let Some(m) = std::env::var_os("MAVFS_MOUNT").filter(|m| !m.is_empty()) {
        return check_mount(Path::new(&m), "MAVFS_MOUNT");
    }
    let mounts = mavfs_mounts();
    if let Some(m) = mounts
        .iter()
        .filter(|m| cwd.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
    {
        return Ok(m.clone());
    }
    match mounts.as_slice() {
        [only] => Ok(only.clone()),
        [] => {
            Err("no MAVFS mount found (mount one with mavfs-mount, or name it with --mount)".into())
        }
        many => Err(format!(
            "{} MAVFS mounts ({}); choose one with --mount or MAVFS_MOUNT",
            many.len(),
            many.iter()
                .map(|m| m.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Resolves `.` and `..` without touching the filesystem; `None` if `..` climbs above `/`.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Some(out)
}

/// What the mount's root holds: `both` tiers, or `vram` or `vdisk` alone (the control
/// file's `ROOT_XATTR`); None if the mount does not say.
pub fn mount_root(mount: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(control_file(mount).as_os_str().as_bytes()).ok()?;
    let name = std::ffi::CString::new(super::protocol::ROOT_XATTR).ok()?;
    let mut buf = [0u8; 16];
    // SAFETY: both strings are valid; buf is writable for its length.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// A path argument as a virtual path (`/vram/x`): given virtual, as a real path on the mount,
/// or relative to the current directory inside the mount.
pub fn virtual_path(mount: &Path, arg: &str, cwd: &Path) -> Result<String, String> {
    let is_virtual = ["/vram", "/vdisk"]
        .iter()
        .any(|t| arg == *t || arg.starts_with(&format!("{t}/")));
    let full = if is_virtual || Path::new(arg).is_absolute() {
        PathBuf::from(arg)
    } else {
        cwd.join(arg)
    };
    let norm = normalize(&full).ok_or_else(|| format!("{arg}: climbs above the root"))?;
    let rel = if is_virtual {
        norm.strip_prefix("/")
            .map(Path::to_path_buf)
            .unwrap_or_default()
    } else {
        let inside = norm.strip_prefix(mount).map_err(|_| {
            format!(
                "{arg}: not inside the mount {} (use /vram/... or /vdisk/...)",
                mount.display()
            )
        })?;
        // A mount of one tier alone: its root is that tier's.
        match mount_root(mount).as_deref() {
            Some(t @ ("vram" | "vdisk")) => Path::new(t).join(inside),
            _ => inside.to_path_buf(),
        }
    };
    let mut comps = rel.components();
    match comps.next() {
        Some(Component::Normal(t)) if t == "vram" || t == "vdisk" => {}
        _ => {
            return Err(format!(
                "{arg}: not under vram/ or vdisk/ of {}",
                mount.display()
            ))
        }
    }
    let s = format!("/{}", rel.display());
    Ok(s.trim_end_matches('/').to_owned())
}

/// One request in flight: its open control file.
pub struct Session {
    file: File,
    buf: Vec<u8>,
}

impl Session {
    /// Opens the control file and sends `req`.
    pub fn send(mount: &Path, req: &Request) -> io::Result<Session> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(control_file(mount))?;
        if matches!(req.op, Op::Snapshot | Op::Clone { .. }) {
            // Written pages the kernel still holds (--writeback-cache) reach the store first,
            // so that the snapshot or clone has every write made before it was asked for.
            // SAFETY: syncfs on an fd we hold.
            if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&file)) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
        line.push(b'\n');
        file.write_all(&line)?;
        Ok(Session {
            file,
            buf: Vec::new(),
        })
    }

    /// The next answer; `None` once the daemon has said everything.
    pub fn next_answer(&mut self) -> io::Result<Option<Answer>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return serde_json::from_slice(&line).map(Some).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad answer from the mount: {e}"),
                    )
                });
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.file.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Asks the daemon to stop the job; its answer follows as `cancelled`.
    pub fn cancel(&mut self) -> io::Result<()> {
        let req = Request {
            v: super::protocol::VERSION,
            op: super::protocol::Op::Cancel,
        };
        let mut line = serde_json::to_vec(&req).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_form_becomes_virtual() {
        let m = Path::new("/mnt/m");
        let cwd = Path::new("/mnt/m/vram/proj");
        assert_eq!(virtual_path(m, "/vram/a", cwd).unwrap(), "/vram/a");
        assert_eq!(virtual_path(m, "/vdisk/", cwd).unwrap(), "/vdisk");
        assert_eq!(
            virtual_path(m, "/mnt/m/vdisk/x/../y", cwd).unwrap(),
            "/vdisk/y"
        );
        assert_eq!(virtual_path(m, "data", cwd).unwrap(), "/vram/proj/data");
        assert_eq!(virtual_path(m, "../../vdisk", cwd).unwrap(), "/vdisk");
        assert!(virtual_path(m, "/etc/passwd", cwd)
            .unwrap_err()
            .contains("not inside"));
        assert!(virtual_path(m, "../..", cwd)
            .unwrap_err()
            .contains("not under"));
        assert!(virtual_path(m, "/vram/../../x", cwd).is_err());
    }
}
