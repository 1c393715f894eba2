//! bouncer trace: the whole story of the messages that match a query.
//!
//! Usage: bouncer trace [OPTIONS] QUERY [PATH]...
//!
//!   QUERY                 an address (sender or recipient), a queue id or a Message-ID;
//!                         with --domain, a domain
//!   --domain              QUERY is a domain: every message to or from an address @QUERY
//!   --format text|json    (default: text; json: one object per message)
//!   -o, --output FILE     write there instead of standard output
//!   plus the input options shared with `scan` (--since, --until, --year, ...).
//!
//! For each message: a verdict ("bounced by mx.example.net [192.0.2.7] at ...: 550 5.1.1 ...
//! (hard; remove the address)"), its failure records, and every log line of its queue ids in
//! order with file and line, following hand-overs to other Postfix instances (`queued as`) and
//! the bounce it produced; bounce emails among the inputs that name it. Exit status 1 when
//! nothing matches (or an input could not be read), 2 on a usage error.

use super::common::{finish_write, output, InputArgs};
use anyhow::Result;
use bouncer::report::trace::{render_json, render_text};
use bouncer::trace::{trace, Query};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// An address, a queue id or a Message-ID (a domain with --domain)
    #[arg(value_name = "QUERY")]
    pub query: String,

    /// QUERY is a domain: messages to or from any address in it
    #[arg(long)]
    pub domain: bool,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: TraceFormat,

    /// Write to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.query.trim().is_empty() {
        anyhow::bail!("an empty QUERY matches everything; give an address, a queue id, a Message-ID or --domain");
    }
    let opts = args.input.options()?;
    let (chains, walk_errors) = args.input.chains()?;
    let query = if args.domain {
        Query::Domain(args.query.clone())
    } else {
        Query::Text(args.query.clone())
    };
    let t = trace(&chains, &query, &opts, args.input.year);
    for m in &walk_errors {
        if !args.input.quiet || m.starts_with("error") {
            eprintln!("bouncer: {m}");
        }
    }
    let walk_errors: Vec<_> = walk_errors.iter().filter(|m| m.starts_with("error")).collect();
    for e in &t.errors {
        let e = e.strip_prefix("error: ").unwrap_or(e);
        eprintln!("bouncer: error: {e}");
    }
    let text = match args.format {
        TraceFormat::Text => render_text(&t),
        TraceFormat::Json => render_json(&t)?,
    };
    let mut w = output(args.output.as_ref())?;
    finish_write(w.write_all(text.as_bytes()))?;
    finish_write(w.flush())?;
    if t.stories.is_empty() && t.other_records.is_empty() {
        eprintln!("bouncer: no message matches {:?} in these inputs", args.query);
        return Ok(ExitCode::from(1));
    }
    Ok(if walk_errors.is_empty() && t.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
