//! RFC 3464 delivery status fields (`message/delivery-status`, `message/global-delivery-status`,
//! or the same fields pasted into a text part): one [`Found`] per recipient group.

use super::mail::{parse_date, Mail};
use super::Found;
use super::{answer, diag};
use crate::record::Action;

/// Unfolded `(name lower-cased, value)` fields, with `None` for a blank line.
fn fields(text: &str) -> Vec<Option<(String, String)>> {
    let mut out: Vec<Option<(String, String)>> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            out.push(None);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(Some((_, v))) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') => {
                out.push(Some((name.to_ascii_lowercase(), value.trim().to_string())));
            }
            _ => {
                // A stray line: continue the previous value (a broken fold).
                if let Some(Some((_, v))) = out.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            }
        }
    }
    out
}

/// `type; value` -> value (`dns; mx.example.com`, `rfc822; a@b`, `smtp; 550 ...`).
fn typed(v: &str) -> &str {
    match v.split_once(';') {
        // The type may stand apart from its `;` ("DNS ; mx.example.com").
        Some((t, rest)) if !t.trim().contains(' ') && t.len() < 20 => rest.trim(),
        _ => v.trim(),
    }
}

/// An RFC 6533 `utf-8` address with its `\x{HEX}` escapes decoded (`m\x{FC}ller@example.net`).
fn unescape_utf8_address(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains("\\x{") {
        return v.into();
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(at) = rest.find("\\x{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        match after
            .split_once('}')
            .and_then(|(hex, tail)| Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, tail)))
        {
            Some((c, tail)) => {
                out.push(c);
                rest = tail;
            }
            None => {
                out.push_str(&rest[at..at + 3]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// The text of a `Diagnostic-Code`. A local program's exit status (`X-Unix; 77`) keeps its
/// type: a bare number says nothing, and the type says a mailer program failed.
fn diagnostic_of(v: &str) -> String {
    let text = typed(v);
    match v.split_once(';') {
        Some((t, _)) if t.trim().eq_ignore_ascii_case("x-unix") => format!("X-Unix; {text}"),
        _ => text.to_string(),
    }
}

fn address_of(v: &str) -> String {
    let unescaped = unescape_utf8_address(v);
    let v = typed(&unescaped);
    let bare = v.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace());
    if !bare.is_ascii() && bare.matches('@').count() == 1 && !bare.contains(char::is_whitespace) {
        // An internationalised address (RFC 6531) as the whole value: the scan for addresses in
        // a text takes only ASCII local parts.
        return bare.to_ascii_lowercase();
    }
    let first = diag::addresses(v).next();
    first.map_or_else(|| bare.to_ascii_lowercase(), |(_, a)| a)
}

/// `local@domain` and nothing else.
fn is_mailbox(a: &str) -> bool {
    // An internationalised local part (RFC 6531) is checked by its domain and an ASCII stand-in.
    if !a.is_ascii() {
        let Some((local, domain)) = a.rsplit_once('@') else { return false };
        let plain = |t: &str| !t.is_empty() && !t.contains(|c: char| c.is_whitespace() || c == '@' || c == '<' || c == '>');
        // An internationalised domain has a dot and nothing an address cannot hold.
        let domain_ok = if domain.is_ascii() {
            is_mailbox(&format!("x@{domain}"))
        } else {
            plain(domain) && domain.contains('.')
        };
        return plain(local) && domain_ok;
    }
    diag::addresses(a).next().is_some_and(|(at, x)| at == 0 && x.len() == a.len())
}

/// Where DSN fields start inside a text part, if they do.
pub fn embedded_start(text: &str) -> Option<usize> {
    let mut pos = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let l = line.trim_start();
        let starts = |p: &str| super::mail::starts_ci(l, p);
        if start.is_none() && (starts("reporting-mta:") || starts("final-recipient:") || starts("original-recipient:")) {
            start = Some(pos);
        }
        if start.is_some() && (starts("action:") || starts("status:")) {
            return start;
        }
        pos += line.len();
    }
    None
}

/// The report holds recipients, all delivered, relayed or expanded.
pub fn only_delivered(text: &str) -> bool {
    let actions: Vec<String> = fields(text)
        .into_iter()
        .flatten()
        .filter(|(n, _)| n == "action")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect();
    !actions.is_empty()
        && actions
            .iter()
            .all(|a| a.starts_with("deliver") || a.starts_with("relay") || a.starts_with("expand"))
}

#[derive(Default)]
struct Group {
    final_rcpt: String,
    /// Sendmail's X-Actual-Recipient (the alias's target): the recipient only when the group
    /// has no Final-Recipient, before or after it.
    actual: String,
    original: String,
    action: String,
    status: String,
    /// As written, with its type ("dns; mx.example.org").
    remote_mta: String,
    diagnostic: String,
    /// An X.400 gateway's "X400-Supplementary-Info": the SMTP server's own words where the
    /// Diagnostic-Code holds only X.400's ("Reason 1 (Unable-To-Transfer); Diagnostic -1").
    supplementary: String,
    last_attempt: String,
    has_rcpt: bool,
}

/// The recipients of a delivery status text. Recipients whose action is not a failure
/// (delivered, relayed, expanded) come back with `action: None`.
pub fn read(text: &str, mail: &Mail) -> Vec<Found> {
    let mut reporting = String::new();
    let mut arrival = String::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut cur = Group::default();
    let close = |cur: &mut Group, groups: &mut Vec<Group>| {
        if cur.has_rcpt {
            groups.push(std::mem::take(cur));
        }
    };
    for f in fields(text) {
        let Some((name, value)) = f else {
            close(&mut cur, &mut groups);
            continue;
        };
        match name.as_str() {
            // "dns; mail.example.org (tcp-daemon)": the name without its comment.
            "reporting-mta" => reporting = typed(&value).split_whitespace().next().unwrap_or("").to_string(),
            "arrival-date" => arrival = value,
            "final-recipient" => {
                if !cur.final_rcpt.is_empty() {
                    close(&mut cur, &mut groups);
                }
                cur.final_rcpt = address_of(&value);
                cur.has_rcpt = true;
            }
            "x-actual-recipient" => {
                if !cur.actual.is_empty() {
                    close(&mut cur, &mut groups);
                }
                cur.actual = address_of(&value);
                cur.has_rcpt = true;
            }
            "original-recipient" => {
                if !cur.original.is_empty() {
                    close(&mut cur, &mut groups);
                }
                cur.original = address_of(&value);
                cur.has_rcpt = true;
            }
            "action" => {
                if !cur.action.is_empty() {
                    close(&mut cur, &mut groups);
                }
                cur.action = value.to_ascii_lowercase()
            }
            "status" => {
                if !cur.status.is_empty() {
                    close(&mut cur, &mut groups);
                }
                cur.status = value
            }
            "remote-mta" => cur.remote_mta = value,
            "diagnostic-code" => cur.diagnostic = diagnostic_of(&value),
            "x400-supplementary-info" => cur.supplementary = value.trim().trim_matches('"').to_string(),
            "last-attempt-date" => cur.last_attempt = value,
            _ => {}
        }
    }
    close(&mut cur, &mut groups);
    let arrival = parse_date(&arrival);
    groups
        .into_iter()
        .map(|mut g| {
            if !g.supplementary.is_empty() {
                g.diagnostic = if g.diagnostic.is_empty() {
                    std::mem::take(&mut g.supplementary)
                } else {
                    format!("{}; {}", g.diagnostic, g.supplementary)
                };
            }
            let mut f = Found {
                recipient: [&g.final_rcpt, &g.actual, &g.original]
                    .into_iter()
                    .find(|a| !a.is_empty())
                    .cloned()
                    .unwrap_or_default(),
                original_recipient: g.original.clone(),
                reporting_mta: reporting.trim_matches(|c| c == '[' || c == ']').to_string(),
                diagnostic: diag::squeeze(&g.diagnostic, 1000),
                ..Found::default()
            };
            if !is_mailbox(&f.recipient) {
                let failed = mail.failed_recipients().into_iter().next();
                if is_mailbox(&g.original) {
                    f.recipient = g.original.clone();
                } else if let Some(a) = failed {
                    // Final-Recipient is a file or program (exim's "save to /mail/spool/..."):
                    // the MTA's own list names the address.
                    f.recipient = a;
                } else if let Some(a) = super::text::sole_recipient(mail) {
                    // Final-Recipient holds no address ("@mx.example.org"): the one recipient
                    // the notice names.
                    f.recipient = a;
                } else if let Some(a) = mail.original.addressee() {
                    f.recipient = a.clone();
                }
            }
            if f.original_recipient == f.recipient {
                f.original_recipient.clear();
            }
            let st = diag::status(&g.status).map(|s| s.1).unwrap_or_default();
            let no_status = st.is_empty();
            let from_diag = diag::status(&g.diagnostic).map(|s| s.1);
            f.status = match from_diag {
                Some(d) if st.is_empty() || (st.ends_with(".0.0") && d.as_bytes()[0] == st.as_bytes()[0]) => d,
                _ => st,
            };
            if let Some((_, code)) = diag::reply_code(&g.diagnostic) {
                f.reply_code = code;
            } else if no_status {
                // "Status: 553 Exceeded maximum inbound message size": a reply code where the
                // status belongs.
                if let Some((0, code)) = diag::reply_code(g.status.trim()) {
                    f.reply_code = code;
                    if f.diagnostic.is_empty() {
                        f.diagnostic = diag::squeeze(&g.status, 1000);
                    }
                }
            }
            f.action = action_of(&g.action, &f.status, &f.reply_code);
            // "mx.example.jp. (192.0.2.1, the server for the domain example.jp.)": the name,
            // then an optional comment that may start with the address.
            // Typed `dns`, a name of one label is a host's ("dns; dovecot"); of another type it
            // is another kind of name ("X-Unix; mirapoint").
            let dns = g
                .remote_mta
                .split_once(';')
                .is_some_and(|(t, _)| t.trim().eq_ignore_ascii_case("dns"));
            let remote_mta = typed(&g.remote_mta);
            let (mta, comment) = match remote_mta.split_once(char::is_whitespace) {
                Some((m, c)) => (m, c.trim()),
                None => (remote_mta, ""),
            };
            let mta = mta.trim_matches(|c| c == '[' || c == ']' || c == '<' || c == '>');
            let mta = crate::parse::bytes::without_ipv6_tag(mta);
            // "mx.example.com:25": the port is not part of the name.
            let mta = match mta.rsplit_once(':') {
                Some((h, port)) if h.contains('.') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => mta,
            };
            // Messaging Server: "(TCP|our-ip|our-port|their-ip|their-port)".
            let comment = match comment.strip_prefix("(TCP|").or_else(|| comment.strip_prefix("(tcp|")) {
                Some(t) => t.split('|').nth(2).map_or(comment, |ip| ip.trim_end_matches(')')),
                None => comment,
            };
            if crate::parse::bytes::is_ip(comment.as_bytes()) {
                f.remote_ip = comment.to_string();
            } else if let Some(c) = comment.strip_prefix('(').or_else(|| comment.strip_prefix('[')) {
                let ip = c
                    .split(|ch: char| ch == ',' || ch == ')' || ch.is_whitespace())
                    .next()
                    .unwrap_or("");
                let ip = ip.trim_matches(|c| c == '[' || c == ']');
                let ip = crate::parse::bytes::without_ipv6_tag(ip);
                if crate::parse::bytes::is_ip(ip.as_bytes()) {
                    f.remote_ip = ip.to_string();
                }
            }
            if crate::parse::bytes::is_ip(mta.as_bytes()) {
                f.remote_ip = mta.to_string();
            } else if !mta.is_empty() && !mta.contains(' ') && (mta.contains('.') || (dns && answer::is_single_label(mta))) {
                f.remote_host = mta.trim_end_matches('.').to_ascii_lowercase();
            }
            if f.remote_host.is_empty() {
                let (h, ip) = answer::remote_host(&g.diagnostic);
                f.remote_host = h;
                if f.remote_ip.is_empty() {
                    f.remote_ip = ip;
                }
            }
            if f.remote_ip.is_empty() {
                // The readable part may give the same server with its address (Courier).
                if let Some(ip) =
                    answer::address_beside(&g.diagnostic, &f.remote_host).or_else(|| answer::address_beside(&mail.text, &f.remote_host))
                {
                    f.remote_ip = ip;
                }
            }
            f.smtp_command = answer::command(&g.diagnostic);
            f.when = parse_date(&g.last_attempt).or(arrival).or(mail.date);
            f
        })
        .collect()
}

/// The record action from the DSN `Action` (codes when it is missing or odd); None when the
/// recipient did not fail.
pub fn action_of(action: &str, status: &str, code: &str) -> Option<Action> {
    let a = action.trim();
    if a.starts_with("deliver") || a.starts_with("relay") || a.starts_with("expand") {
        return None;
    }
    if a.starts_with("fail") {
        return Some(Action::Failed);
    }
    if a.starts_with("delay") {
        return Some(Action::Delayed);
    }
    if a.starts_with("expire") {
        return Some(Action::Expired);
    }
    let class = status.bytes().next().or_else(|| code.bytes().next());
    match class {
        Some(b'2') => None,
        Some(b'4') => Some(Action::Delayed),
        _ => Some(Action::Failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Reporting-MTA: dns; mta.example.net\nArrival-Date: Mon, 5 Jan 2026 10:00:00 +0000\n\n\
Final-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.com\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address\n rejected: User unknown\n\n\
Original-Recipient: rfc822; list@example.org\nFinal-Recipient: rfc822; later@example.com\nAction: delayed\nStatus: 4.4.1\n";

    #[test]
    fn groups() {
        let m = Mail::default();
        let v = read(REPORT, &m);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].recipient, "nobody@example.com");
        assert_eq!(v[0].reply_code, "550");
        assert_eq!(v[0].status, "5.1.1");
        assert_eq!(v[0].remote_host, "mx.example.com");
        assert_eq!(v[0].reporting_mta, "mta.example.net");
        assert!(v[0].diagnostic.ends_with("rejected: User unknown"));
        assert_eq!(v[1].recipient, "later@example.com");
        assert_eq!(v[1].original_recipient, "list@example.org");
        assert_eq!(v[1].action, Some(Action::Delayed));
        assert_eq!(v[1].when.map(|t| t.to_rfc3339()), Some("2026-01-05T10:00:00+00:00".into()));
    }

    /// Field values as some MTAs write them: a type apart from its `;`, a host with its address
    /// in brackets, a port, a comment, an RFC 6533 escaped internationalised address.
    #[test]
    fn odd_field_values() {
        let m = Mail::default();
        let report = "Reporting-MTA: DNS ; mta.example.net (tcp-daemon)\n\n\
                      Final-Recipient: utf-8; m\\x{FC}ller@example.net\nAction: failed\nStatus: 5.1.1\n\
                      Remote-MTA: DNS ; mx.example.com [192.0.2.26]\n\n\
                      Final-Recipient: rfc822; b@example.org\nAction: failed\nStatus: 5.1.1\n\
                      Remote-MTA: dns; mx.example.org:25\n\n\
                      Final-Recipient: rfc822; c@example.org\nAction: failed\nStatus: 5.1.1\n\
                      Remote-MTA: dns; [IPv6:2001:db8::25]\n\n\
                      Final-Recipient: utf-8; jörg@bücher.example\nAction: failed\nStatus: 5.1.1\n\n\
                      Final-Recipient: rfc822; d@example.jp\nAction: failed\nStatus: 5.1.1\n\
                      Remote-MTA: dns;mx.example.jp (TCP|192.0.2.17|47323|192.0.2.225|25)\n";
        let v = read(report, &m);
        assert_eq!(v.len(), 5);
        // Messaging Server's connection tuple: the fourth field is the remote address.
        assert_eq!(
            (v[4].remote_host.as_str(), v[4].remote_ip.as_str()),
            ("mx.example.jp", "192.0.2.225")
        );
        // An internationalised domain too (its check once recursed without end).
        assert_eq!(v[3].recipient, "jörg@bücher.example");
        assert_eq!(v[0].recipient, "müller@example.net");
        assert_eq!(v[0].reporting_mta, "mta.example.net");
        assert_eq!(
            (v[0].remote_host.as_str(), v[0].remote_ip.as_str()),
            ("mx.example.com", "192.0.2.26")
        );
        assert_eq!(v[1].remote_host, "mx.example.org");
        assert_eq!((v[2].remote_host.as_str(), v[2].remote_ip.as_str()), ("", "2001:db8::25"));
    }

    #[test]
    fn delivered_is_not_a_failure() {
        assert!(only_delivered(
            "Final-Recipient: rfc822; a@example.com\nAction: delivered\nStatus: 2.0.0\n"
        ));
        assert_eq!(action_of("", "5.0.0", ""), Some(Action::Failed));
    }
}
