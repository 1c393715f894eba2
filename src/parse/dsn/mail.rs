//! One message parsed with `mail-parser` into what the bounce readers need: the decoded text
//! of the notice, the delivery-status parts, and the returned original's identity.

use chrono::{DateTime, FixedOffset};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::original::{first_address, original_from_text, Original, LIST_FIELDS};

/// A message, read for bounce fields.
#[derive(Debug, Default)]
pub struct Mail {
    pub subject: String,
    /// The bounce's own From address (lower-cased).
    pub from: String,
    /// The bounce's own From field as written (name and address).
    pub from_text: String,
    /// The bounce's own To address (the original sender).
    pub to: String,
    pub date: Option<DateTime<FixedOffset>>,
    /// Top-level header fields: lower-cased name, raw value (unfolded).
    pub headers: Vec<(String, String)>,
    /// The decoded human-readable text of the notice (not of the returned original), LF lines.
    pub text: String,
    /// Decoded `message/delivery-status` (and global) parts.
    pub status_parts: Vec<String>,
    /// A `message/feedback-report` part was found.
    pub feedback_part: Option<String>,
    pub original: Original,
    /// The Content-Type of the message, lower-cased, e.g. `multipart/report; report-type=...`.
    pub content_type: String,
    /// The attached messages (message/rfc822): the first always (in a bounce the returned
    /// original, in a forwarded bounce or a gateway's notice around a report the bounce itself),
    /// the later ones only when they read like bounces (a digest of forwarded bounces).
    pub attached: Vec<Attached>,
    /// The MTA family, once detected (`text::family`).
    pub family: std::cell::OnceCell<Option<&'static super::families::Family>>,
}

/// A message attached to another, raw, with what its own headers say of it.
#[derive(Debug)]
pub struct Attached {
    pub raw: Vec<u8>,
    /// A delivery report (multipart/report).
    pub report: bool,
    /// A report, or its From or Subject reads like a bounce's.
    pub bounce_like: bool,
    /// Its header is marked with a complainant's address (`X-HmXmrOriginalRecipient`): the
    /// message a Hotmail junk-mail report is about.
    pub junk_report: bool,
}

/// A mail-parser date as a chrono one.
pub fn chrono_date(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if d.year < 1970 || d.month == 0 || d.day == 0 {
        return None;
    }
    DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok()
}

/// An RFC 5322 date text (`Thu, 29 Apr 2015 23:34:45 +0900 (JST)`).
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d);
    }
    mail_parser::DateTime::parse_rfc822(t).as_ref().and_then(chrono_date)
}

fn lower_addr(a: Option<&mail_parser::Address<'_>>) -> String {
    a.and_then(|a| a.first()).and_then(|a| address_of(a)).unwrap_or_default()
}

/// Every address of a header field, lower-cased (those that are addresses).
fn lower_addrs(a: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    a.map(|a| a.iter().filter_map(address_of).collect()).unwrap_or_default()
}

/// A header address lower-cased, if it is one (`local@domain`): "Undisclosed Recipients" in
/// angle brackets is read as an address too.
fn address_of(a: &mail_parser::Addr<'_>) -> Option<String> {
    a.address().map(str::trim).filter(|s| s.contains('@')).map(str::to_ascii_lowercase)
}

/// A text part whose declared charset did not fit its bytes (replacement characters came out)
/// but whose bytes, once the transfer encoding is undone, are valid UTF-8: a server that wrote
/// UTF-8 and labelled it ISO-2022-JP or Shift_JIS. The bytes are read as UTF-8 then. A part
/// that declares no charset but holds ISO-2022-JP's escape sequences is read as ISO-2022-JP.
fn utf8_if_mislabelled<'a>(msg: &'a Message<'_>, part: &mail_parser::MessagePart<'_>, decoded: &'a str) -> std::borrow::Cow<'a, str> {
    use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};
    if decoded.contains('\x1b') && part.content_type().and_then(|c| c.attribute("charset")).is_none() {
        return jis_escapes_decoded(decoded.as_bytes()).into();
    }
    if !decoded.contains('\u{FFFD}') {
        return decoded.into();
    }
    let raw = msg
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or(&[]);
    let bytes = match part.encoding {
        mail_parser::Encoding::None => Some(raw.to_vec()),
        mail_parser::Encoding::QuotedPrintable => quoted_printable_decode(raw),
        mail_parser::Encoding::Base64 => base64_decode(raw),
    };
    match bytes.map(String::from_utf8) {
        Some(Ok(s)) if !s.contains('\u{FFFD}') => s.into(),
        _ => decoded.into(),
    }
}

