//! `mavfsctl generate-docs`: what scripts/install.sh installs.

use std::io;
use std::path::Path;

use super::Cli;

/// Man pages and completions for both programs, from their own argument definitions.
pub fn generate_docs(dir: &Path) -> io::Result<()> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let man = dir.join("man1");
    let completions = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    for cmd in [Cli::command(), mavfs::config::Args::command()] {
        let name = cmd.get_name().to_owned();
        clap_mangen::generate_to(cmd.clone(), &man)?;
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            clap_complete::generate_to(shell, &mut cmd.clone(), &name, &completions)?;
        }
    }
    Ok(())
}
