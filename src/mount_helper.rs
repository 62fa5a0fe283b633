//! `mount(8)`'s helper protocol, so that `mount -t fuse.mavfs`, fstab and systemd mount units
//! work: `mavfs-mount` called as `mount.fuse.mavfs` turns mount(8)'s arguments into its own.

use std::ffi::OsString;

/// What mount(8) asked of the helper.
#[derive(Debug, PartialEq, Eq)]
pub enum Helper {
    /// Mount: `mavfs-mount` with these arguments.
    Mount(Vec<OsString>),
    /// `-o remount,...`: change the flags of the mount at `dir` (read-only or not).
    Remount { dir: OsString, read_only: bool },
    /// `-f`: a fake mount, nothing to do.
    Fake,
}

/// Remounts `dir` read-only or read-write (the kernel's flags; the daemon goes on).
pub fn remount(dir: &std::ffi::OsStr, read_only: bool) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_bytes()).map_err(|_| "invalid mount point".to_owned())?;
    let mut flags = libc::MS_REMOUNT;
    if read_only {
        flags |= libc::MS_RDONLY;
    }
    // SAFETY: c is a valid C string; the other pointers may be null for a remount.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(format!(
            "remount {}: {}",
            dir.to_string_lossy(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// `mount(8)`'s helper protocol: `mount -t fuse.mavfs SOURCE DIR -o OPTS` runs
/// `/sbin/mount.fuse.mavfs SOURCE DIR [-sfnv] [-o OPTS]`. `mavfs-mount` called by that name
/// turns those arguments into its own: SOURCE is the disk dir, every `mavfs-mount` option may
/// be given as `name=value` or `name` (`-` or `_` alike), the kernel's mount options pass
/// through, and those only mount(8) and systemd read are accepted and left. `as_root`: the
/// caller is root, for whom devices and setuid are on unless refused.
pub fn helper_args(argv: &[std::ffi::OsString], as_root: bool) -> Result<Helper, String> {
    const VALUED: &[&str] = &[
        "disk_dir",
        "ram",
        "ram_limit",
        "redis_url",
        "redis_cluster",
        "redis_password_file",
        "redis_ca_cert",
        "redis_cert",
        "redis_key",
        "redis_host",
        "redis_port",
        "redis_db",
        "redis_prefix",
        "redis_timeout",
        "threads",
        "metrics_addr",
        "tier",
        "snapshot_dir",
        "snapshot_interval",
        "policy",
    ];
    const FLAGS: &[&str] = &["writeback_cache", "uring", "allow_other", "foreground"];
    const KERNEL: &[&str] = &[
        "ro",
        "rw",
        "atime",
        "noatime",
        "nodiratime",
        "relatime",
        "strictatime",
        "dev",
        "nodev",
        "suid",
        "nosuid",
        "exec",
        "noexec",
        "sync",
        "async",
        "dirsync",
        "acl",
        "noacl",
    ];
    // Read by mount(8), systemd or fstab tools, or always on here (default_permissions).
    const LEFT: &[&str] = &[
        "defaults",
        "auto",
        "noauto",
        "user",
        "users",
        "nouser",
        "owner",
        "group",
        "nofail",
        "_netdev",
        "default_permissions",
    ];
    let mut positional: Vec<&OsString> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    let (mut sloppy, mut fake) = (false, false);
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-o") => {
                let o = it.next().ok_or("-o needs a list of options")?;
                opts.push(o.to_str().ok_or("mount options must be UTF-8")?.to_owned());
            }
            Some(s) if s.starts_with("-o") => opts.push(s[2..].to_owned()),
            Some("-t") => {
                it.next();
            }
            Some(s) if s.starts_with('-') && s.len() > 1 && !s.starts_with("--") => {
                for c in s[1..].chars() {
                    match c {
                        's' => sloppy = true,
                        'f' => fake = true,
                        'n' | 'v' => {}
                        _ => {
                            return Err(format!(
                                "unknown flag -{c} (mount(8) passes -s, -f, -n, -v, -o, -t)"
                            ))
                        }
                    }
                }
            }
            _ => positional.push(a),
        }
    }
    let [source, dir] = positional[..] else {
        return Err("usage: mount.fuse.mavfs DISK_DIR MOUNTPOINT [-o OPTIONS] (as mount -t fuse.mavfs calls it)".into());
    };
    let mut out: Vec<OsString> = vec!["mavfs-mount".into(), dir.clone()];
    let mut disk = Some(source.clone());
    let mut kernel = Vec::new();
    let all = || opts.iter().flat_map(|o| o.split(','));
    if all().any(|o| o == "remount") {
        let read_only = all().fold(false, |ro, o| match o {
            "ro" => true,
            "rw" => false,
            _ => ro,
        });
        return Ok(Helper::Remount {
            dir: dir.clone(),
            read_only,
        });
    }
    // `redis_cluster=h1:p1,h2:p2`: the list's commas are the options' too, so the bare
    // `host:port` items after it are more seed nodes.
    let mut seeds: Option<usize> = None;
    for o in opts
        .iter()
        .flat_map(|o| o.split(','))
        .filter(|o| !o.is_empty())
    {
        match seeds {
            Some(at) if !o.contains('=') && o.contains(':') => {
                let mut v = out[at].clone();
                v.push(",");
                v.push(o);
                out[at] = v;
                continue;
            }
            _ => seeds = None,
        }
        let (name, value) = match o.split_once('=') {
            Some((n, v)) => (n.replace('-', "_"), Some(v)),
            None => (o.replace('-', "_"), None),
        };
        let n = name.as_str();
        match value {
            Some(v) if VALUED.contains(&n) => {
                if n == "disk_dir" {
                    disk = Some(v.into());
                    continue;
                }
                out.push(format!("--{}", n.replace('_', "-")).into());
                out.push(v.into());
                if n == "redis_cluster" {
                    seeds = Some(out.len() - 1);
                }
            }
            None if VALUED.contains(&n) => {
                return Err(format!("mount option '{o}' needs a value ({n}=...)"));
            }
            None if FLAGS.contains(&n) => out.push(format!("--{}", n.replace('_', "-")).into()),
            None if KERNEL.contains(&n) => kernel.push(n.to_owned()),
            None if LEFT.contains(&n) => {}
            _ if n.starts_with("x_") || n.starts_with("x-") || n == "comment" => {}
            _ if o.starts_with("x-") => {}
            _ if sloppy => {}
            _ => {
                return Err(format!(
                    "unknown mount option '{o}' (every mavfs-mount option works as name=value, - or _ alike; see mavfs-mount --help)"
                ))
            }
        }
    }
    // A host directory on a mount that refuses devices or setuid gets none through here.
    let host = disk.as_deref().map_or((false, false), host_refuses);
    if let Some(d) = disk {
        // A disk dir given as an option: the source is a name of the user's (what
        // `umount SOURCE` and `df` go by), shown as given.
        if &d != source {
            out.push("--source".into());
            out.push(source.clone());
        }
        out.push("--disk-dir".into());
        out.push(d);
    }
    // As mount(8)'s own helpers do for root: devices and setuid work unless refused (a FUSE
    // mount is otherwise nodev,nosuid, the safe default for users). mount(8) keeps `dev`
    // and `suid` to itself, being its defaults: their absence is the only sign of them.
    if as_root {
        for (on, off, refused) in [("dev", "nodev", host.0), ("suid", "nosuid", host.1)] {
            if !refused && !kernel.iter().any(|k| k == on || k == off) {
                kernel.push(on.to_owned());
            }
        }
    }
    if !kernel.is_empty() {
        out.push("-o".into());
        out.push(kernel.join(",").into());
    }
    Ok(if fake {
        Helper::Fake
    } else {
        Helper::Mount(out)
    })
}