/// A base64 part mail-parser could not decode (cut off with the file, no closing boundary, a
/// stray character in it, plain text after it), which it keeps as its raw lines: its base64
/// lines decoded as far as they go, in its charset, then whatever follows them as written.
/// `None` for any other part.
fn base64_recovered(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    if !part.is_encoding_problem || !part.content_transfer_encoding().is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        return None;
    }
    let raw = part.contents();
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let mut clean: Vec<u8> = Vec::with_capacity(raw.len());
    let mut rest = raw.len();
    let mut at = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let t = line.trim_ascii();
        // (A line of words or a boundary ends the base64; a stray character or two does not.)
        if t.starts_with(b"--") || t.iter().filter(|b| !alphabet(b)).count() > 2 {
            rest = at;
            break;
        }
        clean.extend(t.iter().filter(|b| alphabet(b)));
        at += line.len();
    }
    // (A last group cut to one character holds no byte.)
    if clean.iter().filter(|&&b| b != b'=').count() % 4 == 1 {
        clean.pop();
    }
    let bytes = mail_parser::decoders::base64::base64_decode(&clean)?;
    let charset = part.content_type().and_then(|c| c.attribute("charset")).unwrap_or("utf-8");
    let mut text = match mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()) {
        Some(decode) => decode(&bytes),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    text.push_str(&String::from_utf8_lossy(&raw[rest..]));
    Some(text)
}

/// A delivery-status part has no charset, yet Japanese MTAs (Domino, Notes) write the
/// diagnostic in ISO-2022-JP: its escape sequences say so, and plain ASCII passes through
/// that decoder unchanged.
fn jis_escapes_decoded(b: &[u8]) -> String {
    let jis = memchr::memmem::find(b, b"\x1b$B").is_some() || memchr::memmem::find(b, b"\x1b$@").is_some();
    match jis
        .then(|| mail_parser::decoders::charsets::map::charset_decoder(b"iso-2022-jp"))
        .flatten()
    {
        Some(decode) => decode(b),
        None => String::from_utf8_lossy(b).into_owned(),
    }
}

/// The top-level header fields `Mail::header` answers for (the rest are not kept).
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "x-failed-recipients",
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "x-apple-action",
];

/// Only the header fields a bounce reader uses are parsed (MIME, addresses, date, subject,
/// ids); the rest (a dozen `Received:` fields and more per message) are skipped, their place
/// in the message kept (`headers_raw` reads the few we want as written). Making them raw
/// strings instead was 4 % of reading 10,000 bounces.
static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
    MessageParser::new()
        .with_minimal_headers()
        .with_message_ids()
        .default_header_ignore()
});

/// A `Content-Type` field whose parameter went to the next line without the leading white
/// space a fold needs (`Content-Type: multipart/alternative;` then `boundary="..."` at the start
/// of a line, as some carriers' gateways write it): the parameter is indented, so the part's
/// boundary is read and its parts are parts, not text. None when there is nothing to mend.
fn mend_broken_folds(raw: &[u8]) -> Option<Vec<u8>> {
    let is_broken = |at: usize| {
        // `at`: the start of a line that begins with a parameter (`boundary=`, `charset=`).
        let before = raw[..at].strip_suffix(b"\n")?;
        let before = before.strip_suffix(b"\r").unwrap_or(before);
        let line = &before[before.iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1)..];
        let field = line.get(..13)?;
        (field.eq_ignore_ascii_case(b"content-type:") && line.trim_ascii_end().ends_with(b";")).then_some(at)
    };
    // Found by their tails (one quick search each), then looked at where a line starts.
    let mut starts: Vec<usize> = [(&b"oundary="[..], b'b'), (b"harset=", b'c')]
        .iter()
        .flat_map(|&(tail, head)| {
            memchr::memmem::find_iter(raw, tail)
                .filter(move |&n| n >= 2 && raw[n - 1].eq_ignore_ascii_case(&head) && raw[n - 2] == b'\n')
                .map(|n| n - 1)
        })
        .filter_map(is_broken)
        .collect();
    starts.sort_unstable();
    if starts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + starts.len());
    let mut from = 0;
    for at in starts {
        out.extend_from_slice(&raw[from..at]);
        out.push(b'\t');
        from = at;
    }
    out.extend_from_slice(&raw[from..]);
    Some(out)
}

