//! `mavfsctl policy load|check`: the requests, with the policy file read here (the daemon
//! may not see the caller's files).

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::HumanBytes;
use mavfs::control::protocol::{FileState, Op, PolicyStats};

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

/// The policy's lines in `mavfsctl stats`.
pub fn print_stats(p: &PolicyStats) {
    println!(
        "policy   {} rules; demoted {}, persisted {}, deleted {} files; {} copied to /vdisk",
        p.rules,
        p.demoted,
        p.persisted,
        p.deleted,
        HumanBytes(p.moved_bytes)
    );
    if p.dirty_files > 0 {
        println!(
            "policy   {} files ({}) wait for their durable copy; the oldest change is {} s old",
            p.dirty_files,
            HumanBytes(p.dirty_bytes),
            p.dirty_age_secs.unwrap_or(0)
        );
    }
    if !p.last_error.is_empty() {
        println!("policy   the last failure: {}", p.last_error);
    }
}

/// `mavfsctl state PATH`.
pub fn print_state(st: &FileState, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(st).unwrap_or_default());
        return;
    }
    println!("{}", st.path);
    println!("  tier          {}", st.tier);
    println!("  size          {}", HumanBytes(st.size));
    println!("  idle          {} s", st.idle_secs);
    println!("  pinned        {}", if st.pinned { "yes" } else { "no" });
    let rule = if st.rule.is_empty() { "none" } else { &st.rule };
    println!("  rule          {rule}");
    println!("  durable copy  {}", st.durable_copy);
}
