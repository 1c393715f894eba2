//! Bounce emails: RFC 3464 delivery status notifications and the non-standard bounces MTAs send,
//! in single files, mbox files and maildirs.
//!
//! The shape: `read_stream` cuts the stream into messages (mbox `From ` lines, any line end),
//! [`mail::Mail`] parses one message with `mail-parser` into the parts a reader needs, then
//! [`rfc3464`] reads the machine-readable report when there is one and [`text`] (a table of MTA
//! signatures over one shared reader) reads the human-readable text otherwise. [`diag`] pulls
//! codes, host and command out of a diagnostic text for both.

mod action;
pub mod answer;
mod complete;
pub mod diag;
mod entry;
pub mod families;
pub mod mail;
pub mod original;
mod patterns;
mod recipients;
pub mod rfc3464;
mod ses;
pub mod text;

use super::Settings;
use crate::collect::Collector;
use crate::record::{Action, BounceType, Direction, Format, Record};
use chrono::{DateTime, FixedOffset};
use std::io::{self, BufRead};
use std::sync::Arc;

/// What a reader found for one recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub recipient: String,
    pub original_recipient: String,
    /// `failed`, `delayed`, `expired` (anything else is not a failure).
    pub action: Option<Action>,
    pub reply_code: String,
    pub status: String,
    pub smtp_command: String,
    pub remote_host: String,
    pub remote_ip: String,
    pub reporting_mta: String,
    pub diagnostic: String,
    pub when: Option<DateTime<FixedOffset>>,
}

/// Read one stream holding one email or an mbox of several; every message is one unit.
pub fn read_stream(reader: &mut dyn BufRead, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) -> io::Result<()> {
    // The common case, a file that is one message as it stands (LF line ends, no mbox `From `
    // line) and fits in the reader's first block, is handed on whole: byte for byte what the
    // line-by-line copy below would make of it, without a copy per line.
    let cap = message_cap(settings);
    let first = match reader.fill_buf() {
        Ok(b) => b,
        // (The line reader retries an interrupted read.)
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return read_lines(reader, source, settings, out),
        Err(e) => return Err(e),
    };
    let size = first.len();
    let plain = size > 0
        && size < cap
        && memchr::memchr(b'\r', first).is_none()
        && !first.starts_with(b"From ")
        && memchr::memmem::find(first, b"\nFrom ").is_none();
    if !plain {
        return read_lines(reader, source, settings, out);
    }
    let mut msg = first.to_vec();
    reader.consume(size);
    let more = match reader.fill_buf() {
        Ok(b) => !b.is_empty(),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
        Err(e) => return Err(e),
    };
    if more {
        // More follows: line by line after all, from the bytes already taken.
        return read_lines(&mut io::Read::chain(io::Cursor::new(msg), reader), source, settings, out);
    }
    if !msg.ends_with(b"\n") {
        msg.push(b'\n');
    }
    finish(&msg, 1, false, source, settings, out);
    Ok(())
}

/// The most bytes of one message read (`--max-message-bytes`, at least 1 KiB): the same bound
/// for a file taken whole and one read line by line, so both give the same message.
fn message_cap(settings: &Settings) -> usize {
    settings.max_message_bytes.max(1024)
}

/// Messages split at mbox `From ` lines (the one that opens the file too), line ends made LF,
/// each message cut at `--max-message-bytes`.
fn read_lines(reader: &mut dyn BufRead, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) -> io::Result<()> {
    let mut lines = Lines::new(reader);
    let mut line = Vec::new();
    let mut msg: Vec<u8> = Vec::new();
    let mut msg_line: u64 = 1;
    let mut cut = false;
    // A `From ` line is an mbox separator only when a header field follows it.
    let mut held: Option<(Vec<u8>, u64)> = None;
    let cap = message_cap(settings);
    let mut batch = Batch::default();
    loop {
        match lines.next(&mut line, cap) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The messages read whole before the stream broke are still handed on.
                batch.flush(source, settings, out);
                return Err(e);
            }
        }
        let n = lines.number;
        if let Some((from, at)) = held.take() {
            if is_header_field(&line) {
                batch.push(std::mem::take(&mut msg), msg_line, cut);
                if batch.full() {
                    batch.flush(source, settings, out);
                    if out.stopped() {
                        return Ok(());
                    }
                }
                cut = false;
                msg_line = at;
            } else {
                push_line(&mut msg, &from, cap, &mut cut);
            }
        }
        if is_from_line(&line) {
            held = Some((std::mem::take(&mut line), n));
            continue;
        }
        push_line(&mut msg, &line, cap, &mut cut);
    }
    if let Some((from, _)) = held.take() {
        push_line(&mut msg, &from, cap, &mut cut);
    }
    batch.push(msg, msg_line, cut);
    batch.flush(source, settings, out);
    Ok(())
}

