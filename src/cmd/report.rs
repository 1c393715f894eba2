//! bouncer report: the summary an admin mails to themselves.
//!
//! Usage: bouncer report [OPTIONS] [PATH]...
//!
//!   --format text|markdown|html|json|jsonl   (default: text; html: one self-contained page
//!                                 with charts; json/jsonl: the mergeable summary, see
//!                                 docs/summary-schema.md and `bouncer merge`)
//!   --top N                       rows per table (default 10; json maps are always complete)
//!   -o, --output FILE             write there instead of standard output
//!   --follow [--every 60s]        keep reading FILE as it grows (tail -F), print the summary so
//!                                 far every interval; Ctrl-C prints the final one
//!   plus the input options shared with `scan` (see common.rs).

use super::common::{finish_write, output, parse_duration, FollowArgs, InputArgs};
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

    #[command(flatten)]
    pub follow: FollowArgs,

    /// With --follow: print the summary so far this often (30s, 5m, 1h)
    #[arg(long, value_name = "INTERVAL", requires = "follow", value_parser = parse_duration)]
    pub every: Option<std::time::Duration>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut w = output(args.output.as_ref())?;
    let (_, code) = if args.follow.follow {
        let (format, top) = (args.format, args.top);
        let mut failed = None;
        let r = args.input.follow(&args.follow, args.every, None, |s| {
            let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
            let text = render(s, format, top).map(|t| format!("--- bouncer report at {now} (following, so far)\n{t}"));
            let res = text.map_err(std::io::Error::other).and_then(|t| {
                w.write_all(t.as_bytes())?;
                w.flush()
            });
            if let Err(e) = res {
                failed.get_or_insert(e);
            }
        })?;
        if let Some(e) = failed {
            finish_write(Err(e))?;
        }
        let text = render(&r.0.summary, args.format, args.top)?;
        finish_write(w.write_all(text.as_bytes()))?;
        finish_write(w.flush())?;
        r
    } else {
        // The report is written before --state is saved: a failed write reads the lines again.
        args.input.execute_then(None, |result| {
            let text = render(&result.summary, args.format, args.top)?;
            finish_write(w.write_all(text.as_bytes()))?;
            finish_write(w.flush())
        })?
    };
    Ok(code)
}