/// `raw` from its first header field, past blank lines (or lines of white space only) that a
/// tool saving the message wrote above it: read as they stand, they end an empty header and
/// leave the notice's own header to be read as its text (its Message-ID taken for the
/// returned message's). Unchanged where no header field follows them.
fn after_blank_lines(raw: &[u8]) -> &[u8] {
    let mut at = 0;
    while let Some(end) = raw[at..].iter().position(|&b| b == b'\n').map(|n| at + n + 1) {
        if !raw[at..end].iter().all(|b| b.is_ascii_whitespace()) {
            break;
        }
        at = end;
    }
    if at == 0 {
        return raw;
    }
    if super::is_header_field(&raw[at..]) {
        &raw[at..]
    } else {
        raw
    }
}

/// The MIME parser as bouncer configures it (for `examples/mime_floor.rs`, which times it alone).
pub fn parser() -> &'static MessageParser {
    &PARSER
}

impl Mail {
    pub fn parse(raw: &[u8]) -> Option<Mail> {
        let raw = after_blank_lines(raw);
        let mended = mend_broken_folds(raw);
        let msg = PARSER.parse(mended.as_deref().unwrap_or(raw))?;
        let mut m = Mail {
            subject: msg.subject().unwrap_or("").to_string(),
            from: lower_addr(msg.from()),
            from_text: msg.header_raw("From").unwrap_or("").trim().to_string(),
            to: lower_addr(msg.to()),
            date: msg.date().and_then(chrono_date),
            ..Mail::default()
        };
        m.headers = msg
            .headers_raw()
            .filter(|(n, _)| KEPT_HEADERS.iter().any(|k| n.eq_ignore_ascii_case(k)))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect();
        m.content_type = m.header("content-type").to_ascii_lowercase();
        m.walk(&msg);
        if m.text.trim().is_empty() {
            // No readable part: the raw body after the header block.
            let body = msg.raw_message().get(msg.root_part().offset_body as usize..).unwrap_or(&[]);
            m.text = String::from_utf8_lossy(body).into_owned();
        }
        if m.text.contains('\r') {
            m.text = m.text.replace("\r\n", "\n").replace('\r', "\n");
        }
        if m.original.is_empty() {
            m.original = original_from_text(&m.text);
        }
        if m.original.is_empty() {
            // A boundary that does not close the status part (one mistyped by hand or by an
            // anonymiser) leaves the returned header in it, after the report fields.
            if let Some(o) = m.status_parts.iter().map(|p| original_from_text(p)).find(|o| !o.is_empty()) {
                m.original = o;
            }
        }
        Some(m)
    }

    /// The MTA's own list of the recipients that failed (`X-Failed-Recipients`), lower-cased.
    pub fn failed_recipients(&self) -> Vec<String> {
        super::diag::addresses(self.header("x-failed-recipients")).map(|(_, a)| a).collect()
    }

