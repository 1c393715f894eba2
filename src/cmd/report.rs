//! bouncer report: the summary an admin mails to themselves.
//!
//! Usage: bouncer report [OPTIONS] [PATH]...
//!
//!   --format text|markdown|json|jsonl   (default: text; json/jsonl: the mergeable summary,
//!                                 see docs/summary-schema.md and `bouncer merge`)
//!   --top N                       rows per table (default 10; json maps are always complete)
//!   -o, --output FILE             write there instead of standard output
//!   plus the input options shared with `scan` (see common.rs).

use super::common::{finish_write, output, InputArgs};
use anyhow::Result;
use bouncer::report::text::{render, ReportFormat};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: ReportFormat,

    /// Rows in each top table
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Write to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (result, code) = args.input.execute(None)?;
    let s = &result.summary;
    let text = render(s, args.format, args.top)?;
    let mut w = output(args.output.as_ref())?;
    finish_write(w.write_all(text.as_bytes()))?;
    finish_write(w.flush())?;
    Ok(code)
}