/// Whether the host mount of `dir` is nodev, nosuid (neither, where it cannot be asked).
fn host_refuses(dir: &std::ffi::OsStr) -> (bool, bool) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_bytes()) else {
        return (false, false);
    };
    // SAFETY: c is a valid C string; st is written by statvfs before it is read.
    let flags = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return (false, false);
        }
        st.f_flag
    };
    (flags & libc::ST_NODEV != 0, flags & libc::ST_NOSUID != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn mount_options_become_mavfs_mount_options() {
        let Helper::Mount(got) = helper_args(&args(&[
            "/sbin/mount.fuse.mavfs",
            "/srv/block",
            "/mnt/m",
            "-o",
            "ram=redis,redis-url=redis://10.0.0.5:6379/2,ram_limit=4G,allow_other,uring,nofail,_netdev,x-systemd.automount,noatime,nodev,rw,defaults",
        ]), false)
        .unwrap() else {
            panic!("not a mount")
        };
        assert_eq!(
            got,
            args(&[
                "mavfs-mount",
                "/mnt/m",
                "--ram",
                "redis",
                "--redis-url",
                "redis://10.0.0.5:6379/2",
                "--ram-limit",
                "4G",
                "--allow-other",
                "--uring",
                "--disk-dir",
                "/srv/block",
                "-o",
                "noatime,nodev,rw",
            ])
        );
    }

    #[test]
    fn a_cluster_s_nodes_survive_the_option_list_s_commas() {
        let Helper::Mount(got) = helper_args(
            &args(&[
                "m",
                "/d",
                "/m",
                "-o",
                "ram=redis,redis_cluster=10.0.0.5:7000,10.0.0.6:7001,[::1]:7002,noatime",
            ]),
            false,
        )
        .unwrap() else {
            panic!("not a mount")
        };
        assert_eq!(
            got,
            args(&[
                "mavfs-mount",
                "/m",
                "--ram",
                "redis",
                "--redis-cluster",
                "10.0.0.5:7000,10.0.0.6:7001,[::1]:7002",
                "--disk-dir",
                "/d",
                "-o",
                "noatime",
            ])
        );
    }

    #[test]
    fn root_gets_devices_and_setuid_unless_refused() {
        let mount = |o: &str| match helper_args(&args(&["m", "/d", "/m", "-o", o]), true) {
            Ok(Helper::Mount(a)) => a.last().unwrap().to_str().unwrap().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(mount("ram=memory"), "dev,suid");
        assert_eq!(mount("nodev,ro"), "nodev,ro,suid");
        assert_eq!(mount("nosuid,dev"), "nosuid,dev");
        assert_eq!(mount("ram=redis,ro"), "ro,dev,suid");
    }

    #[test]
    fn unknown_options_are_refused_by_name_unless_sloppy() {
        let a = args(&[
            "mount.fuse.mavfs",
            "/d",
            "/m",
            "-o",
            "ram=memory,colour=blue",
        ]);
        let e = helper_args(&a, false).unwrap_err();
        assert!(e.contains("'colour=blue'"), "{e}");
        let a = args(&["mount.fuse.mavfs", "/d", "/m", "-s", "-o", "colour=blue"]);
        assert!(matches!(helper_args(&a, false).unwrap(), Helper::Mount(_)));
        let e =
            helper_args(&args(&["mount.fuse.mavfs", "/d", "/m", "-o", "ram"]), false).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
        assert!(helper_args(&args(&["mount.fuse.mavfs", "/d"]), false).is_err());
        // A fake mount (-f) does nothing.
        assert_eq!(
            helper_args(&args(&["mount.fuse.mavfs", "/d", "/m", "-f"]), false).unwrap(),
            Helper::Fake
        );
        let a = args(&["mount.fuse.mavfs", "/d", "/m", "-o", "rw,nosuid,remount,ro"]);
        assert_eq!(
            helper_args(&a, false).unwrap(),
            Helper::Remount {
                dir: "/m".into(),
                read_only: true
            }
        );
    }
}
