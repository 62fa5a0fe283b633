//! `mavfsctl policy load|check`: the requests, with the policy file read here (the daemon
//! may not see the caller's files).

use std::path::PathBuf;

use clap::Subcommand;
use mavfs::control::protocol::Op;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Load FILE (TOML) in place of the mount's policy.
    Load { file: PathBuf },
    /// What the policy (FILE, or the mount's) would demote, persist or delete now, and why.
    /// It changes nothing.
    Check {
        file: Option<PathBuf>,
        /// Accepted for clarity: a check never changes anything.
        #[arg(long)]
        dry_run: bool,
    },
}

fn read(file: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| {
        format!(
            "policy {}: {}",
            file.display(),
            mavfs::host::plain_message(&e)
        )
    })
}

pub fn op(cmd: &PolicyCmd) -> Result<Op, String> {
    Ok(match cmd {
        PolicyCmd::Load { file } => Op::PolicyLoad { text: read(file)? },
        PolicyCmd::Check { file, .. } => Op::PolicyCheck {
            text: file.as_ref().map(read).transpose()?,
        },
    })
}
