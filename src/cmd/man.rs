//! bouncer man: the manual page (roff), from the same definitions as --help.
//!
//! Usage: bouncer man [DIR]
//!
//!   no DIR: bouncer(1) on standard output (`bouncer man | man -l -`)
//!   DIR:    bouncer.1 and one page per subcommand (bouncer-scan.1, ...) written into DIR

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write bouncer.1 and bouncer-<subcommand>.1 into this directory
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: Args, cli: clap::Command) -> Result<ExitCode> {
    match args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            super::common::finish_write(clap_mangen::Man::new(cli).render(&mut out))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cli, &dir).with_context(|| format!("cannot write into {}", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
