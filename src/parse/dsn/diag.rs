//! Pieces of a diagnostic text shared by both bounce readers: addresses, the SMTP reply code,
//! the enhanced status code, the host that answered and the SMTP command it answered.

use super::mail::starts_ci;
use crate::parse::bytes::{is_ip, reply_code_at, status_at, without_ipv6_tag};
use crate::parse::smtp;
use regex::Regex;
use regex_automata::meta::Regex as MetaRegex;
use std::sync::{LazyLock, OnceLock};

/// A byte a local part may hold unquoted (RFC 5322 atext, and the dot).
pub fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c)
}

fn is_domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_'
}

/// Every `local@domain.tld` in a text: (byte offset, address lower-cased).
pub fn addresses(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let b = text.as_bytes();
    memchr::memchr_iter(b'@', b).filter_map(move |at| {
        let mut s = at;
        if at > 1 && b[at - 1] == b'"' {
            // A quoted local part (RFC 5321 quoted-string): `"a..b"@example.org`, kept quoted.
            let from = at.saturating_sub(66);
            if let Some(q) = b[from..at - 1].iter().rposition(|&c| c == b'"') {
                let inner = &b[from + q + 1..at - 1];
                if !inner.is_empty() && inner.iter().all(|&c| c > b' ' && c != b'"' && c != b'<' && c != b'>') {
                    s = from + q;
                }
            }
        }
        if s == at {
            while s > 0 && is_local_char(b[s - 1]) {
                s -= 1;
            }
        }
        // A local part does not start or end with a dot.
        while s < at && matches!(b[s], b'.' | b'\'' | b'=' | b'/') {
            s += 1;
        }
        // Exchange's address type glued on ("SMTP=kim@example.net").
        if b[s..at].len() > 5 && b[s..s + 5].eq_ignore_ascii_case(b"smtp=") {
            s += 5;
        }
        let mut e = at + 1;
        while e < b.len() && is_domain_char(b[e]) {
            e += 1;
        }
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let domain = &b[at + 1..e];
        if s == at || domain.len() < 3 || !domain.contains(&b'.') || domain.starts_with(b".") {
            return None;
        }
        let tld = domain.rsplit(|&c| c == b'.').next().unwrap_or(b"");
        if tld.is_empty() || !tld.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some((s, text[s..e].to_ascii_lowercase()))
    })
}

/// The first enhanced status code `x.y.z` in a text that is not part of an IP address or a
/// version number, with its offset.
pub fn status(text: &str) -> Option<(usize, String)> {
    // A failure's status: the first 4.x.x or 5.x.x; a 2.x.x (an accepted step of a transcript)
    // only when there is nothing else.
    let mut success = None;
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if !matches!(c, b'2' | b'4' | b'5') {
            continue;
        }
        // Glued to what stands before it, it is part of something else; but for the `-` of a
        // multi-line reply's first lines ("552-5.7.0 This message was blocked").
        let after_reply_code = i >= 4
            && b[i - 1] == b'-'
            && matches!(b[i - 4], b'2' | b'4' | b'5')
            && b[i - 3..i - 1].iter().all(u8::is_ascii_digit)
            && (i == 4 || !b[i - 5].is_ascii_alphanumeric());
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b'-' || b[i - 1] == b'_') && !after_reply_code {
            continue;
        }
        if let Some(s) = status_at(&b[i..]) {
            let end = i + s.len();
            // `5.1.1.2` or `2.0.0.1` are versions or addresses.
            if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let found = (i, String::from_utf8_lossy(s).into_owned());
            if c != b'2' {
                return Some(found);
            }
            success.get_or_insert(found);
        }
    }
    success
}

static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)(?:^|[\s:;(\[<>=#'"：“「])([245][0-9][0-9])(?:[ \-:\],]|$)"#).expect("code regex"));

/// The SMTP reply code of a text: the first 4xx/5xx followed by a status code, else the first
/// 4xx/5xx, else the first code (a 2xx of a transcript only when there is nothing else).
pub fn reply_code(text: &str) -> Option<(usize, String)> {
    let mut first: Option<(usize, String)> = None;
    let mut first_error: Option<(usize, String)> = None;
    for c in CODE.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let error = !m.as_str().starts_with('2');
        let after = &text[m.end()..];
        let after = after.trim_start_matches([' ', '-', '#', ':']);
        if error && status_at(after.as_bytes()).is_some() {
            return Some((m.start(), m.as_str().to_string()));
        }
        if error && first_error.is_none() {
            first_error = Some((m.start(), m.as_str().to_string()));
        }
        if first.is_none() {
            first = Some((m.start(), m.as_str().to_string()));
        }
    }
    first_error.or(first)
}

/// The reply code of a text as [`reply_code`] finds it, unless a session transcript quotes
/// the server's own error reply above it (`<<< 551 not our user`, then the reporting MTA's
/// summary "550 5.1.1 <a@b>... User unknown" or "554 5.0.0 Service unavailable"): then the
/// last such reply at or above it. A reply is a transcript line that starts with its code,
/// whichever way its marker points (`<<<`, or `>>>` as some write it), or Sendmail's record of
/// it below the address (`(reason: 550 Host does not accept mail)`).
pub fn answer_code(text: &str) -> Option<(usize, String)> {
    let found = reply_code(text)?;
    if !text.contains("<<") && !text.contains(">>") && !text.contains("(reason: ") {
        return Some(found);
    }
    let mut at = 0;
    let mut reply = None;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if start > found.0 {
            break;
        }
        // (Sendmail's "(reason: 550 ...)" below an address is the server's reply too.)
        let reason = line.trim_start().strip_prefix("(reason: ");
        let Some(payload) = reason.or_else(|| transcript_payload(line.trim_end())) else {
            continue;
        };
        if reply_code_at(payload.as_bytes()).is_some_and(|c| matches!(c[0], b'4' | b'5')) {
            let off = start + (payload.as_ptr() as usize - line.as_ptr() as usize);
            if off <= found.0 {
                reply = Some((off, payload[..3].to_string()));
            }
        }
    }
    Some(reply.unwrap_or(found))
}

/// Patterns tried in order behind one literal prefilter (`crate::prefilter`). Each is compiled
/// the first time the prefilter names it: a run that never meets a phrase does not pay for it
/// (one message from a `.forward` pipe meets few of them). A pattern whose matches start with
/// its literals is searched for only from where they stand (anchored: the leftmost match is the
/// first place one matches, as a match can start nowhere else).
struct Ordered {
    prefilter: crate::prefilter::Prefilter,
    patterns: Vec<&'static str>,
    each: Vec<OnceLock<MetaRegex>>,
}

/// The groups of one pattern's match in a text.
struct Caps<'t> {
    text: &'t str,
    caps: regex_automata::util::captures::Captures,
}

impl<'t> Caps<'t> {
    /// Group `i`'s text, if it took part in the match.
    fn get(&self, i: usize) -> Option<&'t str> {
        self.caps.get_group(i).map(|g| &self.text[g.range()])
    }

    /// Where the whole match starts.
    fn start(&self) -> usize {
        self.caps.get_match().map_or(0, |m| m.start())
    }
}