    /// The raw value of a top-level header field (first one), or "": only for the fields in
    /// `KEPT_HEADERS`.
    pub fn header(&self, name: &str) -> &str {
        debug_assert!(KEPT_HEADERS.contains(&name), "{name} is not kept");
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    fn walk(&mut self, msg: &Message<'_>) {
        // Parts of a returned message written into a part's own header (below), with theirs.
        let mut returned: Vec<usize> = Vec::new();
        for (i, part) in msg.parts.iter().enumerate() {
            if returned.contains(&i) || (i > 0 && self.returned_in_part_header(part)) {
                // Its text and attachments are the original's, not the notice's.
                if let PartType::Multipart(ids) = &part.body {
                    returned.extend(ids.iter().map(|&id| id as usize));
                }
                continue;
            }
            let (ctype, sub) = part
                .content_type()
                .map(|c| (c.ctype().to_ascii_lowercase(), c.subtype().unwrap_or("").to_ascii_lowercase()))
                .unwrap_or_else(|| ("text".into(), "plain".into()));
            let recovered = base64_recovered(part).map(|t| PartType::Text(t.into()));
            match recovered.as_ref().unwrap_or(&part.body) {
                PartType::Text(t) => {
                    let t = if recovered.is_some() {
                        t.as_ref().into()
                    } else {
                        utf8_if_mislabelled(msg, part, t)
                    };
                    let t = t.as_ref();
                    if ctype == "text" && (sub == "rfc822-headers" || sub == "rfc822-header") {
                        if self.original.message_id.is_empty() {
                            self.original = original_from_text(t);
                        }
                    } else if ctype == "message" && sub.ends_with("delivery-status") {
                        self.status_parts.push(jis_escapes_decoded(t.as_bytes()));
                    } else if ctype == "message" && sub == "feedback-report" {
                        self.feedback_part = Some(t.to_string());
                    } else if ctype == "text" || ctype.is_empty() {
                        self.push_text(t);
                    }
                }
                PartType::Html(h) => {
                    // The notice in HTML, unless its plain text came first or stands beside it.
                    if self.text.trim().is_empty() && !has_plain_alternative(msg, i) {
                        let h = utf8_if_mislabelled(msg, part, h);
                        self.push_text(&strip_html(&h));
                    }
                }
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    if ctype == "message" && sub.ends_with("delivery-status") {
                        self.status_parts.push(jis_escapes_decoded(b));
                    } else if ctype == "message" && sub == "feedback-report" {
                        self.feedback_part = Some(String::from_utf8_lossy(b).into_owned());
                    } else if ((ctype == "text" && sub.starts_with("rfc822")) || (ctype == "message" && sub.contains("headers")))
                        && self.original.message_id.is_empty()
                    {
                        self.original = original_from_text(&String::from_utf8_lossy(b));
                    }
                }
                PartType::Message(inner) => {
                    let report = inner.content_type().is_some_and(|c| {
                        c.ctype().eq_ignore_ascii_case("multipart") && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
                    });
                    let bounce_like = report || headers_say_bounce(inner.header_raw("From").unwrap_or(""), inner.subject().unwrap_or(""));
                    if self.attached.is_empty() || bounce_like {
                        self.attached.push(Attached {
                            raw: inner.raw_message().to_vec(),
                            report,
                            bounce_like,
                            junk_report: inner.header_raw("X-HmXmrOriginalRecipient").is_some(),
                        });
                    }
                    if self.original.is_empty() {
                        self.original = Original {
                            message_id: inner.message_id().unwrap_or("").to_string(),
                            from: lower_addr(inner.from()),
                            to: lower_addrs(inner.to()),
                            return_path: inner.header_raw("Return-Path").and_then(first_address).unwrap_or_default(),
                            via_list: LIST_FIELDS.iter().any(|f| inner.header_raw(*f).is_some()),
                        };
                    }
                }
                PartType::Multipart(_) => {}
            }
        }
    }

    /// Exchange 5.5 writes the returned message's header into its part's own header
    /// (`Content-Type: message/rfc822`, then the original's Message-ID, From, To and its own
    /// Content-Type, with no blank line between), so the part reads as the original's body.
    /// Such a part (a body part with a From of its own) gives the original's
    /// identity when none was found before it. True for such a part.
    fn returned_in_part_header(&mut self, part: &mail_parser::MessagePart<'_>) -> bool {
        use mail_parser::HeaderName;
        let field = |n: HeaderName| part.headers().iter().find(|h| h.name == n).map(|h| &h.value);
        let (message_id, from) = (field(HeaderName::MessageId), field(HeaderName::From));
        if from.is_none() {
            return false;
        }
        if self.original.is_empty() {
            self.original = Original {
                message_id: message_id.and_then(|v| v.as_text()).unwrap_or("").to_string(),
                from: lower_addr(from.and_then(|v| v.as_address())),
                to: lower_addrs(field(HeaderName::To).and_then(|v| v.as_address())),
                ..Original::default()
            };
        }
        true
    }

    fn push_text(&mut self, t: &str) {
        // Each part is a paragraph of its own.
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        self.text.push_str(t);
    }

    /// Message-ID and sender of the original.
    pub fn extra(&self) -> super::Extra {
        // Postfix's notice to the postmaster that its SMTP server refused a client ("Postfix
        // SMTP server: errors from client[ip]"): an inbound refusal, whose sender is the one the
        // client gave in the transcript ("In:  MAIL FROM:<a@b>").
        let inbound = self.subject.contains("SMTP server: errors from");
        let client_sender = || {
            self.text.lines().find_map(|l| {
                let p = super::diag::transcript_payload(l.trim())?;
                starts_ci(p, "mail from:").then(|| super::diag::addresses(p).next().map(|(_, a)| a))?
            })
        };
        let sender = if !self.original.from.is_empty() {
            self.original.from.clone()
        } else if let Some(s) = inbound.then(client_sender).flatten() {
            s
        } else {
            self.to.clone()
        };
        super::Extra {
            inbound,
            message_id: self
                .original
                .message_id
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string(),
            sender,
            reason_hint: super::text::family(self).map(|f| f.reason).unwrap_or(""),
        }
    }

