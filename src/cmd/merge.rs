//! bouncer merge: add up partial summaries into the summary of all their inputs.
//!
//! Usage: bouncer merge [OPTIONS] [FILE]...
//!
//!   FILE...                       summaries written by `report --format json|jsonl` (or by
//!                                 `merge` itself); `-` or no FILE reads standard input. A file
//!                                 may hold several summaries one after another (a stream).
//!   --format text|markdown|json|jsonl   (default: json)
//!   --top N                       rows per table in text/markdown (default 10)
//!   -o, --output FILE             write there instead of standard output
//!
//! Counts add up, maps are complete, so the merge of the summaries of disjoint inputs is the
//! summary of all of them (see docs/summary-schema.md for what "disjoint" has to mean for
//! queue-id correlation). A summary of another schema version is refused (exit status 2).

use super::common::{finish_write, output};
use anyhow::{bail, Context, Result};
use bouncer::report::summary::{Summary, SCHEMA_VERSION};
use bouncer::report::text::{render, ReportFormat};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Summaries to merge (`-` for standard input, the default)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "json")]
    pub format: ReportFormat,

    /// Rows in each top table (text and markdown)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Write to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let mut total = Summary::default();
    let mut count = 0usize;
    for f in &files {
        let name = f.display().to_string();
        let mut text = Vec::new();
        if name == "-" {
            std::io::stdin().read_to_end(&mut text).context("cannot read standard input")?;
        } else {
            std::fs::File::open(f)
                .and_then(|mut h| h.read_to_end(&mut text))
                .with_context(|| format!("cannot read {name}"))?;
        }
        count += merge_stream(&text, &name, &mut total)?;
    }
    if count == 0 {
        bail!(
            "no summary to merge in {}",
            files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let text = render(&total, args.format, args.top)?;
    let mut w = output(args.output.as_ref())?;
    finish_write(w.write_all(text.as_bytes()))?;
    finish_write(w.flush())?;
    Ok(ExitCode::SUCCESS)
}

/// Merge every summary of one input (JSON values one after another) into `total`.
pub fn merge_stream(text: &[u8], name: &str, total: &mut Summary) -> Result<usize> {
    let mut n = 0;
    for (i, value) in serde_json::Deserializer::from_slice(text)
        .into_iter::<serde_json::Value>()
        .enumerate()
    {
        let value = value.with_context(|| format!("{name}: summary {} is not valid JSON", i + 1))?;
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => bail!(
                "{name}: summary {} has schema version {v}; this bouncer reads version {SCHEMA_VERSION}",
                i + 1
            ),
            None => bail!("{name}: summary {} is not a bouncer summary (no \"version\")", i + 1),
        }
        let s: Summary = serde_json::from_value(value).with_context(|| format!("{name}: summary {} does not fit the schema", i + 1))?;
        total.merge(&s);
        n += 1;
    }
    Ok(n)
}
