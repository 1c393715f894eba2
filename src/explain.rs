//! `bouncer explain`: what a reply code, an enhanced status code or a whole SMTP answer means,
//! whether it is a hard or a soft bounce, which commands return it, what the classifier makes
//! of it and what to do. The tables are data, written from RFC 5321 (reply codes and the
//! command/reply sequences of its section 4.3.2), RFC 3463 and the IANA enhanced status code
//! registry (RFC 5248, with the codes later RFCs added), and providers' published codes.

use crate::classify::{bounce_type_of_codes, suppress, Classifier};
use crate::record::{Action, BounceType};
use serde::Serialize;

/// Reply codes: (code, meaning, RFC).
const REPLY: &[(&str, &str, &str)] = &[
    ("200", "non-standard success some servers send instead of 250; treated as accepted", "none"),
    ("211", "system status or help reply", "RFC 5321"),
    ("214", "help message for a human reader", "RFC 5321"),
    ("220", "service ready (greeting at connect; go ahead after STARTTLS)", "RFC 5321, RFC 3207"),
    ("221", "service closing the connection (answer to QUIT)", "RFC 5321"),
    ("235", "authentication succeeded", "RFC 4954"),
    ("250", "requested action done: accepted", "RFC 5321"),
    ("251", "user not local; the server will forward the message", "RFC 5321"),
    ("252", "cannot verify the user, but will accept the message and try to deliver it", "RFC 5321"),
    ("334", "authentication challenge: the server waits for the client's next line", "RFC 4954"),
    ("354", "start mail input; end the data with <CRLF>.<CRLF>", "RFC 5321"),
    ("421", "service not available, the server is closing the connection (often: too many connections, rate limits, or shutting down)", "RFC 5321"),
    ("432", "a password transition is needed", "RFC 4954"),
    ("450", "mailbox unavailable for now (busy, temporarily blocked, greylisting)", "RFC 5321"),
    ("451", "local error in processing: the server had a problem (greylisting and temporary DNS failures are often reported this way)", "RFC 5321"),
    ("452", "insufficient system storage, or too many recipients in this transaction", "RFC 5321"),
    ("453", "non-standard: some servers use it for 'too many recipients' or 'no mail'; treat as transient", "none"),
    ("454", "temporary authentication failure, or TLS not available for now", "RFC 4954, RFC 3207"),
    ("455", "the server cannot accommodate the MAIL/RCPT parameters for now", "RFC 5321"),
    ("500", "syntax error, command unrecognised (also: a line too long)", "RFC 5321"),
    ("501", "syntax error in the parameters or arguments", "RFC 5321"),
    ("502", "command not implemented", "RFC 5321"),
    ("503", "bad sequence of commands (e.g. RCPT before MAIL, or authentication required first)", "RFC 5321"),
    ("504", "command parameter not implemented", "RFC 5321"),
    ("521", "this host does not accept mail at all", "RFC 7504"),
    ("530", "authentication required", "RFC 4954"),
    ("534", "the authentication mechanism is too weak", "RFC 4954"),
    ("535", "authentication credentials invalid", "RFC 4954"),
    ("538", "encryption required for the requested authentication mechanism", "RFC 4954"),
    ("550", "requested action not taken: mailbox unavailable (does not exist, no access, or refused by policy — the enhanced status and the text tell which)", "RFC 5321"),
    ("551", "user not local; no forwarding (the text may give the address to try)", "RFC 5321"),
    ("552", "exceeded storage allocation (mailbox full, or the message is too big)", "RFC 5321"),
    ("553", "mailbox name not allowed (bad syntax, or a sender the server refuses)", "RFC 5321"),
    ("554", "transaction failed; at connect: no SMTP service here. Used widely for policy refusals (blocklists, spam, viruses) at any stage", "RFC 5321"),
    ("555", "MAIL FROM/RCPT TO parameters not recognised or not implemented", "RFC 5321"),
    ("556", "the recipient's domain does not accept mail", "RFC 7504"),
];

