//! Postfix log lines: pure parsing, bytes in, events out (`queue.rs` correlates them).
//!
//! A line is a Postfix line when its program tag ends in a Postfix daemon name
//! (`postfix/smtp`, `postfix-out/qmgr`, `postfix/submission/smtpd`, ...).

pub mod queue;

use super::bytes::{find, host_bracket, is_ip, kv, reply_code_at, status_after_code, status_at, trim};
use super::smtp;

/// Daemons whose lines we read.
const DAEMONS: [&[u8]; 16] = [
    b"smtp",
    b"lmtp",
    b"local",
    b"virtual",
    b"pipe",
    b"error",
    b"retry",
    b"discard",
    b"smtpd",
    b"postscreen",
    b"cleanup",
    b"qmgr",
    b"pickup",
    b"bounce",
    b"trivial-rewrite",
    b"oqmgr",
];

/// The service name of a Postfix program tag (`postfix-out/smtp` -> `smtp`), or None when the
/// tag is not a Postfix daemon's.
pub fn service(program: &[u8]) -> Option<&[u8]> {
    let slash = memchr::memrchr(b'/', program)?;
    let svc = &program[slash + 1..];
    DAEMONS.contains(&svc).then_some(svc)
}

/// What a Postfix line says.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Nothing that matters to failures or the Grand Totals.
    Other,
    /// A message entered the queue (smtpd `client=`, pickup `uid= from=`).
    Received {
        qid: &'a [u8],
    },
    MessageId {
        qid: &'a [u8],
        id: &'a [u8],
    },
    /// qmgr `from=<...>, size=...`.
    QueueFrom {
        qid: &'a [u8],
        sender: &'a [u8],
    },
    Removed {
        qid: &'a [u8],
    },
    Delivery(Delivery<'a>),
    /// qmgr `from=<...>, status=expired, returned to sender`.
    Expired {
        qid: &'a [u8],
        sender: Option<&'a [u8]>,
    },
    Reject(Reject<'a>),
    Hold {
        qid: &'a [u8],
    },
    Discard {
        qid: &'a [u8],
    },
    /// cleanup `warning: header|body ...` (pflogsumm counts these as reject warnings).
    HeaderWarning,
    /// Looked like a failure, could not be read.
    Unparsed(&'static str),
}

/// A `to=<...>, relay=..., dsn=..., status=... (text)` line.
#[derive(Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    pub qid: &'a [u8],
    pub to: Option<&'a [u8]>,
    pub orig_to: Option<&'a [u8]>,
    pub relay: Option<&'a [u8]>,
    pub dsn: Option<&'a [u8]>,
    pub status: &'a [u8],
    /// The text inside the parentheses after `status=...` (outer pair).
    pub text: &'a [u8],
}

/// `reject:`, `reject_warning:`, `milter-reject:` and cleanup `reject: header|body` lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    /// None for NOQUEUE.
    pub qid: Option<&'a [u8]>,
    pub warning: bool,
    /// The verb (`RCPT`, `MAIL`, `CONNECT`, `END-OF-MESSAGE`, `header`, `body`, ...).
    pub verb: &'a [u8],
    pub client_name: &'a [u8],
    pub client_ip: &'a [u8],
    /// From the reply code up to the envelope part (`; from=<`).
    pub text: &'a [u8],
    pub from: Option<&'a [u8]>,
    pub to: Option<&'a [u8]>,
}