    /// `vacation` for an auto-reply (RFC 3834), `feedback` for an abuse report (RFC 5965).
    pub fn not_bounce_kind(&self) -> Option<&'static str> {
        if self.content_type.contains("feedback-report") || self.feedback_part.is_some() {
            return Some("feedback");
        }
        if !self.status_parts.is_empty() {
            return None;
        }
        if line_starts(&self.text, "Feedback-Type:") && (line_starts(&self.text, "User-Agent:") || line_starts(&self.text, "Version:")) {
            return Some("feedback");
        }
        // Hotmail's junk-mail reports, older than ARF: the complained-of message attached.
        if self.attached.first().is_some_and(|a| a.junk_report) {
            return Some("feedback");
        }
        let auto = self.header("auto-submitted").to_ascii_lowercase();
        // A subject that says it is an auto-reply is one, whatever bounce words it quotes (a
        // help desk's answer to a forwarded bounce, an out-of-office reply with the message it
        // answers below it): no MTA's notice is titled so.
        // So is one Apple Mail's vacation responder marks (`X-Apple-Action: vacation`).
        if self.titled_auto_reply() || self.header("x-apple-action").eq_ignore_ascii_case("vacation") {
            return Some("vacation");
        }
        let replied = auto.starts_with("auto-replied")
            || auto.starts_with("auto-notified")
            || !self.header("x-autoreply").is_empty()
            || !self.header("x-autorespond").is_empty()
            || self.header("precedence").eq_ignore_ascii_case("auto_reply");
        // An MTA's notice is marked auto-replied too (Exim's are): its signature says it is one,
        // whoever it is from.
        if replied && !self.looks_like_bounce() && super::text::family(self).is_none() {
            return Some("vacation");
        }
        None
    }

    /// The subject says the message is an auto-reply ("Automatic reply:", "Out of Office",
    /// "Auto:", "vacation" ...).
    pub fn titled_auto_reply(&self) -> bool {
        let subject = self.subject.to_ascii_lowercase();
        // (A notice that the auto-reply itself could not be delivered is a bounce:
        // "Undeliverable: Automatic reply: ...".)
        if BOUNCE_SUBJECTS.iter().any(|p| subject.starts_with(p)) {
            return false;
        }
        [
            "auto:",
            "automatic reply",
            "auto response",
            "automatische antwort",
            "réponse automatique",
            "respuesta automática",
            "risposta automatica",
            "auto reply",
            "autoreply",
            "auto-reply",
            "out of office",
            "out of the office",
            "vacation",
            "away from",
        ]
        .iter()
        // At the start or after a space (no copy of the subject per phrase).
        .any(|p| subject.match_indices(p).any(|(i, _)| i == 0 || subject.as_bytes()[i - 1] == b' '))
    }

    /// The address an auto-reply or report is about.
    pub fn not_bounce_recipient(&self) -> String {
        let first_to = self.original.to.first().cloned();
        if let Some(fb) = &self.feedback_part {
            // The address in the report's field ("undisclosed recipient <a@b>"), else the
            // reported message's To; never the provider that sent the report.
            let named = ["Original-Rcpt-To:", "Removal-Recipient:"]
                .into_iter()
                .filter_map(|key| field_value(fb, key))
                .find_map(|v| super::diag::addresses(v).next().map(|(_, a)| a));
            return named.or(first_to).unwrap_or_default();
        }
        first_to.unwrap_or_else(|| self.from.clone())
    }

    /// The message says it is a delivery failure (sender, subject or report type).
    pub fn looks_like_bounce(&self) -> bool {
        self.content_type.contains("delivery-status")
            || headers_say_bounce(&self.from_text, &self.subject)
            // A person's reply that talks about a bounce ("your mail to her bounced ... 550 5.1.1
            // User unknown") is no notice: its words alone do not make it one.
            || (!is_reply(&self.subject) && self.says_undelivered())
    }

    /// The top of the text says a message was not delivered.
    fn says_undelivered(&self) -> bool {
        let mut end = self.text.len().min(3000);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let head = self.text[..end].to_ascii_lowercase();
        [
            "could not be delivered",
            "not be delivered to",
            "undeliverable",
            "unable to deliver",
            "delivery failed",
            "delivery has failed",
            "failed permanently",
            "permanent error",
            "invalid user address",
            "error message below",
            "was not delivered",
            "wasn't delivered",
            "delivery to the following",
            "returned mail",
            "mailbox is full",
            "user unknown",
            "nicht zugestellt werden",
            "n'a pas pu être remis",
            "no se pudo entregar",
            "non è stato possibile recapitare",
            "recapito non riuscito",
        ]
        .iter()
        .any(|p| head.contains(p))
    }
}