/// The second digit of a reply code (RFC 5321 4.2.1).
const REPLY_SUBJECT: &[(u8, &str)] = &[
    (b'0', "syntax"),
    (b'1', "information"),
    (b'2', "connections (the transmission channel)"),
    (b'3', "unspecified"),
    (b'4', "unspecified"),
    (b'5', "mail system (the receiver's state, mailboxes)"),
];

/// The commands that can return a reply code (RFC 5321 4.3.2, RFC 4954 for AUTH, RFC 3207 for
/// STARTTLS). 421 and 500/501 (and 503 where a command is out of place) can follow any command.
const COMMANDS: &[(&str, &[&str])] = &[
    ("CONNECT", &["220", "554", "421", "521"]),
    ("EHLO", &["250", "502", "504", "550", "421", "500", "501"]),
    ("HELO", &["250", "502", "504", "550", "421", "500", "501"]),
    ("STARTTLS", &["220", "454", "501"]),
    (
        "AUTH",
        &["235", "334", "432", "454", "500", "501", "503", "504", "534", "535", "538"],
    ),
    (
        "MAIL",
        &[
            "250", "451", "452", "455", "503", "530", "550", "552", "553", "555", "421", "500", "501",
        ],
    ),
    (
        "RCPT",
        &[
            "250", "251", "450", "451", "452", "455", "503", "550", "551", "552", "553", "555", "556", "421", "500", "501",
        ],
    ),
    (
        "DATA",
        &["354", "450", "451", "452", "503", "550", "552", "554", "421", "500", "501"],
    ),
    ("end of data", &["250", "450", "451", "452", "550", "552", "554", "421"]),
    ("RSET", &["250", "421", "500", "501"]),
    (
        "VRFY",
        &["250", "251", "252", "502", "504", "550", "551", "553", "421", "500", "501"],
    ),
    ("EXPN", &["250", "252", "500", "502", "504", "550", "421", "501"]),
    ("HELP", &["211", "214", "502", "504", "421", "500", "501"]),
    ("NOOP", &["250", "421", "500"]),
    ("QUIT", &["221", "500"]),
];

/// Enhanced status classes and subjects (RFC 3463 2).
const CLASS: &[(&str, &str)] = &[
    ("2", "success"),
    ("4", "persistent transient failure: the same message may go through later"),
    ("5", "permanent failure: sending it again unchanged will fail again"),
];

const SUBJECT: &[(&str, &str)] = &[
    ("0", "other or undefined"),
    ("1", "addressing"),
    ("2", "mailbox"),
    ("3", "mail system"),
    ("4", "network and routing"),
    ("5", "mail delivery protocol"),
    ("6", "message content or media"),
    ("7", "security or policy"),
];

