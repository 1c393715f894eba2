//! bouncer scan: one row per failed recipient.
//!
//! Usage: bouncer scan [OPTIONS] [PATH]...
//!
//!   --format csv|jsonl|table   (default: table on a terminal, csv otherwise)
//!   -o, --output FILE          write there instead of standard output
//!   --raw                      CSV without formula neutralisation
//!   plus the input options shared with `report` (see common.rs): --since, --until, --only,
//!   --direction, --year, --rules, --threads, --stats, ...

use super::common::{finish_write, output, InputArgs};
use anyhow::Result;
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

    /// Do not neutralise CSV cells that a spreadsheet would run as formulas (cells starting
    /// with = + - @ tab or CR get a leading ' by default)
    #[arg(long)]
    pub raw: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = args.format.unwrap_or(if args.output.is_none() && std::io::stdout().is_terminal() {
        RecordFormat::Table
    } else {
        RecordFormat::Csv
    });
    let w = output(args.output.as_ref())?;
    let code = match format {
        RecordFormat::Csv => {
            let mut sink = CsvSink::new(w, args.raw);
            let (_, code) = args.input.execute(Some(&mut sink))?;
            finish_write(sink.flush())?;
            code
        }
        RecordFormat::Jsonl => {
            let mut sink = JsonlSink::new(w);
            let (_, code) = args.input.execute(Some(&mut sink))?;
            finish_write(sink.flush())?;
            code
        }
        RecordFormat::Table => {
            let mut rows = Collect(Vec::new());
            let (_, code) = args.input.execute(Some(&mut rows))?;
            let mut w = w;
            finish_write(write_table(&mut w, &rows.0))?;
            finish_write(w.flush())?;
            code
        }
    };
    Ok(code)
}

/// Keeps records for the table, which needs them all to size its columns.
struct Collect(Vec<bouncer::Record>);

impl bouncer::collect::RecordSink for Collect {
    fn write(&mut self, r: &bouncer::Record) -> std::io::Result<()> {
        self.0.push(r.clone());
        Ok(())
    }
}
