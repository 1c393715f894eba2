//! The `bouncer` command line. Each subcommand lives in `cmd/<name>.rs` with its usage on top.

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// Many small allocations per message and line (texts, records): mimalloc's thread-local
/// free lists serve them faster than glibc malloc from several threads. Its version 2 (the
/// `v2` feature): version 3 touched fresh memory for nearly every batch of emails (the kernel
/// zeroing new pages was 13 % of a run over 10,324 emails, peak RSS 80-88 MiB against 50).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Reads mail server logs and bounce messages and reports every failed delivery: who bounced,
/// which server said no, with which reply code and enhanced status, why, hard or soft.
#[derive(Parser)]
#[command(name = "bouncer", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Exit status: 0 all inputs read, 1 some input could not be read (the rest is still reported), 2 usage error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One row per failed recipient, as CSV, JSON Lines or a table
    Scan(cmd::scan::Args),
    /// A summary of the failures: Grand Totals, top hosts, domains, codes, reasons, hours
    Report(cmd::report::Args),
    /// Add up partial summaries (report --format json) into one
    Merge(cmd::merge::Args),
    /// The whole story of a message or address: every line, the verdict, who refused it
    Trace(cmd::trace::Args),
    /// What a reply code (550), an enhanced status (5.7.26) or a server's answer means, and what to do
    Explain(cmd::explain::Args),
    /// Shell completions (bash, zsh, fish, powershell, elvish) on standard output
    Completions(cmd::completions::Args),
    /// The manual page (roff) on standard output, or pages for every subcommand into DIR
    Man(cmd::man::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Trace(args) => cmd::trace::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
        Command::Man(args) => cmd::man::run(args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bouncer: {e:#}");
            ExitCode::from(2)
        }
    }
}