/// Enhanced status details (subject.detail): meaning and source.
const DETAIL: &[(&str, &str, &str)] = &[
    ("0.0", "other undefined status", "RFC 3463"),
    ("1.0", "other address status", "RFC 3463"),
    (
        "1.1",
        "bad destination mailbox address: the mailbox does not exist there",
        "RFC 3463",
    ),
    (
        "1.2",
        "bad destination system address: the domain or host cannot take mail",
        "RFC 3463",
    ),
    ("1.3", "bad destination mailbox address syntax", "RFC 3463"),
    ("1.4", "destination mailbox address ambiguous", "RFC 3463"),
    ("1.5", "destination address valid", "RFC 3463"),
    ("1.6", "destination mailbox has moved, no forwarding address", "RFC 3463"),
    ("1.7", "bad sender's mailbox address syntax", "RFC 3463"),
    (
        "1.8",
        "bad sender's system address (the sender's domain does not resolve)",
        "RFC 3463",
    ),
    ("1.9", "message relayed to a non-compliant mailer", "RFC 3886"),
    ("1.10", "the recipient's domain has a null MX: it takes no mail", "RFC 7505"),
    ("2.0", "other or undefined mailbox status", "RFC 3463"),
    ("2.1", "mailbox disabled, not accepting messages", "RFC 3463"),
    ("2.2", "mailbox full", "RFC 3463"),
    ("2.3", "message length exceeds an administrative limit", "RFC 3463"),
    ("2.4", "mailing list expansion problem", "RFC 3463"),
    ("3.0", "other or undefined mail system status", "RFC 3463"),
    ("3.1", "mail system full (disk)", "RFC 3463"),
    ("3.2", "system not accepting network messages", "RFC 3463"),
    ("3.3", "system not capable of selected features", "RFC 3463"),
    ("3.4", "message too big for the system", "RFC 3463"),
    ("3.5", "system incorrectly configured", "RFC 3463"),
    ("3.6", "requested priority was changed", "RFC 6710"),
    ("4.0", "other or undefined network or routing status", "RFC 3463"),
    ("4.1", "no answer from host", "RFC 3463"),
    ("4.2", "bad connection (dropped or failed mid-transaction)", "RFC 3463"),
    ("4.3", "directory server failure (typically DNS)", "RFC 3463"),
    ("4.4", "unable to route (no MX/A record, no route to the host)", "RFC 3463"),
    ("4.5", "mail system congestion", "RFC 3463"),
    ("4.6", "routing loop detected", "RFC 3463"),
    ("4.7", "delivery time expired: the message sat in the queue too long", "RFC 3463"),
    ("5.0", "other or undefined protocol status", "RFC 3463"),
    ("5.1", "invalid command", "RFC 3463"),
    ("5.2", "syntax error", "RFC 3463"),
    ("5.3", "too many recipients", "RFC 3463"),
    ("5.4", "invalid command arguments", "RFC 3463"),
    ("5.5", "wrong protocol version", "RFC 3463"),
    ("5.6", "authentication exchange line is too long", "RFC 4954"),
    ("6.0", "other or undefined media error", "RFC 3463"),
    ("6.1", "media not supported", "RFC 3463"),
    ("6.2", "conversion required and prohibited", "RFC 3463"),
    ("6.3", "conversion required but not supported", "RFC 3463"),
    ("6.4", "conversion with loss performed", "RFC 3463"),
    ("6.5", "conversion failed", "RFC 3463"),
    ("6.6", "message content not available", "RFC 4468"),
    ("6.7", "non-ASCII addresses not permitted for that sender or recipient", "RFC 6531"),
    ("6.8", "UTF-8 string reply required but not permitted by the client", "RFC 6531"),
    (
        "6.9",
        "UTF-8 header message cannot be transferred to one or more recipients",
        "RFC 6531",
    ),
    ("7.0", "other or undefined security status", "RFC 3463"),
    (
        "7.1",
        "delivery not authorized, message refused (policy: blocklists, spam filters, access rules)",
        "RFC 3463",
    ),
    ("7.2", "mailing list expansion prohibited", "RFC 3463"),
    ("7.3", "security conversion required but not possible", "RFC 3463"),
    ("7.4", "security features not supported", "RFC 3463"),
    ("7.5", "cryptographic failure", "RFC 3463"),
    ("7.6", "cryptographic algorithm not supported", "RFC 3463"),
    ("7.7", "message integrity failure", "RFC 3463"),
    ("7.8", "authentication credentials invalid", "RFC 4954"),
    ("7.9", "authentication mechanism is too weak", "RFC 4954"),
    ("7.10", "encryption needed", "RFC 5248"),
    ("7.11", "encryption required for the requested authentication mechanism", "RFC 4954"),
    ("7.12", "a password transition is needed", "RFC 4954"),
    ("7.13", "user account disabled", "IANA registry"),
    ("7.14", "trust relationship required", "IANA registry"),
    ("7.15", "priority level is too low", "RFC 6710"),
    ("7.16", "message is too big for the specified priority", "RFC 6710"),
    ("7.17", "mailbox owner has changed", "RFC 7293"),
    ("7.18", "domain owner has changed", "RFC 7293"),
    ("7.19", "RRVS test cannot be completed", "RFC 7293"),
    ("7.20", "no passing DKIM signature found", "RFC 7372"),
    ("7.21", "no acceptable DKIM signature found", "RFC 7372"),
    ("7.22", "no valid author-matched DKIM signature found", "RFC 7372"),
    ("7.23", "SPF validation failed", "RFC 7372"),
    ("7.24", "SPF validation error", "RFC 7372"),
    ("7.25", "reverse DNS validation failed for the sending IP", "RFC 7372"),
    ("7.26", "multiple authentication checks failed (SPF, DKIM, DMARC)", "RFC 7372"),
    ("7.27", "the sender's domain has a null MX: it takes no replies", "RFC 7505"),
    ("7.29", "ARC validation failure", "RFC 8617"),
    ("7.30", "REQUIRETLS support required", "RFC 8689"),
];