/// `text` starts with `prefix` (lower-case), ignoring ASCII case; no copy made.
pub fn starts_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// `text` ends with `suffix` (lower-case), ignoring ASCII case.
pub fn ends_ci(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len() && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Does `text` end with the word `word` (ASCII case-insensitive; at the start or after a
/// character that is not a letter)?
pub fn ends_word_ci(text: &str, word: &str) -> bool {
    ends_ci(text, word)
        && !text[..text.len() - word.len()]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
}

/// Does some line of `text` start with `prefix` (ASCII case-insensitive)?
pub fn line_starts(text: &str, prefix: &str) -> bool {
    text.lines().any(|l| starts_ci(l, prefix))
}

/// The value of the first `Name:` line in a text block (`name` ASCII).
pub fn field_value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let l = l.trim_start();
        starts_ci(l, name).then(|| l[name.len()..].trim())
    })
}

/// Text of an HTML part: tags dropped, `<br>`/`<p>`/`<div>`/`<tr>` as line ends, line ends of
/// the source as spaces (as a browser shows them; kept inside `<pre>`), entities decoded.
pub fn strip_html(h: &str) -> String {
    let mut out = String::with_capacity(h.len() / 2);
    let mut rest = h;
    let mut pre = false;
    // A row's header cell was closed and no other cell has opened since.
    let mut after_th = false;
    let push_text = |out: &mut String, t: &str, pre: bool| {
        if pre {
            out.push_str(t);
        } else {
            out.extend(t.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }));
        }
    };
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt], pre);
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let closing = after[1..gt].starts_with('/');
        let tag = after[1..gt].trim_start_matches('/').to_ascii_lowercase();
        let is = |t: &str| {
            tag.strip_prefix(t)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\n', '\r']))
        };
        if ["br", "p", "div", "tr", "li", "h1", "h2", "h3", "table", "pre"]
            .iter()
            .any(|t| is(t))
        {
            out.push('\n');
            after_th = false;
        } else if is("td") || is("th") {
            // Table cells stand apart ("Recipient" | "a@x"), as a browser shows them; a row's
            // header cell then its value read as a label ("Remote server: mx.example.org").
            if is("td") && !closing && after_th {
                out.truncate(out.trim_end().len());
                if !out.ends_with([':', '：']) {
                    out.push(':');
                }
            }
            after_th = is("th") && closing;
            out.push(' ');
        }
        if is("pre") {
            pre = !closing;
        }
        let skip_to = if tag.starts_with("style") || tag.starts_with("script") {
            // Its closing tag, in any case: looked for at each `<`, not in a lower-cased copy
            // of the rest of the document for every such element.
            let end = format!("</{}", &tag[..tag.find(' ').unwrap_or(tag.len())]);
            let a = after.as_bytes();
            memchr::memchr_iter(b'<', a)
                .find(|&i| a[i..].get(..end.len()).is_some_and(|w| w.eq_ignore_ascii_case(end.as_bytes())))
                .unwrap_or(gt)
        } else {
            gt
        };
        rest = &after[skip_to.max(gt)..];
        rest = rest.get(rest.find('>').map(|i| i + 1).unwrap_or(rest.len())..).unwrap_or("");
    }
    push_text(&mut out, rest, pre);
    let text = decode_entities(&out);
    // Lines end where the tags said; spaces left at their ends by the source's line ends go.
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

