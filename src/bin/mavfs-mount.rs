//! `mavfs-mount`: parse, validate, mount. Every failure is one line on stderr and exit 1.
//! Called as `mount.fuse.mavfs` (a link by that name, where mount(8) looks for helpers), it
//! takes mount(8)'s arguments instead.

use clap::Parser;
use mavfs::config::{Args, MountConfig};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let called = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let args = if called.starts_with("mount.") {
        use mavfs::mount_helper::{helper_args, remount, Helper};
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        let asked = helper_args(&argv, as_root).and_then(|h| match h {
            Helper::Mount(translated) => Ok(Some(translated)),
            Helper::Remount { dir, read_only } => remount(&dir, read_only).map(|()| None),
            Helper::Fake => Ok(None),
        });
        match asked {
            Ok(Some(translated)) => Args::parse_from(translated),
            Ok(None) => return,
            Err(e) => {
                eprintln!("{called}: {e}");
                std::process::exit(1);
            }
        }
    } else {
        Args::parse()
    };
    // Parsed: the password in a --redis-url has been copied, so the original goes (ps shows
    // argv to every user). Only a window before this line remains: the README recommends
    // --redis-password-file.
    if !mavfs::secret::scrub_argv() {
        eprintln!(
            "mavfs-mount: warning: the Redis password in the command line stays visible to every \
             user (ps); give it with --redis-password-file or MAVFS_REDIS_PASSWORD instead"
        );
    }
    let result = MountConfig::from_args(args).and_then(mavfs::mount::run);
    if let Err(e) = result {
        eprintln!("mavfs-mount: {e}");
        std::process::exit(1);
    }
}