/// Codes providers give their own meaning (their published documentation, in our words).
const PROVIDER: &[(&str, &str)] = &[
    (
        "5.7.26",
        "Gmail: the message is not authenticated (fails SPF and DKIM alignment / DMARC); publish SPF and DKIM for the sending domain",
    ),
    ("4.7.26", "Gmail: unauthenticated mail throttled for now; publish SPF and DKIM"),
    (
        "5.7.1",
        "Gmail / Microsoft: refused by policy; the text names the reason (reputation, blocklist, content)",
    ),
    ("4.7.0", "Gmail: rate or reputation limits for now; slow down and retry"),
    (
        "5.7.708",
        "Outlook.com / Exchange Online: traffic not accepted from this IP (low reputation)",
    ),
    (
        "5.7.606",
        "Outlook.com / Exchange Online (5.7.606-5.7.649): the sending IP is banned; use Microsoft's delisting portal",
    ),
    (
        "5.7.509",
        "Exchange Online: refused because the sender's domain DMARC policy says reject",
    ),
    (
        "5.7.750",
        "Exchange Online: the sending tenant is blocked from sending to unregistered domains",
    ),
    ("5.1.10", "Exchange Online: recipient not found (by SMTP address)"),
    (
        "5.4.1",
        "Exchange Online: recipient address rejected, access denied (directory-based edge blocking: the address does not exist)",
    ),
    ("5.4.14", "Exchange: hop count exceeded, a mail loop"),
    ("5.4.6", "Exchange: routing loop detected (often a forwarding loop)"),
    ("5.4.316", "Exchange: message expired, the remote server refused the connection"),
    (
        "4.4.7",
        "the message expired in the queue (Exchange and others): the remote never accepted it in time",
    ),
    (
        "5.2.2",
        "mailbox full (most providers; Exchange Online: the recipient's quota is exceeded)",
    ),
];

/// What `explain` found out about one input.
#[derive(Debug, Default, Serialize)]
pub struct Explanation {
    pub input: String,
    pub reply_code: String,
    pub reply_meaning: String,
    pub reply_class: String,
    pub reply_subject: String,
    pub reply_source: String,
    /// Commands that can return the reply code.
    pub commands: Vec<String>,
    pub status: String,
    pub status_class: String,
    pub status_subject: String,
    pub status_meaning: String,
    pub status_source: String,
    pub provider: String,
    /// `hard`, `soft`, or empty (success or unknown).
    pub bounce_type: String,
    pub reason: String,
    /// The classifier rule that gave the reason (`builtin:LINE`, a user rules file, or the
    /// status table).
    pub reason_from: String,
    pub suppress: bool,
    pub advice: String,
}

/// The reply code at the start of an answer (`550`, `550-5.7.1`, `550 5.1.1 ...`).
fn leading_reply_code(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let ok = b.len() >= 3
        && (b'2'..=b'5').contains(&b[0])
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b.get(3).is_none_or(|c| matches!(c, b' ' | b'-' | b'\t'));
    ok.then(|| &s[..3])
}

/// The first enhanced status code in a text (`5.7.26`, `#5.1.1`).
fn find_status(s: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[^0-9.])").expect("valid"));
    re.captures(s).map(|c| c[1].to_string())
}

