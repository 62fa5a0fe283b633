//! `mavfs-mount`: parse, validate, mount. Every failure is one line on stderr and exit 1.

use clap::Parser;
use mavfs::config::{Args, MountConfig};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = Args::parse();
    let result = MountConfig::from_args(args).and_then(mavfs::mount::run);
    if let Err(e) = result {
        eprintln!("mavfs-mount: {e}");
        std::process::exit(1);
    }
}
