//! Exchange: message tracking logs (MSGTRK*.LOG), Get-MessageTrackingLog | Export-Csv files and
//! Exchange Online message trace / historical search exports.
//!
//! All are comma-separated rows under a header naming the columns (`#Fields:` in tracking logs,
//! re-read whenever it recurs; the first row in CSV exports). Columns are mapped by name, with
//! dashes, underscores and case ignored, so `recipient-status` (log), `RecipientStatus`
//! (Export-Csv) and `recipient_status` (EXO extended report) are one column. Quoting is RFC 4180
//! (the `csv` crate), quoted fields may span lines. The field reference is
//! `../shared/corpus/exchange/FORMATS.md`; what the reader takes from it is in docs/exchange.md.

use super::Settings;
use crate::collect::Collector;
use crate::record::{Action, BounceType, Direction, Format, Record};
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::Arc;

/// Which Exchange layout the stream holds (as sniffed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// W3C-style tracking log with `#Fields:` headers.
    TrackingLog,
    /// A CSV export with a header row.
    Csv,
}

/// A column name without case, dashes, underscores or spaces.
fn norm(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The columns of the current header, by normalised name.
#[derive(Default)]
struct Columns {
    index: HashMap<String, usize>,
    count: usize,
}

impl Columns {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Columns {
        let mut index = HashMap::new();
        let mut count = 0;
        for (i, n) in names.into_iter().enumerate() {
            index.entry(norm(n)).or_insert(i);
            count = i + 1;
        }
        Columns { index, count }
    }

    /// The first of these columns present in the row (empty if none).
    fn get<'r>(&self, row: &'r csv::StringRecord, names: &[&str]) -> &'r str {
        names
            .iter()
            .find_map(|n| self.index.get(*n).and_then(|&i| row.get(i)))
            .map(str::trim)
            .unwrap_or("")
    }

    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

const TIME: &[&str] = &[
    "datetime",
    "timestamp",
    "datetimeutc",
    "origintimestamputc",
    "origintimestamp",
    "received",
    "date",
];
const EVENT: &[&str] = &["eventid", "event"];
const RECIPIENTS: &[&str] = &["recipientaddress", "recipients"];
const STATUS: &[&str] = &["recipientstatus"];
const SENDER: &[&str] = &["returnpath", "senderaddress", "sender"];
const MESSAGE_ID: &[&str] = &["messageid"];
const QUEUE_ID: &[&str] = &["internalmessageid", "messagetraceid"];
const SOURCE: &[&str] = &["source"];

/// Read one Exchange stream; every data row is one unit.
pub fn read_stream(
    layout: Layout,
    reader: &mut dyn BufRead,
    source: &Arc<str>,
    settings: &Settings,
    out: &mut Collector<'_>,
) -> io::Result<()> {
    let format = match layout {
        Layout::TrackingLog => Format::ExchangeLog,
        Layout::Csv => Format::ExchangeCsv,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(None)
        // Rows end at LF; the CR of CRLF stays on the last field and is trimmed with it. (With
        // CR as a terminator too, csv counts a CRLF row's line one short.)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let mut cols = Columns::default();
    let mut raw = csv::ByteRecord::new();
    loop {
        let (line, start) = (rdr.position().line(), rdr.position().byte());
        match rdr.read_byte_record(&mut raw) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(io::Error::other(e.to_string()));
                }
                // A row the csv reader cannot make sense of: counted, and reading goes on.
                out.summary.inputs.lines += 1;
                out.unparsed(source, line, "unreadable Exchange row", e.to_string().as_bytes());
                continue;
            }
        }
        // A row is one unit, however many physical lines its quoted fields span; bytes that
        // are not UTF-8 are replaced, not fatal.
        let line = raw.position().map(|p| p.line()).unwrap_or(line);
        out.summary.inputs.lines += 1;
        out.summary.inputs.bytes += rdr.position().byte() - start;
        let row = csv::StringRecord::from_byte_record_lossy(raw.clone());
        let first = row.get(0).unwrap_or("").trim_start_matches('\u{feff}');
        if first.starts_with('#') {
            // Tracking-log header lines; `#Fields:` (re)defines the columns. `#TYPE` heads an
            // Export-Csv file.
            if let Some(f) = first.strip_prefix("#Fields:") {
                let mut names = vec![f.trim()];
                names.extend(row.iter().skip(1));
                cols = Columns::new(names);
            }
            out.not_failure();
            continue;
        }
        if cols.index.is_empty() {
            if layout == Layout::Csv {
                cols = Columns::new(row.iter());
                out.not_failure();
                continue;
            }
            out.unparsed(source, line, "Exchange row before any #Fields header", row_text(&row).as_bytes());
            continue;
        }
        if row.len() < cols.count {
            // A row cut short (the last line of a log being written, a truncated copy): it may
            // be a failure, but its columns cannot be trusted.
            out.unparsed(
                source,
                line,
                "Exchange row with fewer fields than its header",
                row_text(&row).as_bytes(),
            );
            continue;
        }
        row_to_records(&cols, &row, format, source, line, settings, out);
    }
    Ok(())
}

