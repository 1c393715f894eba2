//! Where readers hand their results: every line or message ends up as exactly one of a
//! failure (with its records), not a failure, unparsed, or filtered. Records are classified,
//! filtered, counted into the summary, then written to the sink or kept.

use crate::classify::Classifier;
use crate::record::{BounceType, Direction, Record};
use crate::report::summary::Summary;
use chrono::{DateTime, FixedOffset};
use std::io;

/// The user's filters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
    pub only: Option<BounceType>,
    pub direction: Option<Direction>,
}

impl Filter {
    /// Inside --since/--until (a unit without a time is kept).
    pub fn in_window(&self, when: Option<&DateTime<FixedOffset>>) -> bool {
        let Some(t) = when else { return true };
        self.since.is_none_or(|s| *t >= s) && self.until.is_none_or(|u| *t < u)
    }

    fn keeps(&self, r: &Record) -> bool {
        self.only.is_none_or(|o| r.bounce_type == Some(o)) && self.direction.is_none_or(|d| r.direction == d)
    }

    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.until.is_none() && self.only.is_none() && self.direction.is_none()
    }
}

/// Something that takes records as they come (a CSV/JSONL writer on stdout).
pub trait RecordSink: Send {
    fn write(&mut self, r: &Record) -> io::Result<()>;
    /// Push out what is buffered (after each batch when following a live log).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A line or message that looked like a failure but could not be read.
#[derive(Clone, Debug)]
pub struct Unparsed {
    pub source: String,
    pub line: u64,
    pub why: &'static str,
    pub text: String,
}

/// Kept unparsed examples, at most this many per collector.
pub const UNPARSED_KEPT: usize = 1000;

pub struct Collector<'a> {
    pub filter: &'a Filter,
    pub classifier: &'a Classifier,
    pub summary: Summary,
    /// Records kept when there is no live sink (and `keep` is set).
    pub records: Vec<Record>,
    pub keep: bool,
    /// Count each record into the summary's tables (by reason, host, domain, ...), not only
    /// into the accounting: `scan` writes the records themselves and needs no tables.
    pub tables: bool,
    pub sink: Option<&'a mut (dyn RecordSink + 'static)>,
    pub sink_error: Option<io::Error>,
    /// One-line errors and warnings, in the order they happened.
    pub messages: Vec<String>,
    pub unparsed: Vec<Unparsed>,
}

impl<'a> Collector<'a> {
    pub fn new(filter: &'a Filter, classifier: &'a Classifier, keep: bool) -> Self {
        Collector {
            filter,
            classifier,
            summary: Summary::default(),
            records: Vec::new(),
            keep,
            tables: true,
            sink: None,
            sink_error: None,
            messages: Vec::new(),
            unparsed: Vec::new(),
        }
    }

    pub fn in_window(&self, when: Option<&DateTime<FixedOffset>>) -> bool {
        self.filter.in_window(when)
    }

    /// A unit that gave these records (classified here). Units outside the time window, or
    /// whose records are all filtered out, count as filtered.
    pub fn failure(&mut self, records: impl IntoIterator<Item = Record>, when: Option<&DateTime<FixedOffset>>) {
        if !self.filter.in_window(when) {
            self.summary.accounting.filtered += 1;
            return;
        }
        let mut kept = 0;
        for mut r in records {
            self.classifier.classify(&mut r);
            if !self.filter.keeps(&r) {
                continue;
            }
            kept += 1;
            self.summary.accounting.records += 1;
            if self.tables {
                self.summary.add_to_tables(&r);
            }
            self.emit(r);
        }
        if kept == 0 {
            self.summary.accounting.filtered += 1;
        } else {
            self.summary.accounting.failures += 1;
        }
    }

    fn emit(&mut self, r: Record) {
        if let Some(sink) = self.sink.as_deref_mut() {
            if self.sink_error.is_none() {
                if let Err(e) = sink.write(&r) {
                    self.sink_error = Some(e);
                }
            }
        } else if self.keep {
            self.records.push(r);
        }
    }

    /// A record already classified and counted (by a chunk worker): only write or keep it.
    pub fn push_counted(&mut self, r: Record) {
        self.emit(r);
    }

    /// An unparsed line already counted (by a chunk worker): only keep it for display.
    pub fn keep_unparsed(&mut self, u: Unparsed) {
        if self.unparsed.len() < UNPARSED_KEPT {
            self.unparsed.push(u);
        }
    }

    pub fn not_failure(&mut self) {
        self.summary.accounting.not_failures += 1;
    }

    pub fn filtered(&mut self) {
        self.summary.accounting.filtered += 1;
    }

    pub fn unparsed(&mut self, source: &str, line: u64, why: &'static str, text: &[u8]) {
        self.summary.accounting.unparsed += 1;
        if self.unparsed.len() < UNPARSED_KEPT {
            let mut t = String::from_utf8_lossy(&text[..text.len().min(500)]).into_owned();
            if text.len() > 500 {
                t.push('…');
            }
            self.unparsed.push(Unparsed {
                source: source.to_string(),
                line,
                why,
                text: t,
            });
        }
    }

    /// An input that could not be read (or not to the end): counted, and said on stderr.
    pub fn error(&mut self, message: String) {
        self.summary.inputs.errors += 1;
        self.messages.push(format!("error: {message}"));
    }

    pub fn warning(&mut self, message: String) {
        self.messages.push(format!("warning: {message}"));
    }

    /// Should reading stop (the output is gone)?
    pub fn stopped(&self) -> bool {
        self.sink_error.is_some()
    }
}