/// Explain a reply code, an enhanced status code or a whole answer text.
pub fn explain(input: &str, classifier: &Classifier) -> Explanation {
    let text = input.trim();
    let mut e = Explanation {
        input: text.to_string(),
        ..Default::default()
    };
    e.reply_code = leading_reply_code(text).unwrap_or("").to_string();
    e.status = find_status(text).unwrap_or_default();
    if let Some(code) = e.reply_code.get(..).filter(|c| !c.is_empty()) {
        let first = code.as_bytes()[0];
        e.reply_class = match first {
            b'2' => "2yz positive completion: done",
            b'3' => "3yz positive intermediate: go on",
            b'4' => "4yz transient negative completion: try again later",
            _ => "5yz permanent negative completion: do not repeat as is",
        }
        .to_string();
        let second = code.as_bytes()[1];
        e.reply_subject = REPLY_SUBJECT
            .iter()
            .find(|(d, _)| *d == second)
            .map(|(d, m)| format!("x{}z {m}", *d as char))
            .unwrap_or_default();
        match REPLY.iter().find(|(c, _, _)| *c == code) {
            Some((_, m, src)) => {
                e.reply_meaning = m.to_string();
                e.reply_source = src.to_string();
            }
            None => e.reply_meaning = "not a code the RFCs define; read it by its class digits".into(),
        }
        e.commands = COMMANDS
            .iter()
            .filter(|(_, codes)| codes.contains(&code))
            .map(|(c, _)| c.to_string())
            .collect();
    }
    if !e.status.is_empty() {
        let mut parts = e.status.splitn(2, '.');
        let class = parts.next().unwrap_or("");
        let rest = parts.next().unwrap_or("");
        let subject = rest.split('.').next().unwrap_or("");
        e.status_class = CLASS
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, m)| m.to_string())
            .unwrap_or_default();
        e.status_subject = SUBJECT
            .iter()
            .find(|(s, _)| *s == subject)
            .map(|(s, m)| format!("x.{s}.x {m}"))
            .unwrap_or_else(|| format!("x.{subject}.x not a subject the registry defines"));
        match DETAIL.iter().find(|(d, _, _)| *d == rest) {
            Some((_, m, src)) => {
                e.status_meaning = m.to_string();
                e.status_source = src.to_string();
            }
            None => e.status_meaning = "not in the registry: read it by its class and subject".into(),
        }
        e.provider = PROVIDER
            .iter()
            .find(|(c, _)| *c == e.status)
            .or_else(|| {
                // Microsoft's banned-IP range.
                let n: u32 = e.status.strip_prefix("5.7.")?.parse().ok()?;
                (606..=649).contains(&n).then(|| PROVIDER.iter().find(|(c, _)| *c == "5.7.606"))?
            })
            .map(|(_, m)| m.to_string())
            .unwrap_or_default();
    }
    let success = e.reply_code.starts_with(['2', '3']) || e.status.starts_with('2');
    let bt = if success {
        None
    } else {
        bounce_type_of_codes(&e.reply_code, &e.status)
    };
    e.bounce_type = match bt {
        Some(BounceType::Hard) => "hard",
        Some(BounceType::Soft) => "soft",
        None => "",
    }
    .to_string();
    if !success && (bt.is_some()) {
        let action = if bt == Some(BounceType::Soft) {
            Action::Delayed
        } else {
            Action::Failed
        };
        // Expired by its status or by what the text rules call expiry ("message expired"), not
        // by the word alone ("certificate has expired", "invalid or expired address").
        let expired = e.status.ends_with(".4.7") || classifier.match_text(text).is_some_and(|m| m.reason == "expired");
        let action = if expired { Action::Expired } else { action };
        e.reason = classifier.reason(action, text, &e.status);
        e.reason_from = if expired {
            "expiry".into()
        } else if let Some(m) = classifier.match_text(text) {
            format!("text rule {}", m.origin)
        } else if classifier.match_status(&e.status).is_some() {
            "status table".into()
        } else {
            String::new()
        };
        e.suppress = suppress(&e.reason, bt, &e.reply_code, &e.status);
    }
    e.advice = advice(&e, success);
    e
}