/// A row as text again (for --show-unparsed).
fn row_text(row: &csv::StringRecord) -> String {
    row.iter().collect::<Vec<_>>().join(",")
}

/// What one data row gives.
fn row_to_records(
    cols: &Columns,
    row: &csv::StringRecord,
    format: Format,
    source: &Arc<str>,
    line: u64,
    settings: &Settings,
    out: &mut Collector<'_>,
) {
    let _ = settings;
    let event = cols.get(row, EVENT).to_ascii_uppercase();
    let recipients = split_recipients(cols.get(row, RECIPIENTS));
    let totals = &mut out.summary.exchange;
    let n = recipients.len().max(1) as u64;
    let action = match event.as_str() {
        "RECEIVE" => {
            totals.received += 1;
            None
        }
        "DELIVER" => {
            totals.delivered += n;
            None
        }
        "SENDEXTERNAL" | "SEND" => {
            totals.sent_externally += if event == "SENDEXTERNAL" { n } else { 0 };
            None
        }
        "FAIL" | "RESUBMITFAIL" => {
            totals.failed += n;
            Some(Action::Failed)
        }
        "DEFER" | "RESUBMITDEFER" => {
            totals.deferred += n;
            Some(Action::Delayed)
        }
        "DROP" => {
            totals.dropped += n;
            Some(Action::Failed)
        }
        // EXO message trace: a Status column instead of events.
        "" if cols.has("status") && !cols.has("recipientstatus") => match cols.get(row, &["status"]).to_ascii_lowercase().as_str() {
            "failed" => {
                totals.failed += n;
                Some(Action::Failed)
            }
            "pending" => {
                totals.deferred += n;
                Some(Action::Delayed)
            }
            "delivered" => {
                totals.delivered += n;
                None
            }
            _ => None,
        },
        _ => None,
    };
    let mut action = match action {
        Some(a) => a,
        None => {
            // EXO enhanced summary: `addr##Receive, Fail;addr2##Receive, Deliver`.
            let rs = cols.get(row, STATUS);
            if event.is_empty() && rs.contains("##") {
                return summary_report_row(cols, row, rs, format, source, line, out);
            }
            return out.not_failure();
        }
    };
    let statuses = split_statuses(cols.get(row, STATUS), recipients.len());
    let when = parse_time(cols.get(row, TIME));
    let source_col = cols.get(row, SOURCE).to_ascii_uppercase();
    let mut records = Vec::with_capacity(recipients.len());
    for (i, rcpt) in recipients.iter().enumerate() {
        let st = statuses
            .get(i)
            .or_else(|| if statuses.len() == 1 { statuses.first() } else { None });
        let mut r = Record::new(format, Direction::Outbound, action, source.clone(), line);
        r.timestamp = when.as_ref().map(crate::when::rfc3339).unwrap_or_default();
        r.queue_id = cols.get(row, QUEUE_ID).to_string();
        r.message_id = cols.get(row, MESSAGE_ID).trim_matches(|c| c == '<' || c == '>').to_string();
        r.sender = sender_of(cols.get(row, SENDER));
        r.recipient = rcpt.to_string();
        if let Some(st) = st {
            r.diagnostic = st.text.clone();
            r.remote_host = st.fqdn.clone();
            r.remote_ip = st.ip.clone();
            (r.reply_code, r.status) = codes(&st.text);
            r.smtp_command = crate::parse::dsn::answer::command(&st.text);
        }
        if r.remote_ip.is_empty() && cols.has("toip") {
            // EXO message trace: the address(es) EXO tried to deliver to.
            r.remote_ip = cols.get(row, &["toip"]).split([';', ',', ' ']).next().unwrap_or("").to_string();
        }
        if crate::parse::bytes::is_ip(r.remote_host.as_bytes()) {
            r.remote_ip = std::mem::take(&mut r.remote_host);
        }
        let expired = r.diagnostic.contains("QUEUE.Expired") || (source_col == "QUEUE" && r.status == "4.4.7");
        if action == Action::Failed && expired {
            action = Action::Expired;
        }
        r.action = if action == Action::Expired && !expired {
            Action::Failed
        } else {
            action
        };
        r.bounce_type = Some(BounceType::of_action(r.action));
        records.push(r);
    }
    out.failure(records, when.as_ref());
}

