//! Record writers for `scan`: CSV, JSON Lines, and an aligned table for a terminal.

use crate::collect::RecordSink;
use crate::record::Record;
use std::io::{self, Write};

/// Output formats of `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordFormat {
    Csv,
    Jsonl,
    Table,
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell safe to open in a spreadsheet: one that would start a formula gets a leading `'`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.as_bytes().first().is_some_and(|b| FORMULA_START.contains(&(*b as char))) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Text safe for a terminal: control characters (C0, DEL, C1 — and so ANSI escapes) become
/// `\xNN` so that log text cannot move the cursor or retitle the window.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

pub struct CsvSink<W: Write> {
    w: csv::Writer<W>,
    raw: bool,
    header_done: bool,
}

impl<W: Write> CsvSink<W> {
    pub fn new(w: W, raw: bool) -> Self {
        CsvSink {
            w: csv::WriterBuilder::new().from_writer(w),
            raw,
            header_done: false,
        }
    }

    pub fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            self.w.write_record(Record::COLUMNS).map_err(io::Error::other)?;
        }
        Ok(())
    }
}

impl<W: Write + Send> RecordSink for CsvSink<W> {
    fn write(&mut self, r: &Record) -> io::Result<()> {
        self.header()?;
        let values = r.values();
        let res = if self.raw {
            self.w.write_record(values.iter().map(|v| v.as_ref()))
        } else {
            let safe = values.each_ref().map(|v| neutralise(v));
            self.w.write_record(safe.iter().map(|v| v.as_ref()))
        };
        res.map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => io::Error::other(format!("{other:?}")),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.header()?;
        self.w.flush()
    }
}

pub struct JsonlSink<W: Write> {
    w: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(w: W) -> Self {
        JsonlSink { w }
    }
}

impl<W: Write + Send> RecordSink for JsonlSink<W> {
    fn write(&mut self, r: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, r).map_err(io::Error::from)?;
        self.w.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Columns of the terminal table: (title, field index in `Record::COLUMNS`, max width).
const TABLE: [(&str, usize, usize); 9] = [
    ("TIME", 0, 25),
    ("RECIPIENT", 8, 36),
    ("ACTION", 10, 8),
    ("TYPE", 17, 4),
    ("CODE", 11, 4),
    ("STATUS", 12, 8),
    ("REMOTE HOST", 14, 34),
    ("REASON", 18, 16),
    ("DIAGNOSTIC", 20, 70),
];

fn cut(s: &str, max: usize) -> String {
    let s = terminal_safe(s);
    if s.chars().count() <= max {
        s.into_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Write records as aligned columns (widths from the records themselves), borderless like
/// `ls -l`. With `colour`, the head is bold and the type, code and status of hard bounces are
/// red, of soft ones yellow (the cells' text has already been made terminal-safe).
pub fn write_table(w: &mut dyn Write, records: &[Record], colour: bool) -> io::Result<()> {
    use comfy_table::{presets::NOTHING, CellAlignment, ContentArrangement, Table};
    let paint = |text: String, style: &console::Style| -> String {
        if colour && !text.is_empty() {
            style.apply_to(text).force_styling(true).to_string()
        } else {
            text
        }
    };
    let (bold, red, yellow) = (
        console::Style::new().bold(),
        console::Style::new().red(),
        console::Style::new().yellow(),
    );
    let mut t = Table::new();
    t.load_style(NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(TABLE.iter().map(|(title, _, _)| paint(title.to_string(), &bold)));
    for r in records {
        let v = r.values();
        let style = match r.bounce_type {
            Some(crate::record::BounceType::Hard) => Some(&red),
            Some(crate::record::BounceType::Soft) => Some(&yellow),
            None => None,
        };
        t.add_row(TABLE.iter().map(|(title, i, max)| {
            let cell = cut(&v[*i], *max);
            match style {
                Some(st) if matches!(*title, "TYPE" | "CODE" | "STATUS") => paint(cell, st),
                _ => cell,
            }
        }));
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2)).set_cell_alignment(CellAlignment::Left);
    }
    for line in t.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-1+2"), "'-1+2");
        assert_eq!(neutralise("user@example.com"), "user@example.com");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(terminal_safe("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(terminal_safe("plain"), "plain");
    }
}
