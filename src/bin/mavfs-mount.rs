//! `mavfs-mount`: parse, validate, mount. Every failure is one line on stderr and exit 1.

use clap::Parser;
use mavfs::config::{Args, MountConfig};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
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