/// An EXO enhanced-summary row: `recipient_status` items `address##events`; a record for each
/// recipient whose events include Fail (no code: the report has none).
fn summary_report_row(
    cols: &Columns,
    row: &csv::StringRecord,
    rs: &str,
    format: Format,
    source: &Arc<str>,
    line: u64,
    out: &mut Collector<'_>,
) {
    let when = parse_time(cols.get(row, TIME));
    let mut records = Vec::new();
    for item in rs.split(';') {
        let Some((addr, events)) = item.split_once("##") else { continue };
        let events = events.to_ascii_lowercase();
        let action = if events.contains("fail") || events.contains("drop") {
            Action::Failed
        } else if events.contains("defer") {
            Action::Delayed
        } else {
            continue;
        };
        let mut r = Record::new(format, Direction::Outbound, action, source.clone(), line);
        r.timestamp = when.as_ref().map(crate::when::rfc3339).unwrap_or_default();
        r.message_id = cols.get(row, MESSAGE_ID).trim_matches(|c| c == '<' || c == '>').to_string();
        r.sender = sender_of(cols.get(row, SENDER));
        r.recipient = addr.trim().to_string();
        r.bounce_type = Some(BounceType::of_action(action));
        records.push(r);
    }
    if records.is_empty() {
        out.not_failure();
    } else {
        out.failure(records, when.as_ref());
    }
}

fn sender_of(v: &str) -> String {
    let v = v.trim().trim_matches(|c| c == '<' || c == '>');
    v.to_string()
}

