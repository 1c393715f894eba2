//! Options shared by the subcommands that read inputs, and the run around them: expanding
//! paths, building the classifier and filters, printing errors and `--stats`, the exit code.

use anyhow::{bail, Context, Result};
use bouncer::classify::Classifier;
use bouncer::collect::{Filter, RecordSink};
use bouncer::engine::{self, Options, RunResult};
use bouncer::input::{self, Chain};
use bouncer::parse::{Settings, DEFAULT_MAX_QUEUE_IDS};
use bouncer::record::{BounceType, Direction};
use bouncer::when::parse_user_time;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnlyType {
    Hard,
    Soft,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DirectionArg {
    Inbound,
    Outbound,
}

#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// Log files, bounce emails, directories (read recursively), or - for standard input.
    /// Compressed files (gzip, bzip2, xz, zstd) are recognised by their content. With no PATH,
    /// standard input is read when it is not a terminal.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// Only failures at or after this time: RFC 3339, YYYY-MM-DD[ HH:MM[:SS]], today,
    /// yesterday, or -24h / -7d back from now
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,

    /// Only failures before this time (same forms as --since)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,

    /// Only hard (permanent) or soft (transient) failures
    #[arg(long, value_enum)]
    pub only: Option<OnlyType>,

    /// Only outbound failures (our server could not deliver) or inbound ones (we refused a client)
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,

    /// The year of syslog stamps that carry none (default: from each file's modification
    /// time, see docs/ARCHITECTURE.md)
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i32>,

    /// Classifier rules of your own, tried before the built-in ones (same format as
    /// src/classify/rules.txt)
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// Worker threads (default: all cores)
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Lines longer than this are cut (the rest of the line is skipped): bytes, or 64K, 1M, ...
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    pub max_line_bytes: usize,

    /// Queue ids kept open for correlation before the oldest are evicted (and counted)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_QUEUE_IDS)]
    pub max_queue_ids: usize,

    /// Size of the chunks a log is cut into for parallel parsing (e.g. 4M, 64K)
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    pub chunk_size: usize,

    /// Email messages larger than this are read only up to it (the rest is skipped while
    /// streaming): bytes, or 1M, 64M, ...
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_message_bytes: usize,

    /// Also list messages that are not bounces (auto-replies, abuse reports) with reason
    /// vacation or feedback
    #[arg(long)]
    pub all: bool,

    /// Count records into the summary's tables (not an option: `scan` turns it off).
    #[arg(skip = true)]
    pub tables: bool,

    /// Print the accounting (lines = records + not failures + unparsed + filtered) on stderr
    #[arg(long)]
    pub stats: bool,

    /// Print each line that looked like a failure but could not be read, on stderr
    #[arg(long)]
    pub show_unparsed: bool,

    /// Print nothing on stderr but errors
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Remember how far each log file was read in FILE and read only what is new next time
    /// (follows logrotate's renames, compression and copytruncate; see docs/cron.md)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

impl InputArgs {
    pub fn options(&self) -> Result<Options> {
        let since = self
            .since
            .as_deref()
            .map(parse_user_time)
            .transpose()
            .map_err(anyhow::Error::msg)
            .context("--since")?;
        let until = self
            .until
            .as_deref()
            .map(parse_user_time)
            .transpose()
            .map_err(anyhow::Error::msg)
            .context("--until")?;
        let classifier = Classifier::with_user_rules(self.rules.as_deref())?;
        Ok(Options {
            settings: Settings {
                max_line_bytes: self.max_line_bytes,
                max_message_bytes: self.max_message_bytes,
                max_queue_ids: self.max_queue_ids,
                year: self.year,
                chunk_bytes: self.chunk_size,
                all: self.all,
                tables: self.tables,
            },
            filter: Filter {
                since,
                until,
                only: self.only.map(|o| match o {
                    OnlyType::Hard => BounceType::Hard,
                    OnlyType::Soft => BounceType::Soft,
                }),
                direction: self.direction.map(|d| match d {
                    DirectionArg::Inbound => Direction::Inbound,
                    DirectionArg::Outbound => Direction::Outbound,
                }),
            },
            classifier,
            resume: None,
        })
    }

    /// The chains to read (stdin when no path is given and stdin is not a terminal), and the
    /// walk's messages (`error: ...` for a lost input, `warning: ...` for an entry skipped).
    pub fn chains(&self) -> Result<(Vec<Chain>, Vec<String>)> {
        let mut paths = self.paths.clone();
        if paths.is_empty() {
            if std::io::stdin().is_terminal() {
                bail!("no input: give one or more PATHs, or pipe a log into bouncer (see --help)");
            }
            paths.push("-".into());
        }
        let (chains, errors) = input::expand(&paths);
        Ok((chains, errors.into_iter().map(|e| e.to_string()).collect()))
    }

    fn setup_threads(&self) {
        if let Some(n) = self.threads {
            let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
        }
    }

    /// Run the engine with this sink; print errors, warnings and stats; the exit code.
    pub fn execute(&self, sink: Option<&mut (dyn RecordSink + 'static)>) -> Result<(RunResult, ExitCode)> {
        self.execute_then(sink, |_| Ok(()))
    }

    /// `execute`, then `deliver` the result (write the report); with --state, the new state is
    /// saved only after the records were flushed and `deliver` succeeded, so a failed write
    /// never marks lines as read.
    pub fn execute_then(
        &self,
        mut sink: Option<&mut (dyn RecordSink + 'static)>,
        deliver: impl FnOnce(&RunResult) -> Result<()>,
    ) -> Result<(RunResult, ExitCode)> {
        self.setup_threads();
        let mut opts = self.options()?;
        if let Some(p) = &self.state {
            let old = input::state::State::load(p).map_err(anyhow::Error::msg)?;
            opts.resume = Some(input::state::Resume::new(old));
        }
        let (chains, walk_messages) = self.chains()?;
        let quiet = self.quiet;
        let say = |m: &str| {
            if !quiet || m.starts_with("error") {
                eprintln!("bouncer: {m}");
            }
        };
        walk_messages.iter().for_each(|m| say(m));
        let bar = Progress::start(&chains, quiet);
        let mut result = engine::run(&chains, &opts, sink.as_deref_mut(), |m| bar.suspend(|| say(m)));
        bar.finish();
        let lost = walk_messages.iter().filter(|m| m.starts_with("error")).count() as u64;
        result.summary.inputs.errors += lost;
        result.summary.inputs.skipped += walk_messages.len() as u64 - lost;
        if let Some(s) = sink {
            if let Err(e) = s.flush() {
                result.sink_error.get_or_insert(e);
            }
        }
        let (result, code) = self.finish(result)?;
        deliver(&result)?;
        if let (Some(p), Some(resume)) = (&self.state, opts.resume.take()) {
            if result.sink_error.is_none() {
                resume
                    .finish()
                    .save(p)
                    .with_context(|| format!("cannot write state file {}", p.display()))?;
            }
        }
        Ok((result, code))
    }

    /// `--follow`: read the one PATH as it grows until Ctrl-C (or SIGTERM); `tick` gets the
    /// summary so far every `every`. Then the same ending as `execute`.
    pub fn follow(
        &self,
        f: &FollowArgs,
        every: Option<std::time::Duration>,
        sink: Option<&mut (dyn RecordSink + 'static)>,
        tick: impl FnMut(&bouncer::report::summary::Summary),
    ) -> Result<(RunResult, ExitCode)> {
        if self.state.is_some() {
            bail!("--state is for runs that end (cron); --follow reads as the log grows");
        }
        let path = match self.paths.as_slice() {
            [p] if p != "-" => PathBuf::from(p),
            _ => bail!("--follow reads exactly one log file (give its PATH; standard input cannot be followed)"),
        };
        let opts = self.options()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed)).context("cannot catch Ctrl-C")?;
        let how = engine::Follow {
            from_end: f.from_end,
            poll: std::time::Duration::from_millis(f.poll_ms.max(10)),
            stop: &stop,
            every,
        };
        let quiet = self.quiet;
        let result = engine::follow(&path, &how, &opts, sink, tick, |m| {
            if !quiet || m.starts_with("error") {
                eprintln!("bouncer: {m}");
            }
        });
        self.finish(result)
    }

    /// After a run: a failed output, --show-unparsed, --stats, the exit code.
    fn finish(&self, result: RunResult) -> Result<(RunResult, ExitCode)> {
        if let Some(e) = &result.sink_error {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                bail!("cannot write output: {e}");
            }
        }
        if self.show_unparsed {
            for u in &result.unparsed {
                eprintln!("bouncer: unparsed: {}:{}: {}: {}", u.source, u.line, u.why, u.text);
            }
        }
        if self.stats {
            let s = &result.summary;
            let a = &s.accounting;
            eprintln!(
                "bouncer: stats: {} inputs, {} lines + {} messages = {} with failures ({} records) + {} not failures + {} unparsed + {} filtered; {} read errors, {} skipped, {} queue ids evicted",
                s.inputs.files, s.inputs.lines, s.inputs.messages, a.failures, a.records, a.not_failures, a.unparsed, a.filtered, s.inputs.errors, s.inputs.skipped, a.evicted_queue_ids
            );
        }
        let code = if result.summary.inputs.errors > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
        Ok((result, code))
    }
}

/// A progress bar on stderr for long runs (over 64 MiB of input files), only when stderr is a
/// terminal and not --quiet: bytes of the files read against their sizes, with the rate and
/// the time left. It polls a counter the input layer keeps, so reading pays one atomic add.
struct Progress(Option<(indicatif::ProgressBar, std::thread::JoinHandle<()>)>);

impl Progress {
    fn start(chains: &[Chain], quiet: bool) -> Progress {
        use bouncer::input::open::FILE_BYTES_READ;
        use std::sync::atomic::Ordering;
        if quiet || !std::io::stderr().is_terminal() {
            // No bar to draw: the files' sizes are not asked for (a stat per file).
            return Progress(None);
        }
        let total: u64 = chains
            .iter()
            .flat_map(|c| &c.sources)
            .filter_map(|s| match s {
                input::Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                input::Source::Stdin => None,
            })
            .sum();
        // BOUNCER_PROGRESS_MIN_BYTES lowers the threshold (the tests use it on small fixtures).
        let min = std::env::var("BOUNCER_PROGRESS_MIN_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64 << 20);
        if total < min {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let start = FILE_BYTES_READ.load(Ordering::Relaxed);
        let b = bar.clone();
        let poll = std::thread::spawn(move || {
            while !b.is_finished() {
                b.set_position(FILE_BYTES_READ.load(Ordering::Relaxed) - start);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        Progress(Some((bar, poll)))
    }

    /// Print a message without tearing the bar.
    fn suspend(&self, f: impl FnOnce()) {
        match &self.0 {
            Some((bar, _)) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish(self) {
        if let Some((bar, poll)) = self.0 {
            bar.finish_and_clear();
            let _ = poll.join();
        }
    }
}

/// `--follow` and its companions, shared by `scan` and `report`.
#[derive(clap::Args, Debug)]
pub struct FollowArgs {
    /// Keep reading the log file as it grows (like tail -F: survives rotation by rename and
    /// copytruncate) until Ctrl-C, which ends with the final summary
    #[arg(long)]
    pub follow: bool,

    /// With --follow: start at the end of the file (only lines written from now on)
    #[arg(long, requires = "follow")]
    pub from_end: bool,

    /// With --follow: look for new lines this often when there were none (milliseconds)
    #[arg(long, value_name = "MS", default_value_t = 250, requires = "follow", hide_short_help = true)]
    pub poll_ms: u64,
}

/// A duration: a number with s, m or h (seconds when bare): `60s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1u64),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 5m, 1h)"))?;
    if !(n > 0.0 && n.is_finite()) {
        return Err(format!("`{s}` must be more than zero"));
    }
    Ok(std::time::Duration::from_secs_f64(n * mult as f64))
}

/// A size in bytes: a number with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 4096, 64K, 4M, 1G)"))?;
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("`{s}` is out of range"))
}

/// Standard output, or the file of `-o`.
pub fn output(path: Option<&PathBuf>) -> Result<Box<dyn std::io::Write + Send>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufWriter::with_capacity(
            256 * 1024,
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout())),
    })
}

/// Ignore a closed pipe (`bouncer scan | head`), report other write errors.
pub fn finish_write(r: std::io::Result<()>) -> Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write output"),
    }
}

/// `--color WHEN`, as ripgrep and ls have it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Colour or not: `always` and `never` say so; `auto` colours a terminal unless the
    /// environment has a non-empty NO_COLOR (https://no-color.org).
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}