/// A queue id (`4F3A21C0B2`, `3mPVKl0Mhjz7sXv`, `NOQUEUE`) and the message after `: `.
pub fn split_qid(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', msg)?;
    let id = &msg[..colon];
    if id.len() < 5 || id.len() > 32 || !id.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let rest = &msg[colon + 1..];
    Some((id, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// Parse the message part of a Postfix line of daemon `svc`.
pub fn parse<'a>(svc: &[u8], msg: &'a [u8]) -> Event<'a> {
    let Some((qid, rest)) = split_qid(msg) else {
        return Event::Other;
    };
    let noqueue = qid == b"NOQUEUE";
    match svc {
        b"smtpd" | b"postscreen" => {
            if let Some(r) = rest.strip_prefix(b"reject: ") {
                return reject(qid, noqueue, false, r);
            }
            if let Some(r) = rest.strip_prefix(b"reject_warning: ") {
                return reject(qid, noqueue, true, r);
            }
            if !noqueue && rest.starts_with(b"client=") {
                return Event::Received { qid };
            }
            if let Some(r) = rest.strip_prefix(b"milter-reject: ") {
                return reject(qid, noqueue, false, r);
            }
            if rest.starts_with(b"discard: ") {
                return Event::Discard { qid };
            }
            if rest.starts_with(b"hold: ") {
                return Event::Hold { qid };
            }
            Event::Other
        }
        b"cleanup" => {
            if let Some(r) = rest.strip_prefix(b"message-id=") {
                let id = trim(r);
                let id = id.strip_prefix(b"<").and_then(|i| i.strip_suffix(b">")).unwrap_or(id);
                return Event::MessageId { qid, id };
            }
            if let Some(r) = rest.strip_prefix(b"milter-reject: ") {
                return reject(qid, noqueue, false, r);
            }
            if let Some(r) = rest.strip_prefix(b"reject: ") {
                return cleanup_reject(qid, noqueue, r);
            }
            if rest.starts_with(b"hold: ") {
                return Event::Hold { qid };
            }
            if rest.starts_with(b"discard: ") {
                return Event::Discard { qid };
            }
            if rest.starts_with(b"warning: header ") || rest.starts_with(b"warning: body ") {
                return Event::HeaderWarning;
            }
            Event::Other
        }
        b"qmgr" | b"oqmgr" => {
            if rest == b"removed" || rest.starts_with(b"removed ") {
                return Event::Removed { qid };
            }
            if rest.starts_with(b"from=") {
                let head_end = find(rest, b", status=").unwrap_or(rest.len());
                let sender = kv(&rest[..head_end], b"from");
                if let Some(st) = find(rest, b"status=") {
                    let word = &rest[st + 7..];
                    if word.starts_with(b"expired") || word.starts_with(b"force-expired") {
                        return Event::Expired { qid, sender };
                    }
                    return Event::Other;
                }
                return match sender {
                    Some(s) => Event::QueueFrom { qid, sender: s },
                    None => Event::Other,
                };
            }
            Event::Other
        }
        b"pickup" => {
            if rest.starts_with(b"uid=") || rest.starts_with(b"sender=") {
                Event::Received { qid }
            } else {
                Event::Other
            }
        }
        _ => delivery(qid, rest),
    }
}

fn delivery<'a>(qid: &'a [u8], rest: &'a [u8]) -> Event<'a> {
    // The key list ends where ", status=" starts; the text after it is free.
    let Some(st) = find(rest, b", status=").or_else(|| rest.starts_with(b"status=").then_some(0).map(|_| 0)) else {
        return Event::Other;
    };
    let head = &rest[..st];
    let after = if st == 0 && rest.starts_with(b"status=") {
        &rest[7..]
    } else {
        &rest[st + 9..]
    };
    let word_len = after.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'-').count();
    let status = &after[..word_len];
    let tail = &after[word_len..];
    let text = paren_text(tail);
    let to = kv(head, b"to");
    if to.is_none() && matches!(status, b"bounced" | b"deferred" | b"expired" | b"force-expired") {
        return Event::Unparsed("delivery status line without to=<...>");
    }
    Event::Delivery(Delivery {
        qid,
        to,
        orig_to: kv(head, b"orig_to"),
        relay: kv(head, b"relay"),
        dsn: kv(head, b"dsn"),
        status,
        text,
    })
}

/// The text in the outer parentheses of ` (text)`: up to the last `)` when the line ends with
/// one, to the end of the line when the line was cut before it.
fn paren_text(tail: &[u8]) -> &[u8] {
    let t = trim(tail);
    let Some(inner) = t.strip_prefix(b"(") else { return &[] };
    inner.strip_suffix(b")").unwrap_or(inner)
}

/// Markers that start the envelope part of a reject line.
const ENVELOPE: [&[u8]; 4] = [b"; from=<", b"; to=<", b"; proto=", b"; helo=<"];