fn push_line(msg: &mut Vec<u8>, line: &[u8], cap: usize, cut: &mut bool) {
    if msg.len() + line.len() + 1 > cap {
        *cut = true;
        return;
    }
    msg.extend_from_slice(line);
    msg.push(b'\n');
}

/// `From sender date...`: the mbox envelope line.
fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ") && line.len() > 6 && line[5] != b' ' && line.iter().any(u8::is_ascii_digit)
}

/// `Name: value` with an RFC 5322 field name.
fn is_header_field(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else { return false };
    colon > 0 && line[..colon].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// One message read: count it and hand it to the collector as exactly one unit.
fn finish(msg: &[u8], line: u64, cut: bool, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) {
    if let Some(read) = analyze(msg, line, source, settings, out.classifier) {
        apply(read, msg, line, cut, source, settings, out);
    }
}

/// What one message gives, worked out apart from the collector (so messages can be read in
/// parallel and handed on in order).
enum Read {
    Records(Vec<Record>, Option<DateTime<FixedOffset>>),
    NotFailure,
    Unparsed(&'static str),
}

/// None for white space only: no message.
fn analyze(msg: &[u8], line: u64, source: &Arc<str>, settings: &Settings, classifier: &crate::classify::Classifier) -> Option<Read> {
    if msg.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match read_message(msg, settings) {
        Outcome::Failure(bounces) => {
            let when = bounces.iter().flat_map(|b| &b.found).find_map(|f| f.when);
            let mut records = Vec::with_capacity(bounces.iter().map(|b| b.found.len()).sum());
            for Bounce { found, extra } in bounces {
                records.extend(found.into_iter().map(|f| {
                    let mut r = to_record(f, &extra, source, line);
                    settle_reason(&mut r, extra.reason_hint, classifier);
                    r
                }));
            }
            Read::Records(records, when)
        }
        Outcome::NotBounce(Some(nb)) if settings.all => {
            let (reason, found, extra) = *nb;
            let when = found.when;
            let mut rec = to_record(found, &extra, source, line);
            rec.reason = reason.to_string();
            rec.bounce_type = None;
            Read::Records(vec![rec], when)
        }
        Outcome::NotBounce(_) => Read::NotFailure,
        Outcome::Unparsed(why) => Read::Unparsed(why),
    })
}

fn apply(read: Read, msg: &[u8], line: u64, cut: bool, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) {
    out.summary.inputs.messages += 1;
    if cut {
        out.warning(format!(
            "{source}:{line}: message larger than {} bytes: read only up to there",
            settings.max_message_bytes
        ));
    }
    match read {
        Read::Records(records, when) => out.failure(records, when.as_ref()),
        Read::NotFailure => out.not_failure(),
        Read::Unparsed(why) => out.unparsed(source, line, why, msg),
    }
}

/// Messages of an mbox waiting to be read: read together on the pool (a big bounce mailbox is
/// one file, and would otherwise be read on one core), handed to the collector in order.
#[derive(Default)]
struct Batch {
    /// Each message with the line it starts on and whether it was cut.
    messages: Vec<(Vec<u8>, u64, bool)>,
    bytes: usize,
}

impl Batch {
    /// Enough to share out, little enough to hold: flush past this many messages or bytes.
    const MESSAGES: usize = 64;
    const BYTES: usize = 8 << 20;

    fn push(&mut self, msg: Vec<u8>, line: u64, cut: bool) {
        self.bytes += msg.len();
        self.messages.push((msg, line, cut));
    }

    fn full(&self) -> bool {
        self.messages.len() >= Self::MESSAGES || self.bytes >= Self::BYTES
    }

    /// Read every message held and hand each on in order; stops where the collector stops.
    fn flush(&mut self, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) {
        use rayon::prelude::*;
        let classifier = out.classifier;
        let one = |(msg, line, _): &(Vec<u8>, u64, bool)| analyze(msg, *line, source, settings, classifier);
        let reads: Vec<Option<Read>> = if self.messages.len() > 1 && rayon::current_num_threads() > 1 {
            self.messages.par_iter().map(one).collect()
        } else {
            self.messages.iter().map(one).collect()
        };
        for ((msg, line, cut), read) in self.messages.iter().zip(reads) {
            if out.stopped() {
                break;
            }
            if let Some(read) = read {
                apply(read, msg, *line, *cut, source, settings, out);
            }
        }
        self.messages.clear();
        self.bytes = 0;
    }
}

/// The reason of a bounce record: the shared classifier's answer, read the way bounce
/// processors read bounces (Sisimai's conventions): what the text says wins, also for a message
/// that timed out in the queue (a full mailbox retried until expiry is `mailboxfull`); only a
/// time-out with nothing more specific (or a network error) is `expired`. "User unknown" not
/// said at RCPT nor with a 5.1.x status is `filtered` when status or wording say a filter
/// refused; a refusal at the greeting or HELO/EHLO with no other word is a block of the client
/// host; a refusal of MAIL FROM is a rejection of the sender. `hint` is the family's reason when the text names none.
fn settle_reason(r: &mut Record, hint: &str, c: &crate::classify::Classifier) {
    let mut reason = c.reason(Action::Failed, &r.diagnostic, &r.status);
    // Temporary by its codes, or with no codes by its words ("Host not found, try again").
    let temporary = r.status.starts_with('4')
        || (r.status.is_empty() && r.reply_code.starts_with('4'))
        || (r.status.is_empty() && r.reply_code.is_empty() && r.diagnostic.to_ascii_lowercase().contains("try again"));
    if reason == "undefined" && !hint.is_empty() {
        reason = hint.to_string();
    }
    if r.action == Action::Delayed && reason == "undefined" {
        // A delay report that names no cause: the message is waiting out its time in the queue.
        reason = "expired".into();
    }
    if r.action == Action::Delayed && reason == "networkerror" && c.match_text(&r.diagnostic).is_none() {
        // A delay report whose only cause is its status ("4.4.1", no answer from the host, with
        // no words that say so): the same wait in the queue, not a network error it describes.
        reason = "expired".into();
    }
    if reason == "userunknown" && r.status.get(1..) == Some(".1.6") {
        // "Destination mailbox has moved" (x.1.6) says more than the words ("551 not our
        // customer"): the address is gone, and said to be elsewhere.
        reason = "hasmoved".into();
    }
    if reason == "mesgtoobig" && r.status.get(1..) == Some(".2.3") {
        // "Message length exceeds administrative limit" (x.2.3): the recipient's own limit on
        // size, not the system's ("552 5.2.3 Message size exceeds the mailbox's limit").
        reason = "exceedlimit".into();
    }
    if r.action == Action::Delayed && temporary && reason == "hostunknown" {
        // A name that did not resolve this time ("454 4.4.4 no MX or A for domain", retried):
        // the lookup failed, the domain is not known to be gone.
        reason = "networkerror".into();
    }
    if r.action == Action::Expired || (r.action == Action::Failed && temporary) {
        match reason.as_str() {
            "undefined" if r.action == Action::Expired => reason = "expired".into(),
            // Never reached until the time ran out; a connection lost mid-session is not that.
            "networkerror" if !r.diagnostic.to_ascii_lowercase().contains("lost connection") => reason = "expired".into(),
            "hostunknown" => reason = "networkerror".into(),
            _ => {}
        }
    }
    if reason == "userunknown" && r.smtp_command != "RCPT" && !r.status.starts_with("5.1.") && !r.status.starts_with("4.1.") {
        // Not refused at RCPT, no "bad mailbox" status: a filter's refusal when the status says
        // mailbox (x.2.x) or policy (x.7.x), or when the text is the filters' wording.
        let subject = r.status.get(1..3).unwrap_or("");
        if subject == ".2" || subject == ".7" || FILTER_WORDING.is_match(&r.diagnostic) {
            reason = "filtered".into();
        }
    }
    if matches!(r.smtp_command.as_str(), "CONN" | "HELO" | "EHLO") && reason == "undefined" {
        // Refused before the envelope began: the client host itself was refused.
        reason = "blocked".into();
    }
    // Refused at MAIL FROM: the sender was refused, unless the text says the client is listed
    // (a block list, a provider's block code: the rules tagged `listing`), which is the client's
    // block at any command.
    let listed = || c.match_text(&r.diagnostic).is_some_and(|m| m.tag == crate::classify::LISTING);
    if r.smtp_command == "MAIL"
        && (matches!(reason.as_str(), "userunknown" | "filtered" | "undefined" | "hostunknown") || (reason == "blocked" && !listed()))
    {
        reason = "rejected".into();
    }
    if reason == "expired" && r.action == Action::Failed {
        r.action = Action::Expired;
    }
    r.reason = reason;
}

/// How recipients' filters word a refusal: "550 : User unknown" (no address: au/ezweb),
/// "550 Unknown user" (docomo and many filtering gateways), as against a mailbox's "User unknown"
/// (or a local delivery agent's "mail.local: unknown user: x").
static FILTER_WORDING: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?i)\b[45]\d\d:?\s+:\s*user unknown|\b[45]\d\d[ -]'?unknown user\b").expect("regex"));

