//! bouncer completions: shell completion scripts.
//!
//! Usage: bouncer completions bash|zsh|fish|powershell|elvish
//!
//!   bash:  bouncer completions bash > /etc/bash_completion.d/bouncer
//!   zsh:   bouncer completions zsh > "${fpath[1]}/_bouncer"
//!   fish:  bouncer completions fish > ~/.config/fish/completions/bouncer.fish

use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell to write the completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, mut cli: clap::Command) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cli, "bouncer", &mut out);
    Ok(ExitCode::SUCCESS)
}