fn advice(e: &Explanation, success: bool) -> String {
    if success {
        return "nothing to do: this is not a failure".into();
    }
    if e.reply_code.is_empty() && e.status.is_empty() {
        return "no reply code or enhanced status found: give a code (550, 5.1.1) or the server's answer".into();
    }
    let theirs = "The refusal is the remote server's: look at the host that answered (remote_host in `bouncer scan`, `bouncer trace ADDRESS`), not the one that sent you the bounce";
    let soft = e.bounce_type == "soft";
    let what = match e.reason.as_str() {
        "userunknown" | "hasmoved" | "notaccept" | "hostunknown" if !soft => {
            "Remove the address from your lists (the address itself is dead); check it for a typo first".to_string()
        }
        "mailboxfull" | "exceedlimit" => "The recipient's mailbox or quota is full: the MTA retries soft failures; if it keeps failing, reach the recipient another way".to_string(),
        "mesgtoobig" => "The message is too big for the receiver: send it smaller or share a link".to_string(),
        "authfailure" => format!("Your mail failed the receiver's SPF/DKIM/DMARC checks: check the sending domain's SPF record, DKIM signing and DMARC policy. {theirs}"),
        "blocked" | "badreputation" | "requireptr" => format!("Your sending IP or domain is refused: check blocklists and reverse DNS (PTR) for the IP, then ask the receiver's postmaster to delist. {theirs}"),
        "spamdetected" | "virusdetected" | "policyviolation" | "rejected" | "securityerror" => {
            format!("The receiver's filters refused the message: check its content and your sender reputation. {theirs}")
        }
        "norelaying" => "The server you sent to will not relay for you: check your routing (relayhost, MX) and the recipient's domain".to_string(),
        "toomanyconn" | "speeding" => "You are sending too fast for the receiver: lower concurrency/rate for that destination; it is retried".to_string(),
        "expired" => "The receiver never accepted the message before the queue lifetime ended: look at the deferrals before it (`bouncer trace`) for the real cause".to_string(),
        "networkerror" | "systemerror" | "systemfull" | "mailererror" => {
            "A problem at the receiving side or on the way: it is retried; if it persists, contact the receiver's postmaster".to_string()
        }
        "syntaxerror" | "notcompliantrfc" => "Your server sent something the receiver could not parse: check the message headers and the MTA's configuration".to_string(),
        "suspend" => "The recipient's account is suspended or disabled: stop sending for now; remove it if it stays so".to_string(),
        _ if soft => "A transient failure: the MTA retries; act only if the same failure repeats until the message expires".to_string(),
        _ => format!("A permanent failure: read the server's text for the cause. {theirs}"),
    };
    what
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_code_and_status_in_the_tables_is_explained() {
        let c = Classifier::builtin();
        for (code, _, _) in REPLY {
            let e = explain(code, &c);
            assert_eq!(e.reply_code, *code);
            assert!(
                !e.reply_meaning.is_empty() && !e.reply_class.is_empty() && !e.advice.is_empty(),
                "{code}"
            );
            if code.starts_with('4') {
                assert_eq!(e.bounce_type, "soft", "{code}");
            }
            if code.starts_with('5') {
                assert_eq!(e.bounce_type, "hard", "{code}");
            }
        }
        for (detail, _, _) in DETAIL {
            for class in ["4", "5"] {
                let s = format!("{class}.{detail}");
                let e = explain(&s, &c);
                assert_eq!(e.status, s);
                assert!(!e.status_meaning.starts_with("not in"), "{s}");
                assert!(!e.status_subject.contains("not a subject"), "{s}");
                assert_eq!(e.bounce_type, if class == "4" { "soft" } else { "hard" }, "{s}");
            }
        }
        for (code, _) in PROVIDER {
            assert!(!explain(code, &c).provider.is_empty(), "{code}");
        }
    }

    #[test]
    fn commands_come_from_the_rfc_table() {
        let c = Classifier::builtin();
        let e = explain("354", &c);
        assert_eq!(e.commands, vec!["DATA"]);
        let e = explain("551", &c);
        assert_eq!(e.commands, vec!["RCPT", "VRFY"]);
    }
}