static QUOTED_REPLY: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?:^|\s)([45]\d\d)[ -]'([45]\.\d{1,3}\.\d{1,3})\b").expect("regex"));

/// The remote server's own enhanced status (in the diagnostic) wins over the report's `Status`
/// when they share the class: the report's is often a summary (`5.0.0`, `4.4.7` expired) or the
/// reporting MTA's guess.
/// A report that the message expired (x.4.7) may quote the last attempt's answer after its own
/// ("554 4.4.7 Message expired: ... <421 4.4.2 Connection timed out>"): that answer is the one
/// the remote server gave. A 2xx/3xx reply code is never a failure's.
fn refine_status(f: &mut Found) {
    if f.reply_code.starts_with(['2', '3']) {
        f.reply_code.clear();
    }
    if let Some(c) = QUOTED_REPLY
        .captures(&f.diagnostic)
        .filter(|c| c[1].as_bytes()[0] == c[2].as_bytes()[0])
    {
        // "5.1.0 - Unknown address error 550-'5.7.1 <a@b>... Access denied'": a relay's summary
        // around the server's own quoted reply; the quoted codes are the answer.
        f.reply_code = c[1].to_string();
        f.status = c[2].to_string();
        return;
    }
    // Of several dated attempts, the last one's answer.
    let answer = diag::last_attempt(&f.diagnostic).unwrap_or(&f.diagnostic);
    let Some((at, said)) = diag::status(answer) else { return };
    let after = at + said.len();
    // A summary of the other class (`Status: 4.0.0` over "550 5.1.1 ... unknown") gives way to
    // the server's own code when its reply code agrees with it.
    let summary_of_other_class = f.status.ends_with(".0.0")
        && said.as_bytes()[0] != f.status.as_bytes()[0]
        && f.reply_code.as_bytes().first() == said.as_bytes().first();
    if f.status.is_empty() || (said != f.status && said.as_bytes()[0] == f.status.as_bytes()[0]) || summary_of_other_class {
        f.status = said;
    }
    if f.status.ends_with(".4.7") {
        let rest = answer.get(after..).unwrap_or("");
        if let (Some((c_at, code)), Some((s_at, status))) = (diag::reply_code(rest), diag::status(rest)) {
            if s_at > c_at && code.as_bytes()[0] == status.as_bytes()[0] {
                f.reply_code = code;
                f.status = status;
            }
        }
    }
}

