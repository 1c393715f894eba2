//! Pieces of a diagnostic text shared by both bounce readers: addresses, the SMTP reply code,
//! the enhanced status code and session transcripts (the host that answered and the command it
//! answered are `answer`'s).

use super::mail::starts_ci;
use crate::parse::bytes::{reply_code_at, status_at};
use regex::Regex;
use std::sync::LazyLock;

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
        let after = &text[m.end()..];
        // A telephone number in a notice's help text ("Customer Support at 480-624-2500", "call
        // 555-0100") is no reply: a continuation line's code is followed by words or a status.
        if after
            .strip_prefix('-')
            .is_some_and(|r| r.bytes().take_while(u8::is_ascii_digit).count() >= 3)
        {
            continue;
        }
        let error = !m.as_str().starts_with('2');
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

/// What opens each SMTP session of a Sendmail transcript, before the host it talked to
/// ("... while talking to mx.example.org.:"; Sendmail V5 writes "While talking to
/// example.org:"). Without its first letter, so a search finds both.
pub const SESSION_HEAD: &str = "hile talking to";

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
pub fn transcript_command(text: &str) -> Option<String> {
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
        // A telephone number is no reply; a continuation line's code still is.
        assert_eq!(reply_code("contact Customer Support at 480-624-2500."), None);
        assert_eq!(reply_code("call (480) 505-8877 or 555-0100"), None);
        assert_eq!(reply_code("550-5.1.1 The email account").map(|c| c.1), Some("550".into()));
        assert_eq!(reply_code("550-Mailbox unknown").map(|c| c.1), Some("550".into()));
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
}