impl Ordered {
    fn new(patterns: &[&'static str]) -> Ordered {
        Ordered {
            prefilter: crate::prefilter::Prefilter::dense(patterns),
            patterns: patterns.to_vec(),
            each: patterns.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn regex(&self, i: usize) -> &MetaRegex {
        // Without a full DFA (built up front for a small pattern: a third of the patterns'
        // build time, and no faster than the lazy one on texts this short).
        self.each[i].get_or_init(|| {
            MetaRegex::builder()
                .configure(MetaRegex::config().dfa(false))
                .build(self.patterns[i])
                .expect("pattern")
        })
    }

    /// The first answer `f` gives for the match of a pattern, trying the patterns that match
    /// in pattern order (each pattern's leftmost match, with its index).
    fn find_map<'t, T>(&self, text: &'t str, mut f: impl FnMut(usize, &Caps<'t>) -> Option<T>) -> Option<T> {
        let mut answer = None;
        self.prefilter.first(text.as_bytes(), |i, starts| {
            let re = self.regex(i);
            let mut caps = re.create_captures();
            for input in crate::prefilter::searches(text.as_bytes(), starts) {
                re.search_captures(&input, &mut caps);
                if caps.is_match() {
                    break;
                }
            }
            if !caps.is_match() {
                return false;
            }
            answer = f(i, &Caps { text, caps });
            answer.is_some()
        });
        answer
    }
}

/// What opens each SMTP session of a Sendmail transcript, before the host it talked to
/// ("... while talking to mx.example.org.:"; Sendmail V5 writes "While talking to
/// example.org:"). Without its first letter, so a search finds both.
pub const SESSION_HEAD: &str = "hile talking to";

/// The server that wrote an Exchange notice, in its own words and in Office 365's ("Generating
/// server: x", "DSN generated by: x"): one of the [`HOSTS`], and what [`notice_host`] reads.
const GENERATING_SERVER: &str = r"(?i-u)(?:generating server|generierender server|serveur de génération|servidor de generación|servidor de geração|server di generazione|genererende server|生成元?サーバー|生成服务器|dsn generated by)\s?:\s*([a-z0-9][a-z0-9.-]*[a-z0-9])";

/// Patterns that name the host that answered. Group 1 is the name (or address); group 2, when
/// present, the address in brackets. First pattern that matches wins.
static HOSTS: LazyLock<Ordered> = LazyLock::new(|| {
    Ordered::new(&[
        r"(?i-u)(?-u:\b)remote[- ]mta:\s*(?:dns;\s*)?<?\[?([a-z0-9][a-z0-9.:-]*[a-z0-9])\]?>?",
        r"(?i-u)(?-u:\b)remote system:\s*dns;\s*([a-z0-9][a-z0-9.-]*[a-z0-9])(?:\s*\(TCP\|[0-9.]+\|[0-9]+\|([0-9.]+))?",
        r"(?i-u)(?-u:\b)host\s+([a-z0-9][a-z0-9.-]*[a-z0-9])\s*\[([0-9a-f.:]+|ipv6:[0-9a-f:]+)\]",
        // Postfix's LMTP or SMTP over a local socket: "host mail.example.org[private/dovecot-lmtp] said:".
        r"(?i-u)(?-u:\b)host\s+([a-z0-9][a-z0-9.-]*[a-z0-9])\[(?:private|public)/[a-z0-9._-]+\]\s+said",
        r"(?i-u)remote server at\s+([a-z0-9][a-z0-9.-]*[a-z0-9])\s*\(([0-9a-f.:]+)\)",
        // Exchange 2007 and later: the server it was handing the message to, named beside the
        // one that wrote the notice ("Receiving server: mx.example.org (192.0.2.1)"), and the
        // older "mx.example.org #550 5.1.1 ... ##" line.
        r"(?i-u)receiving server:\s*([a-z0-9][a-z0-9.-]*[a-z0-9])(?:\s*\(([0-9a-f.:]+)\))?",
        // A label for the server that answered ("Remote server: mx.example.org (198.51.100.1)").
        r"(?i-u)(?-u:\b)remote (?:server|host):[ \t]*([a-z0-9][a-z0-9.-]*[a-z0-9])(?:\s*\(([0-9a-f.:]+)\))?",
        r"(?im-u)^\s*([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\s+#[45][0-9][0-9][ -]",
        // Exchange 2003: "<mx.example.com #5.1.1 smtp;550 5.1.1 <a@b>... User unknown>".
        r"(?i-u)<([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+) #[45]\.[0-9]{1,3}\.[0-9]{1,3} smtp;",
        // hMailServer: "Remote server (192.0.2.77) issued an error."
        r"(?i-u)remote server \(([0-9a-f.:]+)\) issued",
        // Office 365's newer notices: "Message rejected by: x", and the server it last tried in
        // Microsoft's bracketed tags ("[LastAttemptedServerName=mx.example.org]
        // [LastAttemptedServerIP=192.0.2.1:25]"): before the server that wrote the notice.
        r"(?i-u)message rejected by:\s*([a-z0-9][a-z0-9.-]*[a-z0-9])",
        r"(?i-u)\[lastattemptedservername=([a-z0-9][a-z0-9.-]*[a-z0-9])\](?:\s*\[lastattemptedserverip=([0-9a-f.:]+?)(?::[0-9]{1,5})?\])?",
        // Exchange 2013 and later, in any language: the server that answered on a line of its
        // own, then its answer quoted ("mx1.example.org" / "Remote Server returned '550 ...'").
        r#"(?im)^[ \t]*([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)[ \t]*\r?\n[^\n]*?(?:'|"|“|「)[45][0-9][0-9][ -]"#,
        GENERATING_SERVER,
        r"(?i-u)rejected by the server for the recipient domain (?u:\S+) by ([a-z0-9][a-z0-9.-]*[a-z0-9])\.?\s*\[([0-9a-f.:]+)\]",
        r"(?i-u)(?-u:\b)([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\s*\[([0-9a-f.:]+)\]:?\s+(?:did not like|said|refused|rejected|replied|responded|failed with)",
        // SendGrid: "<a@b> : 192.0.2.250 : mx.example.jp:[192.0.2.153] :" (the last is the answering host).
        r"(?i-u)(?-u:\b)([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+):\[([0-9a-f.:]+)\][ \t]*:",
        // SurfControl: "a@example.com: [192.0.2.5], 550 ...".
        r"(?i-u)@[a-z0-9.-]+:[ \t]*\[([0-9a-f.:]+)\],[ \t]*[45][0-9][0-9]",
        r"(?im-u)^\s*([a-z0-9][a-z0-9.-]*[a-z0-9]) does not like recipient",
        r"(?i-u)(?-u:\b)host:\s*([a-z0-9][a-z0-9.-]*\.[a-z]{2,})(?-u:\b)(?:\s*\(([0-9a-f.:]+)\))?",
        r"(?i-u)(?-u:\b)(?:connect to|connecting to|connection to|lost connection with|conversation with)\s+([a-z0-9][a-z0-9.-]*[a-z0-9])(?::[0-9]{1,5})?\s*\[([0-9a-f.:]+)\]",
        r"(?i-u)(?-u:\b)smtp server <([a-z0-9][a-z0-9.:-]*)>",
        // Sendmail: "Deferred: Connection timed out with mx.example.net."
        r"(?i-u)(?-u:\b)connection (?:timed out|refused|reset) (?:with|by) ([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)",
        // Lotus Domino: "Error transferring to mail2.example.org; Maximum hop count exceeded".
        r"(?i-u)(?-u:\b)error transferring to ([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)",
        // MDaemon: "Attempting SMTP connection to [mx.example.net : 25]".
        r"(?i-u)(?-u:\b)attempting smtp connection to \[([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\s*:\s*[0-9]{1,5}\]",
        // "SMTP:RCPT host 192.0.2.1: 553 ...": a host or address, then its answer.
        r"(?i-u)(?-u:\b)host ([a-z0-9][a-z0-9.:-]*[a-z0-9]):\s+[45][0-9][0-9][ -]",
        // Courier: the host on a line of its own above the transcript ("mx.example.net [192.0.2.8]:").
        r"(?im-u)^[ \t]*([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)[ \t]*\[([0-9a-f.:]+)\]:[ \t]*\r?$",
        // qmail and its kin, by address only: "Connected to 192.0.2.1 but sender was rejected.",
        // "192.0.2.1 failed after I sent the message.", "Giving up on 192.0.2.1."
        r"(?i-u)(?-u:\b)connected to ([0-9a-f.:]*[0-9a-f]) but ",
        r"(?im-u)^[ \t]*([0-9a-f.:]*[0-9a-f]) failed after i sent",
        r"(?i-u)(?-u:\b)giving up on ([0-9a-f.:]*[0-9a-f])\.?(?:\s|$)",
        // Gmail's failed connection: "... requests to connect. [mx.example.org. 198.51.100.9: timed out]".
        r"(?i-u)\[([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\.? ([0-9a-f.:]+): [a-z][a-z ]*\]",
        // sendmail's transcript: "... while talking to mx1.example.com.:"
        r"(?i-u)(?-u:\b)while talking to ([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\.?:",
        r"(?i-u)(?-u:\b)(?:host|server|mx)\s+([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\s+(?:said|says|replied|responded|returned)",
    ])
});

/// The server an Exchange notice names once for all its recipients ("Generating server: x",
/// Office 365's "DSN generated by: x"), said of each recipient that names no other.
pub fn notice_host(text: &str) -> Option<String> {
    static NOTICE: LazyLock<Regex> = LazyLock::new(|| Regex::new(GENERATING_SERVER).expect("regex"));
    let name = &NOTICE.captures(text)?[1];
    name.contains('.').then(|| name.to_ascii_lowercase())
}

/// The host a text names as the one that answered: (name, address). A name that is an IP
/// address goes to the address.
pub fn remote_host(text: &str) -> (String, String) {
    let found = remote_host_exact(text);
    if found.0.is_empty() && found.1.is_empty() {
        // The phrase may be wrapped across lines ("host mx.example.com[192.0.2.1]\n said:").
        return remote_host_unwrapped(text);
    }
    found
}

/// The rest of [`remote_host`] once [`remote_host_exact`] found nothing in `text`: the text
/// unwrapped, if it has lines to unwrap.
pub fn remote_host_unwrapped(text: &str) -> (String, String) {
    on_unwrapped(text, remote_host_exact)
}

/// `find` on `text` unwrapped, if it has lines to unwrap; nothing otherwise (the text as
/// written was looked at already).
fn on_unwrapped<T: Default>(text: &str, find: impl Fn(&str) -> T) -> T {
    if text.contains('\n') {
        find(&unwrapped(text))
    } else {
        T::default()
    }
}

/// `text` with every run of white space, line breaks included, as one space.
fn unwrapped(text: &str) -> String {
    squeeze(text, usize::MAX)
}

/// As [`remote_host`], but the phrase as written only: for a first look at a part of a text
/// whose whole is looked at next (and unwrapped if need be).
pub fn remote_host_exact(text: &str) -> (String, String) {
    HOSTS
        .find_map(text, |_, c| {
            let name = c.get(1).unwrap_or("").trim_end_matches('.');
            let ip = without_ipv6_tag(c.get(2).unwrap_or(""));
            let ip = if is_ip(ip.as_bytes()) { ip.to_string() } else { String::new() };
            if is_ip(name.as_bytes()) {
                return Some((String::new(), if ip.is_empty() { name.to_string() } else { ip }));
            }
            if name.eq_ignore_ascii_case("localhost") || !name.contains('.') {
                return None;
            }
            Some((name.to_ascii_lowercase(), ip))
        })
        .unwrap_or_default()
}

/// The address a text gives beside `host` ("mx.example.jp [192.0.2.1]", "mx.example.jp
/// (192.0.2.1)"): the same server named with its address, so not a guess.
pub fn address_beside(text: &str, host: &str) -> Option<String> {
    // `host` is a lower-case name: candidates are where its first byte stands in either case,
    // compared in place (no lower-cased copy of the text for each recipient).
    let (t, h) = (text.as_bytes(), host.as_bytes());
    let &first = h.first()?;
    for at in memchr::memchr2_iter(first, first.to_ascii_uppercase(), t) {
        if !t[at..].get(..h.len()).is_some_and(|w| w.eq_ignore_ascii_case(h)) {
            continue;
        }
        if at > 0 && matches!(t[at - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.') {
            continue;
        }
        // The name and its address may stand on two lines ("host mx.example.jp\n    [192.0.2.1]").
        let after = text[at + h.len()..]
            .trim_start_matches('.')
            .trim_start_matches([' ', '\t', '\r', '\n']);
        let Some(inner) = after.strip_prefix(['[', '(']) else { continue };
        let ip = inner.split([']', ')', ',', ' ']).next().unwrap_or("");
        let ip = without_ipv6_tag(ip);
        if is_ip(ip.as_bytes()) {
            return Some(ip.to_ascii_lowercase());
        }
    }
    None
}

/// Postfix's "connect to mx.example.net[192.0.2.1]:25: Connection refused": no command reached.
const CONNECT_TO: &str = r"(?i-u)(?-u:\b)connect to [a-z0-9][a-z0-9.-]*\[[0-9a-f.:]+\](?::[0-9]+)?:";

/// What each of `COMMANDS` gives: a fixed command, or "" to name it from the first group.
const COMMAND_PATTERNS: &[(&str, &str)] = &[
    (
        r"(?i-u)in reply to (rcpt to|mail from|end of data|data|ehlo|helo|starttls|auth|quit)(?-u:\b)",
        "",
    ),
    (
        r"(?i-u)(?-u:\b)after (?:pipelined )?(rcpt to|mail from|end of data|data|ehlo|helo|starttls|auth|quit|initial connection)(?-u:\b)",
        "",
    ),
    (r"(?i-u)(?-u:\b)(rcpt|mail|data|ehlo|helo) command(?-u:\b)", ""),
    (r"(?i-u)did not like our (rcpt to|mail from|final data|data|ehlo|helo)", ""),
    (r"(?i-u)\[(rcpt_to|mail_from|data)\]", ""),
    (r"(?i-u)(?-u:\b)smtp:(rcpt|mail|data|ehlo|helo)(?-u:\b)", ""),
    (r"(?i-u)(?:sent:?|>>>|<<<)\s*(rcpt to|mail from|data|ehlo|helo)(?-u:\b)", ""),
    (
        r"(?i-u)(?-u:\b)(?:while|during)\s+(?:(?:sending|performing)\s+)?(?:the\s+)?(rcpt to|mail from|end of data|data|ehlo|helo|message body)(?-u:\b)",
        "",
    ),
    (r"(?i-u)\((data|rcpt|mail)\)", ""),
    // qmail: "192.0.2.1 does not like recipient." / "... does not like sender.", "... failed
    // after I sent the message.", "Connected to ... but sender was rejected." / "... but greeting
    // failed."
    (r"(?i-u)does not like recipient", "RCPT"),
    (r"(?i-u)does not like sender", "MAIL"),
    (r"(?i-u)failed after i sent the message", "DATA"),
    (r"(?i-u)but sender was rejected", "MAIL"),
    (r"(?i-u)but greeting failed", "CONN"),
    (r"(?i-u)but my name was rejected", "HELO"),
    // qmail's "no SMTP connection got far enough; most progress was RCPT TO".
    (r"(?i-u)most progress was (rcpt to|mail from|data|ehlo|helo)(?-u:\b)", ""),
    // m-FILTER: "SMTP command" then the command; Exim-like "for TEXT command" (the message text).
    (
        r"(?i-u)smtp command\s*:?\s*(rcpt(?: to)?|mail(?: from)?|data|ehlo|helo)(?-u:\b)",
        "",
    ),
    (r"(?i-u)for text command", "DATA"),
    // 1&1: "SMTP error from remote server for RCPT TO command, host: ...".
    (r"(?i-u)(?-u:\b)for (rcpt to|mail from|data) command(?-u:\b)", ""),
    // IMail: the stage each answer came in, above it ("Additional RCPT TO generated following
    // response:", "Server response to MAIL FROM:", "Unexpected response to EHLO/HELO:").
    (r"(?i-u)additional (rcpt to) generated", ""),
    (r"(?i-u)server response to (mail from)", ""),
    (r"(?i-u)unexpected response to (ehlo)/helo", ""),
    (r"(?i-u)smtp connection failed,|unexpected connection response from server", "CONN"),
    // SendGrid: "550 5.1.1 <a@b>... User Unknown  in RCPT TO" at the end of the answer's line.
    (r"(?im-u)[ \t]in (rcpt to|mail from|end of data|data)[ \t]*$", ""),
    (r"(?i-u)initial server greeting|upon connection|on connect", "CONN"),
    // A connection that never got as far as a command, as the Postfix log reader has it:
    // "connect to mx.example.net[192.0.2.1]:25: Connection refused", "refused to talk to me",
    // sendmail's "Connection timed out with mx.example.net", qmail's "wasn't able to establish
    // an SMTP connection".
    (CONNECT_TO, "CONN"),
    (
        r"(?i-u)refused to talk to me|establish an smtp connection|connection (?:refused|timed out) with |did not accept our requests to connect",
        "CONN",
    ),
    // Gmail's older notices end the other server's answer with the state its SMTP client was
    // in ("... User unknown (state 14)."): 13 the greeting and EHLO, 14 the recipients, 15 to
    // 18 the message; 6 and 9 are its STARTTLS (after MAIL FROM was answered), 8 and 12 its AUTH.
    (r"\(state 6\)", "MAIL"),
    (r"\(state (?:8|9|12)\)", "AUTH"),
    (r"\(state 13\)", "EHLO"),
    (r"\(state 14\)", "RCPT"),
    (r"\(state 1[5-8]\)", "DATA"),
];

static COMMANDS: LazyLock<Ordered> = LazyLock::new(|| Ordered::new(&COMMAND_PATTERNS.iter().map(|(p, _)| *p).collect::<Vec<_>>()));

/// The SMTP command a text says the error answered (CONN, HELO, EHLO, MAIL, RCPT, DATA, ...).
pub fn command(text: &str) -> String {
    // The first pattern that matches names it; a phrase wrapped across lines ("in reply to
    // RCPT TO\n    command") is found in the text unwrapped.
    match command_exact(text) {
        c if c.is_empty() => command_unwrapped(text),
        c => c,
    }
}

/// The rest of [`command`] once [`command_exact`] found nothing in `text`: the text unwrapped,
/// if it has lines to unwrap.
pub fn command_unwrapped(text: &str) -> String {
    on_unwrapped(text, command_in)
}

/// As [`command`], but the phrase as written only: for a first look at a part of a text whose
/// whole is looked at next (and unwrapped if need be).
pub fn command_exact(text: &str) -> String {
    transcript_command(text).unwrap_or_else(|| command_in(text))
}

fn command_in(text: &str) -> String {
    // A connection failure quoted inside a server's answer ("450 4.1.2 <a@b>: Recipient address
    // rejected: unverified address: connect to mx[ip]:25: ...") is that server's, not ours.
    let quoted = |c: &Caps| {
        let at = c.start();
        // (Since the paragraph's start: a folded answer goes on over several lines.)
        reply_code(&text[text[..at].rfind("\n\n").map_or(0, |n| n + 2)..at]).is_some_and(|c| !c.1.starts_with('2'))
    };
    COMMANDS
        .find_map(text, |i, c| {
            if COMMAND_PATTERNS[i].0 == CONNECT_TO && quoted(c) {
                return None;
            }
            let fixed = COMMAND_PATTERNS[i].1;
            if !fixed.is_empty() {
                return Some(fixed.to_string());
            }
            let phrase = c.get(1).unwrap_or("").replace('_', " ");
            if phrase.eq_ignore_ascii_case("initial connection") {
                return Some("CONN".into());
            }
            Some(smtp::command(&phrase))
        })
        .unwrap_or_default()
}

/// What a transcript line carries after its direction marker (`>>>`, `<<<`, `>>`, `<<`, `-->`,
/// `<--`), at the start of the line or after a time stamp (`Wed 2026-03-04 09:11:59: << RCPT
/// To:<a@b>`).
pub fn transcript_payload(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let after = if l.starts_with(['>', '<']) || l.starts_with("-->") || l.starts_with("In: ") || l.starts_with("Out: ") {
        l
    } else {
        // ": >>" anywhere before ": <<" (or ": -->", ": <--"), looked for at each colon (no
        // searcher built per line).
        let b = l.as_bytes();
        let after_colon = |m: &[u8]| memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(m));
        let at = [&b" >>"[..], b" <<", b" -->", b" <--"].into_iter().find_map(after_colon)?;
        &l[at + 2..]
    };
    // The longer marker first; then Postfix's transcript of what it received: "In: DATA",
    // "Out: 451 4.3.0 Error: ...".
    const MARKERS: [&str; 8] = [">>>", "<<<", "-->", "<--", ">>", "<<", "In:", "Out:"];
    let rest = MARKERS.into_iter().find_map(|m| after.strip_prefix(m))?;
    rest.starts_with([' ', '\t']).then(|| rest.trim_start())
}

/// A transcript line's payload that is a server's reply: it starts with a three-digit code.
fn is_server_reply(payload: &str) -> bool {
    let b = payload.as_bytes();
    b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) && !b.get(3).is_some_and(u8::is_ascii_digit)
}

/// What a session transcript says of its envelope: the addresses the client gave in MAIL FROM,
/// and the recipients whose RCPT TO was accepted in a session whose message was accepted too
/// (its end of data answered 2xx). Neither is a failed recipient.
#[derive(Default)]
pub struct Envelope {
    pub senders: Vec<String>,
    pub accepted: Vec<String>,
}

pub fn transcript_envelope(text: &str) -> Envelope {
    let mut env = Envelope::default();
    // (No direction marker anywhere: no transcript to read line by line.)
    let b = text.as_bytes();
    if ![&b">>"[..], b"<<", b"In:", b"Out:", b"-->", b"<--"]
        .iter()
        .any(|m| memchr::memmem::find(b, m).is_some())
    {
        return env;
    }
    // The recipient the last sent line named, and each one's first answer's class.
    let mut rcpt: Option<String> = None;
    let mut answered: Vec<(String, u8)> = Vec::new();
    // After a 354 the next answer is the end of data's.
    let (mut in_data, mut data_ok) = (false, false);
    for line in text.lines() {
        let Some(payload) = transcript_payload(line) else {
            continue;
        };
        let b = payload.as_bytes();
        if !is_server_reply(payload) {
            rcpt = None;
            if starts_ci(payload, "mail from:") {
                env.senders.extend(addresses(payload).next().map(|(_, a)| a));
            } else if starts_ci(payload, "rcpt to:") {
                rcpt = addresses(payload).next().map(|(_, a)| a);
            }
            continue;
        }
        if in_data {
            (in_data, data_ok) = (false, b[0] == b'2');
        } else if payload.starts_with("354") {
            in_data = true;
        }
        if let Some(a) = rcpt.take() {
            if !answered.iter().any(|(x, _)| *x == a) {
                answered.push((a, b[0]));
            }
        }
    }
    if data_ok {
        env.accepted = answered.into_iter().filter(|(_, c)| *c == b'2').map(|(a, _)| a).collect();
    }
    env
}

/// The first refusal (a 4xx or 5xx answer) in a session transcript: the exchange from the line
/// that sent the command it answered to the end of the answer (its wrapped lines too).
pub fn first_refusal(text: &str) -> Option<&str> {
    let mut at = 0;
    let mut sent = None;
    let mut from = None;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let Some(payload) = transcript_payload(line.trim_end()) else {
            continue;
        };
        if from.is_some() {
            return from.map(|f| &text[f..start]);
        }
        if !is_server_reply(payload) {
            sent = Some(start);
        } else if payload.starts_with(['4', '5']) {
            from = Some(sent.unwrap_or(start));
        }
    }
    from.map(|f| &text[f..])
}

/// In a session transcript (">>> RCPT To:<a@b>" then "<<< 550 ...", or the other way round as
/// some servers write it), the command that drew the first error reply: the last line sent
/// before it. A line is a reply when it starts with a reply code, whatever its marker.
fn transcript_command(text: &str) -> Option<String> {
    let mut last: Option<&str> = None;
    // Right after Sendmail's session head ("... while talking to mx.example.org.:"), nothing
    // sent yet: a refusal there is the server's greeting, unless a later session (the next MX)
    // got further.
    let mut at_head = false;
    let mut greeting = None;
    for line in text.lines() {
        let Some(payload) = transcript_payload(line) else {
            if line.contains(SESSION_HEAD) {
                (at_head, last) = (true, None);
            }
            continue;
        };
        if !is_server_reply(payload) {
            (at_head, last) = (false, Some(payload));
        } else if payload.starts_with(['4', '5']) {
            if last.is_none() && at_head {
                greeting = Some("CONN".to_string());
                continue;
            }
            let Some(sent) = last else { return greeting };
            let verb: String = sent.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let c = match verb.to_ascii_uppercase().as_str() {
                "RCPT" => "RCPT",
                "MAIL" => "MAIL",
                "DATA" => "DATA",
                "EHLO" => "EHLO",
                "HELO" => "HELO",
                "STARTTLS" => "STARTTLS",
                "AUTH" => "AUTH",
                "QUIT" => "QUIT",
                // The message body's end: "." is the end of DATA.
                "" if sent.trim() == "." => "DATA",
                _ => return greeting,
            };
            return Some(c.to_string());
        }
    }
    greeting
}

/// Collapse white space (line breaks included) to single spaces, and cut long texts.
pub fn squeeze(text: &str, max: usize) -> String {
    let mut s = String::with_capacity(text.len().min(max.saturating_add(4)));
    for w in text.split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
        if s.len() >= max {
            let mut cut = max;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            break;
        }
    }
    s
}