/// Fields of the message around the recipients.
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// A refusal of our own server's, told to the postmaster, not a bounce of mail sent out.
    pub inbound: bool,
    pub message_id: String,
    pub sender: String,
    /// The reason the bounce's family implies when its text names none (Google Groups: the
    /// group refused the poster).
    pub reason_hint: &'static str,
}

/// One bounce's failed recipients and what it says of the mail that failed.
pub struct Bounce {
    pub found: Vec<Found>,
    pub extra: Extra,
}

/// What a message turned out to be.
pub enum Outcome {
    /// One bounce, or several (a digest of forwarded bounces), in the order they stand.
    Failure(Vec<Bounce>),
    /// Not a bounce; for auto-replies and abuse reports the reason and one record.
    NotBounce(Option<Box<(&'static str, Found, Extra)>>),
    Unparsed(&'static str),
}

fn to_record(f: Found, extra: &Extra, source: &Arc<str>, line: u64) -> Record {
    // Our own server's refusal of a client is `rejected`, hard or soft by its codes, as the
    // Postfix log reader gives the same refusal.
    let (direction, action, bounce_type) = if extra.inbound {
        let codes = crate::classify::bounce_type_of_codes(&f.reply_code, &f.status);
        (Direction::Inbound, Action::Rejected, codes)
    } else {
        let action = f.action.unwrap_or(Action::Failed);
        (Direction::Outbound, action, Some(BounceType::of_action(action)))
    };
    let mut r = Record::new(Format::Dsn, direction, action, source.clone(), line);
    r.timestamp = f.when.map(|t| t.to_rfc3339()).unwrap_or_default();
    r.message_id = extra.message_id.clone();
    r.sender = extra.sender.clone();
    r.recipient = f.recipient;
    r.original_recipient = f.original_recipient;
    r.reply_code = f.reply_code;
    r.status = f.status;
    r.smtp_command = f.smtp_command;
    r.remote_host = f.remote_host;
    r.remote_ip = f.remote_ip;
    r.reporting_mta = f.reporting_mta;
    r.diagnostic = f.diagnostic;
    r.bounce_type = bounce_type;
    r
}

/// Read one message (LF line ends).
pub fn read_message(raw: &[u8], settings: &Settings) -> Outcome {
    let _ = settings;
    // A bug of ours that one message trips (a panic) costs that message, counted as unparsed,
    // not the batch.
    std::panic::catch_unwind(|| read_message_in(raw, 0)).unwrap_or(Outcome::Unparsed(
        "bouncer's reader failed on this message (a bug: please report it)",
    ))
}

/// `depth`: how many wrapping notices are around this message (a report attached to a notice
/// is read in its place, once).
fn read_message_in(raw: &[u8], depth: u8) -> Outcome {
    // A panic inside the MIME parser (a third-party crate) costs this message, not the batch.
    let m = match std::panic::catch_unwind(|| mail::Mail::parse(raw)) {
        Ok(Some(m)) => m,
        Ok(None) => return Outcome::NotBounce(None),
        Err(_) => return Outcome::Unparsed("the MIME parser failed on this message"),
    };
    // A note around a bounce (a gateway's notice around a report, a person's forward): the
    // attached message is the bounce when it reads as one. A notice of a known family with the
    // returned original attached is read as itself.
    // A report itself (its status part mislabelled as text) is read before what it returns.
    let own_report = m.content_type.starts_with("multipart/report");
    // Every attached bounce is read (a digest of forwarded bounces): `any` lets the first
    // attachment be read though its headers do not say it is one.
    let try_attached = |m: &mail::Mail, any: bool| {
        if depth >= 2 || !m.status_parts.is_empty() || m.titled_auto_reply() || (own_report && !any) {
            return None;
        }
        let mut bounces = Vec::new();
        for (i, a) in m.attached.iter().enumerate() {
            let any = any && i == 0;
            if a.report || (text::family(m).is_none() && (any || a.bounce_like)) {
                if let Outcome::Failure(read) = read_message_in(&a.raw, depth + 1) {
                    bounces.extend(read);
                }
            }
        }
        (!bounces.is_empty()).then_some(Outcome::Failure(bounces))
    };
    if let Some(o) = try_attached(&m, false) {
        return o;
    }
    let extra = m.extra();
    if let Some(kind) = m.not_bounce_kind() {
        let mut f = Found {
            recipient: m.not_bounce_recipient(),
            when: m.date,
            ..Found::default()
        };
        f.diagnostic = m.subject.clone();
        return Outcome::NotBounce(Some(Box::new((kind, f, extra))));
    }
    if m.status_parts.is_empty() && action::says_delivered(&m) {
        return Outcome::NotBounce(None);
    }
    if let Some((found, kind)) = ses::read(&m) {
        return match kind {
            "bounce" if !found.is_empty() => Outcome::Failure(vec![Bounce { found, extra }]),
            "bounce" => Outcome::Unparsed("bounce notification without a recipient"),
            "feedback" => Outcome::NotBounce(Some(Box::new(("feedback", Found::default(), extra)))),
            _ => Outcome::NotBounce(None),
        };
    }
    let mut found = Vec::new();
    // The notice above report fields written in its own text (a status part labelled as text):
    // its codes, host and command are read there, not in the fields.
    let mut notice = m.text.as_str();
    // (A report forwarded with "> " quoting, by its subject: its fields unquoted. A reply that
    // quotes a report is a person's talk about it.)
    let unquoted;
    if !m.status_parts.is_empty() {
        for part in &m.status_parts {
            found.extend(rfc3464::read(part, &m));
        }
    } else if let Some(at) = rfc3464::embedded_start(&m.text) {
        found = rfc3464::read(&m.text[at..], &m);
        if !m.text[..at].trim().is_empty() {
            notice = &m.text[..at];
        }
    } else if let Some(u) = mail::is_forward(&m.subject).then(|| text::unquote(&m.text)).flatten() {
        unquoted = u;
        if let Some(at) = rfc3464::embedded_start(&unquoted) {
            found = rfc3464::read(&unquoted[at..], &m);
            if !unquoted[..at].trim().is_empty() {
                notice = &unquoted[..at];
            }
        }
    }
    let mut is_report = !found.is_empty() || !m.status_parts.is_empty();
    if found.iter().all(|f| f.action.is_none()) {
        // Only delivered/relayed reports (or none): the text may still say more.
        let skipped = !found.is_empty();
        found.clear();
        if !skipped {
            if let Some(t) = text::read(&m) {
                found = t;
                is_report = true;
            }
        }
    } else {
        found.retain(|f| f.action.is_some());
        complete::complete(&mut found, &m, notice);
    }
    if found.is_empty() && m.attached.first().is_some_and(|a| !a.bounce_like || own_report) {
        // Nothing here: an attachment whose headers did not say so may still be the bounce.
        if let Some(o) = try_attached(&m, true) {
            return o;
        }
    }
    if found.is_empty() {
        if is_report && m.status_parts.iter().all(|p| !rfc3464::only_delivered(p)) && m.looks_like_bounce() {
            return Outcome::Unparsed("bounce message without a recipient");
        }
        if !is_report && m.looks_like_bounce() {
            return Outcome::Unparsed("bounce message without a recipient");
        }
        return Outcome::NotBounce(None);
    }
    // A recipient reported twice (a report of each attempt): the last attempt is its answer,
    // given in the place it was first named.
    let mut place = std::collections::HashMap::new();
    let mut once: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        match place.get(&f.recipient) {
            Some(&i) => once[i] = f,
            None => {
                place.insert(f.recipient.clone(), once.len());
                once.push(f);
            }
        }
    }
    let mut found = once;
    for f in &mut found {
        if f.when.is_none() {
            f.when = m.date;
        }
        refine_status(f);
    }
    Outcome::Failure(vec![Bounce { found, extra }])
}

/// Lines of a stream, ended by LF, CRLF or a lone CR; long lines are cut at a cap.
struct Lines<'r> {
    r: &'r mut dyn BufRead,
    /// The number of the line last read (1-based).
    number: u64,
    /// The last line ended with CR: a LF right after it belongs to it.
    skip_lf: bool,
}

impl<'r> Lines<'r> {
    fn new(r: &'r mut dyn BufRead) -> Self {
        Lines {
            r,
            number: 0,
            skip_lf: false,
        }
    }

