//! bouncer explain: what a reply code, an enhanced status or a server's answer means.
//!
//! Usage: bouncer explain [OPTIONS] CODE|TEXT...
//!
//!   bouncer explain 550
//!   bouncer explain 4.4.7
//!   bouncer explain "550-5.7.26 This mail has been blocked because the sender is unauthenticated"
//!   --format text|json    (default: text; json: one object per argument)
//!   --rules FILE          your classifier rules first, as in scan
//!
//! For each: the reply code's class, subject digit and meaning (RFC 5321) and the commands that
//! can return it; the enhanced status's class, subject and detail (RFC 3463 and the IANA
//! registry) and any provider-specific meaning; hard or soft; the classifier's reason and
//! suppress decision for the text; what to do.

use anyhow::Result;
use bouncer::classify::Classifier;
use bouncer::explain::{explain, Explanation};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A reply code (550), an enhanced status (5.1.1) or a whole answer ("550 5.1.1 User unknown")
    #[arg(value_name = "CODE|TEXT", required = true)]
    pub inputs: Vec<String>,

    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: ExplainFormat,

    /// Classifier rules of your own, tried before the built-in ones
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let classifier = Classifier::with_user_rules(args.rules.as_deref())?;
    let mut out = std::io::stdout().lock();
    let mut unknown = false;
    for input in &args.inputs {
        let e = explain(input, &classifier);
        unknown |= e.reply_code.is_empty() && e.status.is_empty();
        let text = match args.format {
            ExplainFormat::Json => serde_json::to_string(&e)? + "\n",
            ExplainFormat::Text => render(&e),
        };
        super::common::finish_write(out.write_all(text.as_bytes()))?;
    }
    if unknown {
        eprintln!("bouncer: no reply code or enhanced status found in some input (give 550, 5.1.1, or the server's answer)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn render(e: &Explanation) -> String {
    let mut s = format!("{}\n", e.input);
    if !e.reply_code.is_empty() {
        s += &format!("  reply code {}: {}\n", e.reply_code, e.reply_meaning);
        s += &format!("    class {}; subject {}", e.reply_class, e.reply_subject);
        if !e.reply_source.is_empty() && e.reply_source != "none" {
            s += &format!(" ({})", e.reply_source);
        }
        s += "\n";
        if !e.commands.is_empty() {
            s += &format!("    returned by: {}\n", e.commands.join(", "));
        }
    }
    if !e.status.is_empty() {
        s += &format!("  enhanced status {}: {}", e.status, e.status_meaning);
        if !e.status_source.is_empty() {
            s += &format!(" ({})", e.status_source);
        }
        s += &format!("\n    class {}; subject {}\n", e.status_class, e.status_subject);
        if !e.provider.is_empty() {
            s += &format!("    provider: {}\n", e.provider);
        }
    }
    if !e.bounce_type.is_empty() {
        s += &format!("  bounce: {}", e.bounce_type);
        if !e.reason.is_empty() {
            s += &format!(", reason {}", e.reason);
            if !e.reason_from.is_empty() {
                s += &format!(" ({})", e.reason_from);
            }
        }
        s += &format!(", suppress {}\n", if e.suppress { "yes" } else { "no" });
    }
    s += &format!("  what to do: {}\n", e.advice);
    s
}