/// Exchange lists each delivery attempt on a dated line ("3/09/2016 8:05:56 PM - Remote Server
/// at mx.example.net (192.0.2.10) returned '550 4.4.7 QUEUE.Expired; message expired'"): with
/// several, the last one is the answer, up to its paragraph's end (a notice's line width may
/// wrap it; the whole rest of a squeezed text).
pub fn last_attempt(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let mut attempts = lower.match_indices(" - remote server at").map(|(at, _)| at);
    attempts.next()?;
    let last = attempts.last()?;
    let rest = &text[last..];
    Some(rest.find("\n\n").map_or(rest, |e| &rest[..e]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_reply_over_the_reporting_mtas_summary() {
        let t = "<a@x.example>\n    (reason: 550 Host does not accept mail)\n\n--- Transcript ---\n554 5.0.0 Service unavailable\n";
        assert_eq!(reply_code(t).unwrap().1, "554");
        assert_eq!(answer_code(t).unwrap().1, "550");
        // The last reply at or above the code taken: the first MX's deferral is not it.
        let t = "... while talking to mx1:\n<<< 450 busy\n... while talking to mx2:\n>>> DATA\n<<< 551 not our user\n550 5.1.1 <a@x>... User unknown\n<<< 503 need RCPT\n";
        assert_eq!(answer_code(t).unwrap().1, "551");
        // A reply that is itself the code taken stays; a reply below it is not looked at.
        let t = "<<< 450 busy\n<<< 550 5.1.1 <a@x>... User unknown\n";
        assert_eq!(answer_code(t).unwrap().1, "550");
        let t = "a@x... 550 Host unknown\nWhile talking to y:\n<<< 421 Sorry\n";
        assert_eq!(answer_code(t).unwrap().1, "550");
    }

    #[test]
    fn every_host_and_command_pattern_compiles() {
        // They are compiled on first use; a typo must not wait for the message that meets it.
        for list in [&*HOSTS, &*COMMANDS] {
            for i in 0..list.patterns.len() {
                assert!(list.regex(i).captures_len() >= 1, "{}", list.patterns[i]);
            }
        }
    }

    #[test]
    fn the_address_named_beside_a_host() {
        let t = "<a@example.jp>:\n    MX3.example.jp [203.0.113.45]:\n>>> RCPT TO:<a@example.jp>";
        assert_eq!(address_beside(t, "mx3.example.jp").as_deref(), Some("203.0.113.45"));
        assert_eq!(
            address_beside("via mx.example.jp. (192.0.2.1)", "mx.example.jp").as_deref(),
            Some("192.0.2.1")
        );
        // Another host that ends the same way, or no address beside it: nothing.
        assert_eq!(address_beside("smx3.example.jp [203.0.113.45]", "mx3.example.jp"), None);
        assert_eq!(address_beside("mx3.example.jp said: 550", "mx3.example.jp"), None);
        assert_eq!(
            address_beside("mx.example.jp [IPv6:2001:DB8::1]", "mx.example.jp").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(address_beside("any text", ""), None);
    }

    #[test]
    fn finds_addresses() {
        let v: Vec<_> = addresses("to <a.b@example.com>, c@x.example.net. and 1.2@3.4")
            .map(|(_, a)| a)
            .collect();
        assert_eq!(v, ["a.b@example.com", "c@x.example.net"]);
    }

    #[test]
    fn codes() {
        assert_eq!(reply_code("said: 550 5.1.1 <a@b.example>").map(|c| c.1), Some("550".into()));
        assert_eq!(reply_code("Size: 222 and 421 4.4.2 x").map(|c| c.1), Some("421".into()));
        assert_eq!(status("host 192.0.2.153 said 5.2.2 full").map(|c| c.1), Some("5.2.2".into()));
        assert_eq!(status("(#5.1.1 - chkusr)").map(|c| c.1), Some("5.1.1".into()));
        assert_eq!(status("version 2.0.0.1"), None);
        // The first line of a multi-line reply; but not a status glued to other words.
        assert_eq!(
            status("(reason: 552-5.7.0 This message was blocked)").map(|c| c.1),
            Some("5.7.0".into())
        );
        assert_eq!(status("id x-5.1.1 and ab552-5.7.0"), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            remote_host("host mx.example.net [192.0.2.1]: 550 no"),
            ("mx.example.net".into(), "192.0.2.1".into())
        );
        assert_eq!(
            remote_host("192.0.2.153 does not like recipient."),
            (String::new(), "192.0.2.153".into())
        );
        assert_eq!(
            remote_host("Remote-MTA: dns; mx.example.com"),
            ("mx.example.com".into(), String::new())
        );
    }

    #[test]
    fn failure_codes_before_success_codes() {
        let t = "Out: 250 2.1.5 Ok In: DATA Out: 451 4.3.0 Error: queue file write error";
        assert_eq!(status(t).unwrap().1, "4.3.0");
        assert_eq!(reply_code(t).unwrap().1, "451");
        assert_eq!(status("250 2.0.0 queued").unwrap().1, "2.0.0");
        assert_eq!(reply_code("ERROR_CODE :550, ERROR_CODE :5.1.1").unwrap().1, "550");
    }

    #[test]
    fn quoted_local_parts_stay_quoted() {
        let a: Vec<String> = addresses("550 5.1.1 <\"neko..nyaan.\"@example.org>... User Unknown")
            .map(|x| x.1)
            .collect();
        assert_eq!(a, vec!["\"neko..nyaan.\"@example.org".to_string()]);
        let a: Vec<String> = addresses("say \"hi\" to bob@example.org").map(|x| x.1).collect();
        assert_eq!(a, vec!["bob@example.org".to_string()]);
    }

    #[test]
    fn commands() {
        assert_eq!(command("SMTP error from remote mail server after RCPT TO:<a@b>"), "RCPT");
        assert_eq!(
            command("SMTP error from remote mail server after pipelined MAIL FROM:<a@b> SIZE=1"),
            "MAIL"
        );
        assert_eq!(command("Connected to 192.0.2.1 but my name was rejected."), "HELO");
        assert_eq!(
            remote_host("<mx.example.com #5.1.1 smtp;550 5.1.1 <a@example.com>... User unknown>").0,
            "mx.example.com"
        );
        assert_eq!(command("(in reply to end of DATA command)"), "DATA");
        assert_eq!(command("User Unknown [RCPT_TO]"), "RCPT");
        assert_eq!(command("nothing"), "");
        let t = ">>> MAIL From:<a@b.example> SIZE=1\n<<< 250 ok\n>>> RCPT To:<c@d.example>\n<<< 550 5.1.1 no\n";
        assert_eq!(command(t), "RCPT");
        assert_eq!(remote_host("... while talking to mx1.example.com.:\n>>> DATA").0, "mx1.example.com");
        // qmail's own wordings.
        assert_eq!(
            command("192.0.2.1 failed after I sent the message.\nRemote host said: 554 no"),
            "DATA"
        );
        assert_eq!(command("Connected to 192.0.2.1 but sender was rejected."), "MAIL");
        assert_eq!(command("Connected to 192.0.2.1 but greeting failed."), "CONN");
        // Postfix's "In:"/"Out:" transcript, and answers marked the other way round.
        let t = "Out: 250 2.1.5 Ok\nIn: DATA\nOut: 354 End data\nOut: 451 4.3.0 Error: queue file write error\n";
        assert_eq!(command(t), "DATA");
        let t = "Mon 09:11:59: << RCPT To:<c@d.example>\nMon 09:11:59: >> 550 5.2.2 full\n";
        assert_eq!(command(t), "RCPT");
        // A 2xx answer is no failure's; "In:" in running text is no transcript.
        assert_eq!(command("In: the morning\n>>> QUIT\n<<< 221 bye\n"), "");
        assert_eq!(command("-------SMTP command\nDATA\n"), "DATA");
        assert_eq!(command("-------SMTP command\nRCPT\n"), "RCPT");
        assert_eq!(command("-------SMTP command\nMAIL\n"), "MAIL");
        // A connection that failed before any command: CONN, as in the Postfix log.
        assert_eq!(command("connect to mx.example.net[192.0.2.1]:25: Connection refused"), "CONN");
        assert_eq!(command("host mx.example.net[192.0.2.1] refused to talk to me: 421 busy"), "CONN");
        assert_eq!(command("Deferred: Connection timed out with mx.example.net."), "CONN");
        assert_eq!(command("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"), "CONN");
        assert_eq!(command("rejected the message\nduring RCPT TO with: 550 5.4.1 denied"), "RCPT");
        let gmail = "The recipient server did not accept our requests to connect. [mx.example.org. 198.51.100.9: timed out]";
        assert_eq!(command(gmail), "CONN");
        assert_eq!(remote_host(gmail), ("mx.example.org".to_string(), "198.51.100.9".to_string()));
        // ... but a command named anywhere in the text comes first.
        assert_eq!(
            command("lost connection with mx.example.net[192.0.2.1] while sending RCPT TO"),
            "RCPT"
        );
        assert_eq!(command("SMTP error from remote server for TEXT command, host: mx"), "DATA");
        assert_eq!(command("was: 550 550 5.1.1 user unknown (state 14)."), "RCPT");
        assert_eq!(command("was: 554 554 5.7.1 Client host [192.0.2.9] blocked (state 13)."), "EHLO");
        assert_eq!(command("was: 554 554 5.7.0 Header error (state 18)."), "DATA");
        assert_eq!(command("a state 14 of mind"), "");
        assert_eq!(command("500 Remote server does not support TLS (state 6)."), "MAIL");
        assert_eq!(command("535 SMTP AUTH failed with the remote server. (state 8)."), "AUTH");
        assert_eq!(
            command("500 Remote server does not support SMTP Authenticated Relay (state 12)."),
            "AUTH"
        );
        // Unwrapping squeezes with no cut at all (found by fuzzing: `max + 4` overflowed).
        assert_eq!(squeeze("a  b\n\tc ", usize::MAX), "a b c");
        // Phrases wrapped across lines, as a notice's own line width breaks them.
        assert_eq!(command("said: 550 5.1.1 unknown (in reply to RCPT TO\n    command)"), "RCPT");
        assert_eq!(
            remote_host("delivery temporarily suspended: lost connection\nwith mx.example.com[192.0.2.9] while sending"),
            ("mx.example.com".to_string(), "192.0.2.9".to_string())
        );
    }
}