/// Recipients of a row: `;`-separated in logs; flattened exports may also use `; `, ` | `,
/// commas, spaces or line breaks.
fn split_recipients(v: &str) -> Vec<String> {
    if v.contains("System.String[]") || v.contains("System.Collections") {
        return Vec::new();
    }
    v.split(|c: char| c == ';' || c == '|' || c == ',' || c.is_whitespace())
        .map(|s| s.trim().trim_matches(|c| c == '<' || c == '>'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One recipient's status: its text (LED for bracketed statuses), FQDN and IP.
#[derive(Clone, Debug, Default, PartialEq)]
struct Status {
    text: String,
    fqdn: String,
    ip: String,
}

/// Per-recipient statuses of a row, in recipient order. Bracketed groups
/// (`[{LED=..};{FQDN=..};{IP=..}]`) are split at `;` outside brackets; plain text (2007/2010) is
/// split at `;` and a piece is joined back to the one before unless it starts with a reply code
/// (`550 `, `550-`) or is To/Cc/Bcc — the text itself holds `;` (`RecipNotFound; not found`).
fn split_statuses(v: &str, recipients: usize) -> Vec<Status> {
    let v = v.trim();
    if v.is_empty() {
        return Vec::new();
    }
    if v.starts_with('[') {
        let mut groups = Vec::new();
        let (mut depth, mut start) = (0i32, 0usize);
        for (i, c) in v.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                ';' if depth == 0 => {
                    groups.push(&v[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        groups.push(&v[start..]);
        return groups.into_iter().map(bracket_group).collect();
    }
    let mut parts: Vec<String> = Vec::new();
    for piece in v.split(';') {
        let p = piece.trim_start();
        let starts_code = p.len() >= 4 && p.as_bytes()[..3].iter().all(u8::is_ascii_digit) && matches!(p.as_bytes()[3], b' ' | b'-');
        let is_kind = matches!(p, "To" | "Cc" | "Bcc");
        match parts.last_mut() {
            Some(last) if !starts_code && !is_kind => {
                last.push(';');
                last.push_str(piece);
            }
            _ => parts.push(p.to_string()),
        }
    }
    if parts.len() < recipients && parts.len() > 1 {
        // Fewer statuses than recipients: keep them in order; the rest have none.
    }
    parts
        .into_iter()
        .map(|text| Status {
            text: text.trim().to_string(),
            ..Status::default()
        })
        .collect()
}

/// `[{LED=...};{MSG=};{FQDN=...};{IP=...};{LRT=...}]` (keys in any order; values may hold `;`,
/// braces or quotes: a value ends where `};{` or `}]` follows).
fn bracket_group(g: &str) -> Status {
    let inner = g.trim().trim_start_matches('[');
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    let mut st = Status::default();
    let mut rest = inner;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(eq) = after.find('=') else { break };
        let key = &after[..eq];
        let val_start = &after[eq + 1..];
        let end = val_start.find("};{").or_else(|| val_start.rfind('}')).unwrap_or(val_start.len());
        let value = val_start[..end].trim();
        match key.trim().to_ascii_uppercase().as_str() {
            "LED" => st.text = value.to_string(),
            "FQDN" => st.fqdn = value.trim_end_matches('.').to_ascii_lowercase(),
            "IP" => st.ip = value.to_string(),
            _ => {}
        }
        rest = &val_start[end.min(val_start.len())..];
        if rest.starts_with('}') {
            rest = &rest[1..];
        }
    }
    if st.text.is_empty() && !inner.contains("{LED=") {
        st.text = g.trim().to_string();
    }
    st
}

/// Reply code and enhanced status from the start of a status text (`550-5.7.26 ...`,
/// `550 4.4.7 QUEUE.Expired`); a text that starts with a code alone gives the code.
fn codes(text: &str) -> (String, String) {
    let t = text.trim_start().as_bytes();
    if t.len() < 3 || !t[..3].iter().all(u8::is_ascii_digit) || !matches!(t[0], b'2'..=b'5') {
        return (String::new(), String::new());
    }
    let code = String::from_utf8_lossy(&t[..3]).into_owned();
    if t.len() > 3 && !matches!(t[3], b' ' | b'-') {
        return (String::new(), String::new());
    }
    let rest = std::str::from_utf8(&t[t.len().min(4)..]).unwrap_or("");
    let tok = rest.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or("");
    let parts: Vec<&str> = tok.split('.').collect();
    let is_status = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && (1..=3).contains(&parts[1].len())
        && (1..=3).contains(&parts[2].len())
        && parts[1..].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    (code, if is_status { tok.to_string() } else { String::new() })
}

/// Tracking logs: UTC ISO 8601. Exports: the exporting machine's local culture text, read in
/// the local time zone (`TZ`): `3/14/2024 9:02:16 AM` (en-US), or ISO without a zone.
fn parse_time(v: &str) -> Option<DateTime<FixedOffset>> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t);
    }
    for fmt in [
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(v, fmt) {
            return Local.from_local_datetime(&n).earliest().map(|t| t.fixed_offset());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_statuses_keep_their_own_semicolons() {
        let s = split_statuses(
            "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
            2,
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
        assert_eq!(s[1].text, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
    }

    #[test]
    fn bracket_groups_in_any_key_order() {
        let s = split_statuses(
            "[{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient a@x not found};{MSG=};{FQDN=mx.example.net};{IP=192.0.2.1};{LRT=}];[{LRT=1/2/2024 3:04:05 PM};{LED=452 4.2.2 over quota};{FQDN=};{IP=2001:db8::1}]",
            2,
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient a@x not found");
        assert_eq!(s[0].fqdn, "mx.example.net");
        assert_eq!(s[0].ip, "192.0.2.1");
        assert_eq!(s[1].text, "452 4.2.2 over quota");
        assert_eq!(s[1].fqdn, "");
        assert_eq!(s[1].ip, "2001:db8::1");
    }

    #[test]
    fn leading_codes() {
        assert_eq!(codes("550-5.7.26 blocked"), ("550".into(), "5.7.26".into()));
        assert_eq!(codes("550 4.4.7 QUEUE.Expired; message expired"), ("550".into(), "4.4.7".into()));
        assert_eq!(codes("452 too busy"), ("452".into(), String::new()));
        assert_eq!(codes("Recipient not found"), (String::new(), String::new()));
        assert_eq!(codes("5500 x"), (String::new(), String::new()));
    }

    #[test]
    fn column_names_match_across_exports() {
        assert_eq!(norm("recipient-status"), norm("RecipientStatus"));
        assert_eq!(norm("recipient_status"), "recipientstatus");
        assert_eq!(norm("\u{feff}date-time"), "datetime");
    }
}