fn reject<'a>(qid: &'a [u8], noqueue: bool, warning: bool, r: &'a [u8]) -> Event<'a> {
    let Some(sp) = memchr::memchr(b' ', r) else {
        return Event::Unparsed("reject line without a client");
    };
    let verb = &r[..sp];
    let Some(rest) = r[sp + 1..].strip_prefix(b"from ") else {
        return Event::Unparsed("reject line without a client");
    };
    // Client: name[ip], [ip]:port or name[ip]:port, then ": ".
    let Some((name, ip, after)) = host_bracket(rest) else {
        return Event::Unparsed("reject line without a client");
    };
    let after = match after.first() {
        Some(b':') if after.get(1).is_some_and(u8::is_ascii_digit) => {
            let n = after[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            &after[1 + n..]
        }
        _ => after,
    };
    let body = after.strip_prefix(b": ").or_else(|| after.strip_prefix(b":")).unwrap_or(after);
    let env = ENVELOPE.iter().filter_map(|m| find(body, m)).min();
    let (text, envelope) = match env {
        Some(e) => (&body[..e], &body[e + 1..]),
        None => (body, &body[body.len()..]),
    };
    Event::Reject(Reject {
        qid: (!noqueue).then_some(qid),
        warning,
        verb,
        client_name: name,
        client_ip: ip,
        text: trim(text),
        from: kv(envelope, b"from"),
        to: kv(envelope, b"to"),
    })
}

/// cleanup `reject: header|body TEXT from CLIENT; from=<..> to=<..> proto=.. helo=<..>: REPLY`.
fn cleanup_reject<'a>(qid: &'a [u8], noqueue: bool, r: &'a [u8]) -> Event<'a> {
    let verb_len = r.iter().take_while(|c| c.is_ascii_alphabetic() || **c == b'-').count();
    let verb = &r[..verb_len];
    if verb != b"header" && verb != b"body" {
        return reject(qid, noqueue, false, r);
    }
    let Some(env) = find(r, b"; from=<") else {
        return Event::Unparsed("cleanup reject without an envelope");
    };
    let before = &r[..env];
    let (client_name, client_ip) = match memchr::memmem::rfind(before, b" from ").and_then(|p| host_bracket(&before[p + 6..])) {
        Some((n, ip, _)) => (n, ip),
        None => (&b""[..], &b""[..]),
    };
    let envelope = &r[env + 1..];
    // The reply follows the envelope: after "helo=<...>: " or, without helo, the last ": ".
    let reply_at = match find(envelope, b"helo=<") {
        Some(h) => find(&envelope[h..], b">: ").map(|p| h + p + 3),
        None => memchr::memmem::rfind(envelope, b": ").map(|p| p + 2),
    };
    let text = reply_at.map(|p| &envelope[p..]).unwrap_or(&[]);
    Event::Reject(Reject {
        qid: (!noqueue).then_some(qid),
        warning: false,
        verb,
        client_name,
        client_ip,
        text: trim(text),
        from: kv(envelope, b"from"),
        to: kv(envelope, b"to"),
    })
}

/// The fields of a failure that the text and relay give.
pub use crate::record::Answer;

/// A host name fit for `remote_host`: not `unknown`, not empty, not an IP address.
fn host_name(name: &[u8]) -> String {
    if name.is_empty() || name.eq_ignore_ascii_case(b"unknown") || is_ip(name) {
        return String::new();
    }
    String::from_utf8_lossy(name).into_owned()
}

/// An address fit for `remote_ip`: not a socket path.
fn host_ip(ip: &[u8]) -> String {
    let ip = ip.strip_prefix(b"IPv6:").unwrap_or(ip);
    if ip.is_empty() || ip.contains(&b'/') || !is_ip(ip) {
        return String::new();
    }
    String::from_utf8_lossy(ip).into_owned()
}

/// Lead-ins that name the server that answered, in the diagnostic of a delivery.
const LEAD_INS: [&[u8]; 4] = [b"host ", b"connect to ", b"lost connection with ", b"conversation with "];

/// (position, lead-in, name, address, rest) of the host a delivery text names.
type Found<'a> = (usize, &'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// Read a delivery line's answer: who answered (diagnostic first, then relay=), the reply
/// code, the enhanced status (dsn= first) and the SMTP command.
pub fn delivery_answer(d: &Delivery<'_>) -> Answer {
    let mut a = Answer::default();
    let text = d.text;
    let mut found: Option<Found<'_>> = None;
    for lead in LEAD_INS {
        let mut from = 0;
        while let Some(p) = find(&text[from..], lead) {
            let at = from + p;
            from = at + lead.len();
            if at > 0 && text[at - 1] != b' ' {
                continue;
            }
            if let Some((name, ip, rest)) = host_bracket(&text[at + lead.len()..]) {
                if found.is_none_or(|f| at < f.0) {
                    found = Some((at, lead, name, ip, rest));
                }
                break;
            }
        }
    }
    let mut command: &str = "";
    if let Some((_, lead, name, ip, rest)) = found {
        a.remote_host = host_name(name);
        a.remote_ip = host_ip(ip);
        if lead == b"connect to " {
            command = "CONN";
        }
        let reply = rest
            .strip_prefix(b" said: ")
            .or_else(|| rest.strip_prefix(b" refused to talk to me: ").inspect(|_| command = "CONN"));
        if let Some(reply) = reply {
            if let Some(code) = reply_code_at(reply) {
                a.reply_code = String::from_utf8_lossy(code).into_owned();
                if let Some(st) = status_after_code(&reply[3..]) {
                    a.status = String::from_utf8_lossy(st).into_owned();
                }
            }
        }
    } else if let Some(relay) = d.relay {
        if let Some((name, ip, _)) = host_bracket(relay) {
            a.remote_host = host_name(name);
            a.remote_ip = host_ip(ip);
        }
    }
    if let Some(dsn) = d.dsn.and_then(status_at) {
        a.status = String::from_utf8_lossy(dsn).into_owned();
    }
    a.smtp_command = command_of_text(text, command);
    a
}

/// The SMTP command a delivery text names.
fn command_of_text(text: &[u8], default: &str) -> String {
    if let Some(p) = memchr::memmem::rfind(text, b"(in reply to ") {
        let rest = &text[p + 13..];
        if let Some(end) = find(rest, b" command") {
            return smtp::command(&String::from_utf8_lossy(&rest[..end]));
        }
    }
    if find(text, b"initial server greeting").is_some() {
        return "CONN".into();
    }
    for phrase in [&b"while sending "[..], b"while performing the "] {
        if let Some(p) = find(text, phrase) {
            let rest = &text[p + phrase.len()..];
            let end = rest.iter().position(|c| matches!(c, b'(' | b')' | b',')).unwrap_or(rest.len());
            let c = smtp::command(&String::from_utf8_lossy(&rest[..end]));
            if matches!(
                c.as_str(),
                "RCPT" | "MAIL" | "DATA" | "EHLO" | "HELO" | "STARTTLS" | "AUTH" | "QUIT" | "CONN"
            ) {
                return c;
            }
        }
    }
    if find(text, b"Cannot start TLS").is_some() || find(text, b"TLS is required").is_some() {
        return "STARTTLS".into();
    }
    default.to_string()
}

/// The fields of a reject line: the refused client, the code we answered, status, command.
pub fn reject_answer(r: &Reject<'_>) -> Answer {
    let mut a = Answer {
        remote_host: host_name(r.client_name),
        remote_ip: host_ip(r.client_ip),
        ..Answer::default()
    };
    if let Some(code) = reply_code_at(r.text) {
        a.reply_code = String::from_utf8_lossy(code).into_owned();
        if let Some(st) = status_after_code(&r.text[3..]) {
            a.status = String::from_utf8_lossy(st).into_owned();
        }
    } else if let Some(st) = status_at(r.text) {
        a.status = String::from_utf8_lossy(st).into_owned();
    }
    a.smtp_command = smtp::command(&String::from_utf8_lossy(r.verb));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery_of(line: &[u8]) -> Delivery<'_> {
        match parse(b"smtp", line) {
            Event::Delivery(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bounced_with_said() {
        let d = delivery_of(b"ABCDE12345: to=<a@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.7] said: 550 5.1.1 <a@example.net>: User unknown (in reply to RCPT TO command))");
        assert_eq!(d.status, b"bounced");
        assert_eq!(d.to, Some(&b"a@example.net"[..]));
        let a = delivery_answer(&d);
        assert_eq!(a.remote_host, "mx.example.net");
        assert_eq!(a.remote_ip, "192.0.2.7");
        assert_eq!(a.reply_code, "550");
        assert_eq!(a.status, "5.1.1");
        assert_eq!(a.smtp_command, "RCPT");
        assert!(d.text.starts_with(b"host mx.example.net"));
        assert!(d.text.ends_with(b"command)"));
    }

    #[test]
    fn connect_errors_relay_none_and_socket_paths() {
        let d = delivery_of(b"ABCDE12345: to=<a@example.net>, relay=none, delay=30, dsn=4.4.1, status=deferred (connect to mx.example.net[2001:db8::25]:25: Connection timed out)");
        let a = delivery_answer(&d);
        assert_eq!(
            (a.remote_host.as_str(), a.remote_ip.as_str(), a.smtp_command.as_str()),
            ("mx.example.net", "2001:db8::25", "CONN")
        );
        let d = delivery_of(b"ABCDE12345: to=<a@example.net>, relay=none, delay=0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found)");
        assert_eq!(
            delivery_answer(&d),
            Answer {
                status: "5.4.4".into(),
                ..Answer::default()
            }
        );
        let d = delivery_of(b"ABCDE12345: to=<a@example.net>, relay=mail.example.net[private/dovecot-lmtp], delay=0, dsn=5.1.1, status=bounced (host mail.example.net[private/dovecot-lmtp] said: 550 5.1.1 User doesn't exist (in reply to RCPT TO command))");
        let a = delivery_answer(&d);
        assert_eq!((a.remote_host.as_str(), a.remote_ip.as_str()), ("mail.example.net", ""));
    }

    #[test]
    fn rejects() {
        let e = parse(b"smtpd", b"NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; from=<s@example.org> to=<r@example.com> proto=ESMTP helo=<x>");
        let Event::Reject(r) = e else { panic!() };
        assert_eq!(r.qid, None);
        assert_eq!(r.from, Some(&b"s@example.org"[..]));
        assert_eq!(r.to, Some(&b"r@example.com"[..]));
        assert!(r.text.ends_with(b"zen.spamhaus.org"));
        let a = reject_answer(&r);
        assert_eq!(
            (
                a.remote_host.as_str(),
                a.remote_ip.as_str(),
                a.reply_code.as_str(),
                a.status.as_str(),
                a.smtp_command.as_str()
            ),
            ("", "192.0.2.9", "554", "5.7.1", "RCPT")
        );
        // postscreen: [ip]:port, comma-separated envelope
        let e = parse(b"postscreen", b"NOQUEUE: reject: RCPT from [192.0.2.9]:4711: 550 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.spamhaus.org; from=<s@example.org>, to=<r@example.com>, proto=ESMTP, helo=<x>");
        let Event::Reject(r) = e else { panic!() };
        assert_eq!(r.to, Some(&b"r@example.com"[..]));
        assert_eq!(r.client_ip, b"192.0.2.9");
        // cleanup header reject: reply after the envelope
        let e = parse(b"cleanup", b"785684C9A00: reject: body Content-Type: application/x-msdownload from mail.example[2001:db8::1]; from=<a@b> to=<c@d> proto=ESMTP helo=<mail.example>: 5.7.1 Executable attachments are not accepted");
        let Event::Reject(r) = e else { panic!() };
        let a = reject_answer(&r);
        assert_eq!(
            (a.status.as_str(), a.smtp_command.as_str(), a.remote_host.as_str()),
            ("5.7.1", "DATA", "mail.example")
        );
        assert_eq!(r.text, b"5.7.1 Executable attachments are not accepted");
    }

    #[test]
    fn queue_lines() {
        assert_eq!(
            parse(b"qmgr", b"ABCDE12345: from=<a@b>, size=12, nrcpt=1 (queue active)"),
            Event::QueueFrom {
                qid: b"ABCDE12345",
                sender: b"a@b"
            }
        );
        assert_eq!(
            parse(b"qmgr", b"ABCDE12345: from=<a@b>, status=expired, returned to sender"),
            Event::Expired {
                qid: b"ABCDE12345",
                sender: Some(b"a@b")
            }
        );
        assert_eq!(parse(b"qmgr", b"ABCDE12345: removed"), Event::Removed { qid: b"ABCDE12345" });
        assert_eq!(
            parse(b"cleanup", b"ABCDE12345: message-id=<x@y>"),
            Event::MessageId {
                qid: b"ABCDE12345",
                id: b"x@y"
            }
        );
        assert_eq!(
            parse(b"smtp", b"ABCDE12345: tox=<a@b>, relay=x, status=bounced (no)"),
            Event::Unparsed("delivery status line without to=<...>")
        );
        assert_eq!(service(b"postfix-out/smtp"), Some(&b"smtp"[..]));
        assert_eq!(service(b"lightmeter/relayed-bounce"), None);
        assert_eq!(service(b"postfix/postfix-script"), None);
    }
}