/// `&amp;`, `&#x27;`, `&eacute;`, ... as the characters they stand for (mail-parser's own entity
/// table); a no-break space as a plain one. A `&` that starts no entity stays.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let name_len = after[1..]
            .find(';')
            .filter(|&n| n > 0 && n <= 10 && after[1..=n].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#'));
        match name_len {
            Some(n) => {
                mail_parser::decoders::html::add_html_token(&mut out, &after.as_bytes()[..n + 2], false);
                rest = &after[n + 2..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out.replace('\u{a0}', " ")
}

/// Part `i` (an HTML part) stands in a multipart/alternative, at any depth, that also holds a
/// plain-text part: that text says the same, and is read instead.
fn has_plain_alternative(msg: &Message<'_>, i: usize) -> bool {
    let is_plain = |p: &mail_parser::MessagePart<'_>| {
        matches!(p.body, PartType::Text(_))
            && p.content_type()
                .is_none_or(|c| c.ctype().eq_ignore_ascii_case("text") && c.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain")))
    };
    let parent = |child: usize| {
        msg.parts
            .iter()
            .position(|p| matches!(&p.body, PartType::Multipart(kids) if kids.iter().any(|&k| k as usize == child)))
    };
    // Every part below `at`, itself included.
    fn below(msg: &Message<'_>, at: usize, out: &mut Vec<usize>) {
        out.push(at);
        if let Some(PartType::Multipart(kids)) = msg.parts.get(at).map(|p| &p.body) {
            for &k in kids {
                // A tree, by mail-parser's making; the bound only guards against anything else.
                if k as usize != at && out.len() <= msg.parts.len() {
                    below(msg, k as usize, out);
                }
            }
        }
    }
    let mut at = i;
    for _ in 0..msg.parts.len() {
        let Some(up) = parent(at) else { break };
        let alternative = msg.parts[up]
            .content_type()
            .is_some_and(|c| c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("alternative")));
        if alternative {
            let mut all = Vec::new();
            below(msg, up, &mut all);
            return all.into_iter().any(|k| msg.parts.get(k).is_some_and(is_plain));
        }
        if up == at {
            break;
        }
        at = up;
    }
    false
}

/// A subject that answers another message ("Re: Invoice", "AW: ...", "SV: ...").
fn is_reply(subject: &str) -> bool {
    let s = subject.trim_start();
    ["re:", "aw:", "sv:", "vs:", "antw:", "odp:", "rif:", "r:"]
        .iter()
        .any(|p| starts_ci(s, p))
}

/// A subject that says its message forwards another ("Fwd:", and "WG:", "TR:", "RV:" as German,
/// French and Spanish mail programs write it).
pub fn is_forward(subject: &str) -> bool {
    let s = subject.trim_start();
    ["fwd:", "fw:", "wg:", "tr:", "rv:"].iter().any(|p| starts_ci(s, p))
}

/// What a bounce's Subject says ("Undeliverable: ..."), lower-case.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "returned mail",
    "delivery status",
    "delivery failure",
    "delivery failed",
    "failure notice",
    "could not be delivered",
    "not delivered",
    "delivery notification",
    "mail delivery",
    "non remis",
    "rejected",
    "returned to sender",
    "nondeliverable",
    "delivery has failed",
    // German, Spanish, Italian, Dutch, Portuguese notices.
    "unzustellbar",
    "nicht zugestellt",
    "no se puede entregar",
    "no entregado",
    "non recapitabile",
    "onbestelbaar",
    "não entregue",
];

/// The From field or the Subject reads like a bounce's (a mailer daemon's, "Undeliverable: ...").
fn headers_say_bounce(from_text: &str, subject: &str) -> bool {
    // The sender's name with its separators dropped: "post_master", "Mailer-Daemon", "Mail
    // Delivery System" and "mail.delivery" all read alike.
    let from: String = from_text
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let subject = subject.to_ascii_lowercase();
    // (MDaemon writes its notices as "MDaemon@host".)
    ["mailerdaemon", "mdaemon@", "postmaster", "maildelivery", "bounce"]
        .iter()
        .any(|p| from.contains(p))
        || BOUNCE_SUBJECTS.iter().any(|p| subject.contains(p))
}

#[cfg(test)]
mod tests {
    use super::Mail;

    fn mail(subject: &str, body: &str) -> Mail {
        let raw = format!("From: Someone <someone@example.org>\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n");
        Mail::parse(raw.as_bytes()).expect("parses")
    }

    #[test]
    fn html_reads_as_a_browser_shows_it() {
        let h = "<html><head><style>p{margin:0}</style></head><body><p>The address couldn&#x27;t\nbe found:<br>\n  \
                 <b>ann@example.com</b> &amp; bob&#64;example.com&nbsp;(550&nbsp;5.1.1)</p>\n<p>&unknown; &amp</p>\
                 <pre>line one\nline two</pre></body></html>";
        assert_eq!(
            super::strip_html(h),
            "\nThe address couldn't be found:\n   ann@example.com & bob@example.com (550 5.1.1)\n\n&unknown; &amp\n\nline one\nline two"
        );
        // A row's header cell and its value read as a label; a header row of a table, and a
        // label that has its colon, stay as they are.
        let t = "<table><tr><th>Host</th><th>Code</th></tr><tr><td>mx</td><td>550</td></tr>\
                 <tr><th>Remote server </th><td>mx.example.org</td></tr><tr><th>Stage:</th><td>RCPT</td></tr></table>";
        let text = super::strip_html(t);
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, ["Host  Code", "mx  550", "Remote server: mx.example.org", "Stage: RCPT"]);
    }

    #[test]
    fn blank_lines_above_the_header_are_not_an_empty_header() {
        let raw = "\n   \nFrom: postmaster@example.org\nSubject: Delivery Status Notification (Failure)\nMessage-ID: <own@example.org>\n\nText.\n";
        let m = Mail::parse(raw.as_bytes()).expect("parses");
        assert_eq!(m.from, "postmaster@example.org");
        assert_eq!(m.text.trim(), "Text.");
        // A text that is no header after them is left as it is.
        assert_eq!(super::after_blank_lines(b"\n\nHello there\n"), b"\n\nHello there\n");
        assert_eq!(super::after_blank_lines(b"From: a@b\n"), b"From: a@b\n");
    }

    #[test]
    fn html_is_read_unless_a_plain_alternative_says_the_same() {
        let alt = "From: a@example.org\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\nplain words\n--A\nContent-Type: text/html\n\n<p>html words</p>\n--A--\n";
        assert_eq!(Mail::parse(alt.as_bytes()).unwrap().text.trim(), "plain words");
        // An HTML notice beside a plain-text attachment (the returned headers) is the notice.
        let mixed = "From: a@example.org\nContent-Type: multipart/mixed; boundary=M\n\n--M\nContent-Type: text/html\n\n<p>html words</p>\n--M\nContent-Type: text/plain\n\nReceived: from x\n--M--\n";
        let text = Mail::parse(mixed.as_bytes()).unwrap().text;
        assert!(text.contains("html words"), "{text}");
    }

    #[test]
    fn a_parameter_that_lost_its_fold_still_belongs_to_its_field() {
        let raw = "From: post_master@gw.example.net\nSubject: Re: hello\nContent-Type: multipart/mixed; boundary=\"M\"\n\n--M\n\
                   Content-Type: multipart/alternative;\nboundary=\"A\"\n\n--A\nContent-Type: text/plain; charset=us-ascii\n\n\
                   Error: Invalid user address\n--A--\n--M--\n";
        let m = Mail::parse(raw.as_bytes()).expect("parses");
        assert_eq!(m.text.trim(), "Error: Invalid user address");
        // A body line that only looks like one is left alone.
        let plain = "From: a@example.org\nSubject: x\n\nboundary=\"A\" is what we set.\n";
        assert!(super::mend_broken_folds(plain.as_bytes()).is_none());
    }

    #[test]
    fn an_mta_notice_marked_auto_replied_is_no_vacation_reply() {
        let notice = |from: &str, body: &str| {
            let raw = format!("From: {from}\nAuto-Submitted: auto-replied\nSubject: Warning: message 1abc-22 delayed 24 hours\n\n{body}\n");
            Mail::parse(raw.as_bytes()).expect("parses")
        };
        let exim = "This message was created automatically by mail delivery software.\n\
                    A message that you sent has not yet been delivered to one or more of its recipients.";
        // Exim marks its warnings auto-replied; its signature says what they are, also when the
        // From field was rewritten to an ordinary address.
        assert_eq!(
            notice("Mail Delivery System <Mailer-Daemon@mx.example.org>", exim).not_bounce_kind(),
            None
        );
        assert_eq!(notice("<robot@mail.example.net>", exim).not_bounce_kind(), None);
        // A person's out-of-office answer is one.
        assert_eq!(
            notice("Ann <ann@example.org>", "I am away until Monday and will answer then.").not_bounce_kind(),
            Some("vacation")
        );
    }

    #[test]
    fn a_bounce_is_known_by_its_subject_or_first_words_in_several_languages() {
        assert!(mail("Unzustellbar: Angebot", "Hallo").looks_like_bounce());
        assert!(mail("Non remis : Devis", "Bonjour").looks_like_bounce());
        assert!(mail("Hallo", "Die Nachricht konnte nicht zugestellt werden.").looks_like_bounce());
        assert!(mail("Hola", "El mensaje no se pudo entregar a estos destinatarios.").looks_like_bounce());
        // Ordinary mail is not.
        assert!(!mail("Lunch on Friday?", "Shall we meet at noon?").looks_like_bounce());
    }
}
