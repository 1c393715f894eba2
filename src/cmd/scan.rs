//! bouncer scan: one row per failed recipient.
//!
//! Usage: bouncer scan [OPTIONS] [PATH]...
//!
//!   --format csv|jsonl|table   (default: table on a terminal, csv otherwise)
//!   -o, --output FILE          write there instead of standard output
//!   --raw                      CSV without formula neutralisation
//!   --color auto|always|never  colour the table (auto: a terminal without NO_COLOR)
//!   --follow [--from-end]      keep reading FILE as it grows (tail -F), rows as they come;
//!                              Ctrl-C ends with a one-line summary on stderr
//!   plus the input options shared with `report` (see common.rs): --since, --until, --only,
//!   --direction, --year, --rules, --threads, --stats, ...

use super::common::{finish_write, output, ColorWhen, FollowArgs, InputArgs};
use anyhow::Result;
use bouncer::collect::RecordSink;
use bouncer::report::records::{write_table, CsvSink, JsonlSink, RecordFormat};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format (default: table when standard output is a terminal, else csv)
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<RecordFormat>,

    /// Write to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// When to colour the table: auto (standard output is a terminal and NO_COLOR is not set),
    /// always, never
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,

    /// Do not neutralise CSV cells that a spreadsheet would run as formulas (cells starting
    /// with = + - @ tab or CR get a leading ' by default)
    #[arg(long)]
    pub raw: bool,

    #[command(flatten)]
    pub follow: FollowArgs,
}

pub fn run(mut args: Args) -> Result<ExitCode> {
    let following = args.follow.follow;
    // The records are the output: the summary's tables (by reason, host, ...) are not made,
    // only the accounting (--stats, the exit code). Following, the last line counts hard and soft.
    args.input.tables = following;
    let format = match args.format {
        Some(RecordFormat::Table) if following => {
            anyhow::bail!("--follow writes rows as they come: use --format csv or jsonl (a table needs them all)")
        }
        Some(f) => f,
        None if !following && args.output.is_none() && std::io::stdout().is_terminal() => RecordFormat::Table,
        None => RecordFormat::Csv,
    };
    let w = output(args.output.as_ref())?;
    // Run into a streaming sink: the whole inputs, or the followed file until Ctrl-C.
    let go = |sink: &mut (dyn RecordSink + 'static)| -> Result<ExitCode> {
        let (result, code) = if following {
            args.input.follow(&args.follow, None, Some(sink), |_| {})?
        } else {
            args.input.execute(Some(sink))?
        };
        finish_write(sink.flush())?;
        if following && !args.input.quiet {
            let s = &result.summary;
            let n = |k: &str| s.by_bounce_type.get(k).copied().unwrap_or(0);
            eprintln!(
                "bouncer: followed {}: {} lines, {} records ({} hard, {} soft), {} unparsed",
                args.input.paths[0],
                s.inputs.lines,
                s.accounting.records,
                n("hard"),
                n("soft"),
                s.accounting.unparsed
            );
        }
        Ok(code)
    };
    match format {
        RecordFormat::Csv => go(&mut CsvSink::new(w, args.raw)),
        RecordFormat::Jsonl => go(&mut JsonlSink::new(w)),
        RecordFormat::Table => {
            let mut rows = Collect(Vec::new());
            let (_, code) = args.input.execute(Some(&mut rows))?;
            let mut w = w;
            let colour = args.color.enabled(args.output.is_none() && std::io::stdout().is_terminal());
            finish_write(write_table(&mut w, &rows.0, colour))?;
            finish_write(w.flush())?;
            Ok(code)
        }
    }
}

/// Keeps records for the table, which needs them all to size its columns.
struct Collect(Vec<bouncer::Record>);

impl bouncer::collect::RecordSink for Collect {
    fn write(&mut self, r: &bouncer::Record) -> std::io::Result<()> {
        self.0.push(r.clone());
        Ok(())
    }
}