    /// The next line into `buf` (without its end); false at the end of the stream.
    fn next(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<bool> {
        buf.clear();
        let mut any = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if any {
                    self.number += 1;
                }
                return Ok(any);
            }
            if self.skip_lf {
                self.skip_lf = false;
                if avail[0] == b'\n' {
                    self.r.consume(1);
                    continue;
                }
            }
            any = true;
            match memchr::memchr2(b'\n', b'\r', avail) {
                Some(i) => {
                    let room = cap.saturating_sub(buf.len());
                    buf.extend_from_slice(&avail[..i.min(room)]);
                    self.skip_lf = avail[i] == b'\r';
                    self.r.consume(i + 1);
                    self.number += 1;
                    return Ok(true);
                }
                None => {
                    let len = avail.len();
                    let room = cap.saturating_sub(buf.len());
                    buf.extend_from_slice(&avail[..len.min(room)]);
                    self.r.consume(len);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reason settle_reason gives a record with these fields.
    fn settled(action: Action, status: &str, command: &str, diagnostic: &str, hint: &str) -> (String, Action) {
        let mut r = Record::new(Format::Dsn, Direction::Outbound, action, "t".into(), 1);
        r.status = status.into();
        r.smtp_command = command.into();
        r.diagnostic = diagnostic.into();
        settle_reason(&mut r, hint, &crate::classify::Classifier::builtin());
        (r.reason, r.action)
    }

    #[test]
    fn reasons_read_as_bounce_processors_read_them() {
        let f = Action::Failed;
        let reason = |st: &str, cmd: &str, d: &str| settled(f, st, cmd, d, "").0;
        // A mailbox's "User unknown" vs a filter's wording or status.
        assert_eq!(reason("5.0.0", "", "550 <a@example.jp>: User unknown"), "userunknown");
        assert_eq!(reason("5.0.0", "", "550 : User unknown"), "filtered");
        assert_eq!(reason("5.2.0", "", "550 Unknown user a@example.jp"), "filtered");
        assert_eq!(
            reason("5.5.0", "", "mail.local: unknown user: a 554 <a@example.jp>... Service unavailable"),
            "userunknown"
        );
        assert_eq!(reason("5.2.1", "", "550 5.2.1 <a@example.jp>... User Unknown"), "filtered");
        assert_eq!(reason("5.2.1", "RCPT", "550 5.2.1 <a@example.jp>... User Unknown"), "userunknown");
        assert_eq!(reason("5.1.1", "DATA", "550 5.1.1 <a@example.jp>... User Unknown"), "userunknown");
        // At MAIL FROM it is the sender that was refused.
        assert_eq!(reason("5.1.0", "MAIL", "553 5.1.0 sender.example does not exist"), "rejected");
        assert_eq!(reason("5.7.1", "MAIL", "550 5.7.1 Access denied"), "rejected");
        // ... unless the text says the client is listed: that block holds at any command.
        assert_eq!(
            reason("5.1.0", "MAIL", "550 5.1.0 <a@example.com> sender rejected. AUP#CDRBL"),
            "blocked"
        );
        assert_eq!(
            reason("5.7.1", "MAIL", "554 5.7.1 Service unavailable; blocked using bl.example.org"),
            "blocked"
        );
        // ... or that the client's address is refused.
        assert_eq!(
            reason("5.7.606", "MAIL", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]"),
            "blocked"
        );
        assert_eq!(
            reason("5.1.0", "MAIL", "550 5.1.0 Your IP address has been blocked. AUP#I-1000"),
            "blocked"
        );
        assert_eq!(reason("", "MAIL", "554 IP-address of the sender is blacklisted"), "blocked");
        // Refused at the greeting or HELO with nothing more said: the client host is blocked.
        assert_eq!(reason("5.0.0", "EHLO", "550 Rejected"), "blocked");
        assert_eq!(reason("5.0.0", "RCPT", "550 Rejected"), "undefined");
        // A message that timed out: what the text says wins; a time-out alone is expired.
        let (r, a) = settled(Action::Expired, "4.2.2", "", "450 4.2.2 Mailbox Full; message will be retried", "");
        assert_eq!((r.as_str(), a), ("mailboxfull", Action::Expired));
        assert_eq!(
            settled(f, "4.4.1", "", "connect to mx.example.jp: Connection timed out", "").0,
            "expired"
        );
        assert_eq!(settled(f, "4.4.1", "", "", "").1, Action::Expired);
        // The family's hint only when the text names nothing.
        assert_eq!(settled(f, "", "", "the group may not exist", "rejected").0, "rejected");
        assert_eq!(settled(f, "", "", "mailbox is full", "rejected").0, "mailboxfull");
        // A delay report that names no cause is waiting out its time; a failure that names no
        // cause stays undefined here (the classifier makes it `onhold` when there is a text).
        assert_eq!(settled(Action::Delayed, "4.4.0", "", "", "").0, "expired");
        // A mailbox said to have moved (x.1.6) has moved, whatever else the words say.
        assert_eq!(settled(f, "5.1.6", "551", "551 not our customer", "").0, "hasmoved");
        // A size refused with x.2.3 is over the recipient's own limit.
        assert_eq!(
            settled(
                f,
                "5.2.3",
                "550",
                "550 5.2.3 RESOLVER.RST.SendSizeLimit.Org; message too large for this organization",
                ""
            )
            .0,
            "exceedlimit"
        );
        assert_eq!(settled(f, "5.3.4", "552", "552 5.3.4 Message too large", "").0, "mesgtoobig");
        // So is one whose only cause is its "no answer from host" status; one whose words say
        // the connection failed is a network error.
        assert_eq!(settled(Action::Delayed, "4.4.1", "", "Message delayed", "").0, "expired");
        assert_eq!(
            settled(
                Action::Delayed,
                "4.4.1",
                "",
                "X-Postfix; connect to mx.example.jp[192.0.2.1]:25: Connection refused",
                ""
            )
            .0,
            "networkerror"
        );
        assert_eq!(
            settled(f, "4.3.0", "", "451 4.3.0 recipient error, please try again", "").0,
            "undefined"
        );
        assert_eq!(settled(Action::Expired, "", "", "the queue gave up", "").0, "expired");
        // A connection lost mid-session is a network error, not a time-out in the queue.
        let lost = "lost connection with mx.example.jp[192.0.2.1] while performing the HELO handshake";
        assert_eq!(settled(f, "4.4.2", "", lost, "").0, "networkerror");
        // A temporary DNS failure said only in words.
        assert_eq!(
            settled(
                f,
                "",
                "",
                "Name service error for domain example.com: Host not found, try again",
                ""
            )
            .0,
            "networkerror"
        );
        assert_eq!(
            settled(f, "", "", "Name service error for domain example.com: Host not found", "").0,
            "hostunknown"
        );
        // A local program's exit status: the mailer failed, unless the status names the
        // state (sysexits.h: 67 no such user, 77 no permission, 75 retried until expiry).
        assert_eq!(settled(f, "4.5.0", "", "X-Unix; 71", "").0, "mailererror");
        assert_eq!(settled(f, "5.3.0", "", "X-Unix; 77", "").0, "systemerror");
        assert_eq!(settled(f, "5.1.1", "", "X-Unix; 67", "").0, "userunknown");
        assert_eq!(settled(f, "4.4.7", "", "X-Unix; 75", ""), ("expired".to_string(), Action::Expired));
        assert_eq!(settled(f, "4.3.0", "", "X-Unix; temporary failure", "").0, "mailererror");
        assert_eq!(settled(f, "4.2.2", "", "X-Unix; mailbox full", "").0, "mailboxfull");
    }

    fn all_lines(input: &[u8]) -> Vec<String> {
        let mut r: &[u8] = input;
        let mut l = Lines::new(&mut r);
        let mut buf = Vec::new();
        let mut v = Vec::new();
        while l.next(&mut buf, 1 << 20).unwrap() {
            v.push(String::from_utf8_lossy(&buf).into_owned());
        }
        v
    }

    #[test]
    fn line_ends() {
        assert_eq!(all_lines(b"a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(all_lines(b"a\r\r\nb\n\n"), ["a", "", "b", ""]);
        assert!(all_lines(b"").is_empty());
    }

    const WRAPPED: &str = "From: Gateway <postmaster@gw.example.net>\nTo: ops@example.net\n\
Subject: Returned mail\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"OUT\"\n\n--OUT\n\
Content-Type: text/plain\n\n----- The following addresses had permanent delivery errors -----\n\n--OUT\n\
Content-Type: message/rfc822\n\nFrom: MAILER-DAEMON@mta.example.net\nTo: ops@example.net\n\
Subject: Returned mail: User unknown\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"IN\"\n\n--IN\n\n\
The following addresses had permanent delivery errors\nzed@example.org\n\n--IN\n\
Content-Type: message/delivery-status\n\nReporting-MTA: dns; mta.example.net\n\n\
Final-Recipient: rfc822; zed@example.org\nAction: failed\nStatus: 5.0.0\n\
Remote-MTA: dns; mx.example.org\n\
Diagnostic-Code: smtp; 554 delivery expired: 5.4.7 retried until <550 5.1.1 no such user>\n\n--IN--\n\n--OUT--\n";

    #[test]
    fn a_report_wrapped_in_a_notice_is_read() {
        let Outcome::Failure(bounces) = read_message(WRAPPED.as_bytes(), &Default::default()) else {
            panic!("a failure")
        };
        let [Bounce { found, .. }] = &bounces[..] else {
            panic!("one bounce")
        };
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "zed@example.org");
        assert_eq!(found[0].remote_host, "mx.example.org");
    }

    #[test]
    fn the_servers_own_codes_win() {
        let mut f = Found {
            status: "5.0.0".into(),
            reply_code: "250".into(),
            diagnostic: "Out: 250 2.1.5 Ok In: DATA Out: 451 4.3.0 Error: queue file write error".into(),
            ..Found::default()
        };
        refine_status(&mut f);
        // 2.1.5 is a step that worked; 4.3.0 has another class than the report's 5.0.0.
        assert_eq!((f.status.as_str(), f.reply_code.as_str()), ("5.0.0", ""));
        let mut f = Found {
            status: "5.1.1".into(),
            diagnostic: "550 5.7.1 IP address listed".into(),
            ..Found::default()
        };
        refine_status(&mut f);
        assert_eq!(f.status, "5.7.1");
        // A relay's summary around the server's quoted reply: the quoted codes are the answer.
        let mut f = Found {
            status: "5.1.0".into(),
            diagnostic: "5.1.0 - Unknown address error 550-'5.7.1 <a@example.com>... Access denied'".into(),
            ..Found::default()
        };
        refine_status(&mut f);
        assert_eq!((f.status.as_str(), f.reply_code.as_str()), ("5.7.1", "550"));
        let mut f = Found {
            status: "4.4.7".into(),
            reply_code: "554".into(),
            diagnostic: "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>".into(),
            ..Found::default()
        };
        refine_status(&mut f);
        assert_eq!((f.status.as_str(), f.reply_code.as_str()), ("4.4.2", "421"));
        // A summary of the other class gives way to the server's code that its reply agrees with.
        let mut f = Found {
            status: "4.0.0".into(),
            reply_code: "550".into(),
            diagnostic: "550 5.1.1 <a@example.com>... User unknown".into(),
            ..Found::default()
        };
        refine_status(&mut f);
        assert_eq!(f.status, "5.1.1");
    }

    #[test]
    fn from_lines() {
        assert!(is_from_line(b"From MAILER-DAEMON  Thu Apr 29 23:34:45 2015"));
        assert!(!is_from_line(b"From: someone"));
        assert!(is_header_field(b"Return-Path: <>"));
        assert!(!is_header_field(b"hello there: you"));
    }
}
