//! Who failed: the recipients a notice's error block names, in the order it names them.
//!
//! Every address in the block is one, but the notice's own people, the returned message's
//! senders, addresses in links, administrative mailboxes, the aliases an address was expanded
//! from and addresses an answer gives to write to. Some families name recipients otherwise: by
//! user ID alone, or only through the returned message's To addresses.

use super::diag;
use super::mail::{ends_ci, ends_word_ci, starts_ci, Mail};

/// `before` (the text up to an address) without Exchange's address type glued on at its end
/// (`SMTP=` of "SMTP=kim@example.net"), in any case.
pub(super) fn without_address_type(before: &str) -> &str {
    match before.len().checked_sub(5) {
        Some(at) if before.get(at..).is_some_and(|t| t.eq_ignore_ascii_case("smtp=")) => &before[..at],
        _ => before,
    }
}

/// Lines whose addresses are not failed recipients (they name the sender or the message).
fn is_sender_line(trimmed: &str) -> bool {
    // A label with a full-width colon (Japanese and Chinese notices: "Message-ID：<...>").
    let ascii;
    let trimmed = match trimmed.find('：') {
        Some(at) if at < 40 => {
            ascii = trimmed.replacen('：', ":", 1);
            ascii.as_str()
        }
        _ => trimmed,
    };
    [
        "from:",
        "sender:",
        "reply-to:",
        "subject:",
        "date:",
        "message-id",
        "mail from",
        "original sender",
        // Exchange Online's "Original Message Details": "Sender Address: a@b".
        "sender address",
        // The address a recipient was reached through (Messaging Server's "Original address:",
        // a report's "Original-Recipient:"): the same recipient, not another.
        "original address",
        "original-recipient",
        "original recipient",
        "return-path",
        "envelope-from",
        "sent:",
        "cc:",
        "the original message was received",
        "original-envelope",
        "x-",
    ]
    .iter()
    .any(|p| starts_ci(trimmed, p))
}

/// The address at `off` in `line` starts a recipient's entry: alone on its line ("  a@b",
/// Exim's), or first on an unindented line and followed by a colon ("<a@b>: host x said:",
/// Postfix's; an indented "<a@b>: unauthorized sender" is a server's answer going on).
fn entry_start(line: &str, indented: bool, off: usize, addr: &str) -> bool {
    let before = line[..off].trim_start();
    let rest = line[off..].get(addr.len()..).unwrap_or("");
    let rest = rest.strip_prefix('>').unwrap_or(rest).trim_end();
    (before.is_empty() || before == "<") && (rest.is_empty() || (rest.starts_with(':') && !indented))
}

/// Local parts of role addresses: recipients only where the notice names no other.
fn is_admin(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    [
        "postmaster",
        "mailer-daemon",
        "abuse",
        "hostmaster",
        "noreply",
        "no-reply",
        "support",
        "help",
        "root",
    ]
    .contains(&local)
}

/// Recipients of a block with the offset of their first mention, in order.
pub(super) fn recipients(block: &str, mail: &Mail) -> Vec<(usize, String)> {
    // The people the notice goes to or comes from, and the returned message's own sender
    // and envelope sender (a server's answer may quote it: "<bounce@x> sender rejected").
    // So are the senders a session transcript gives ("In:  MAIL FROM:<a@b>", then "Out: 553
    // <a@b>: Sender address rejected").
    let envelope = diag::transcript_envelope(block);
    let not = |a: &str| {
        a == mail.to
            || a == mail.from
            || a == mail.original.from
            || a == mail.original.return_path
            || envelope.senders.iter().any(|s| s == a)
    };
    let mut line_at = 0;
    let mut strong: Vec<(usize, String)> = Vec::new();
    let mut weak: Vec<(usize, String)> = Vec::new();
    // A label alone on its line ("From:") names what the next line holds.
    let mut label_above = false;
    // Exim hides an address a redirect made ("an undisclosed address", then "(generated from
    // a@b)" below it): the address it came from is the recipient, and the hidden one, where a
    // server's answer still names it ("after RCPT TO:<x@y>"), is not another.
    let undisclosed = block.lines().any(|l| l.trim().eq_ignore_ascii_case("an undisclosed address"));
    let mut prev = "";
    // Addresses written out as what a failed one was taken for ("a@x <b@x>: malformed ...").
    let mut taken_for: Vec<String> = Vec::new();
    // Addresses that start a recipient's entry ("<a@b>: host x said:"), and those quoted on an
    // entry's indented lines below (a server's answer naming the sender: "550 5.1.1
    // <bounces+x@y>: unauthorized sender").
    let mut entries: Vec<String> = Vec::new();
    let mut quoted: Vec<String> = Vec::new();
    // Addresses of the people the notice is to or from, named other than on a "To:" line.
    let mut weak_named: Vec<String> = Vec::new();
    // Role addresses (postmaster@, support@ ...): recipients only where no other is named.
    let mut admin: Vec<(usize, String)> = Vec::new();
    // Aliases the failed addresses were expanded from.
    let mut aliases: Vec<String> = Vec::new();
    for line in block.split_inclusive('\n') {
        let trimmed = line.trim();
        let indented = line.starts_with([' ', '\t']);
        let after_undisclosed = std::mem::replace(&mut prev, trimmed).eq_ignore_ascii_case("an undisclosed address");
        // In a session transcript, what was sent: " In:  MAIL FROM:<a@b>", ">>> MAIL FROM:<a@b>".
        // Worked out only for a line with an address in it.
        let above = label_above;
        let sender_line = || {
            is_sender_line(trimmed) || (above && !trimmed.contains(':')) || diag::transcript_payload(trimmed).is_some_and(is_sender_line)
        };
        label_above = trimmed.ends_with(':') && !trimmed[..trimmed.len() - 1].contains(':') && is_sender_line(trimmed);
        // The returned message's "To: a@b" (a header field: a space after its colon), not a
        // transcript's "TO:<a@b>" that a re-wrapped "RCPT TO:<a@b>" left at a line's start.
        let to_line = starts_ci(trimmed, "to:") && !trimmed[3..].starts_with('<');
        for (off, a) in diag::addresses(line) {
            let before = line[..off].chars().next_back();
            // Glued to a parameter ("?to=a@b", "/a@b") it is a link's, but for Exchange's
            // address type ("SMTP=a@b").
            let typed = without_address_type(&line[..off]).len() < off;
            if (matches!(before, Some('=') | Some('/')) && !typed) || sender_line() {
                continue;
            }
            // Exim ("generated from") and Postfix ("expanded from", perhaps at the end of the
            // line before) name the alias an address came from: not a recipient of its own.
            // ("(expanded from: a@b)": Sendmail.) The alias is no recipient wherever else the
            // block names it ("554 Too many hops ...: from x@y via localhost, to a@b").
            let lead = line[..off].trim_end_matches([' ', '\t', '<', ':']);
            let lead = if lead.is_empty() { block[..line_at].trim_end() } else { lead };
            if (ends_ci(lead, "generated from") && !after_undisclosed) || ends_ci(lead, "expanded from") {
                aliases.push(a);
                continue;
            }
            // The sender a text names ("from x@y via localhost", "mail from x@y") is no recipient
            // (Exim's hidden address, "generated from a@b" just after it, is).
            if ends_word_ci(lead, "from") && !after_undisclosed {
                continue;
            }
            // Nor the sender a notice greets ("Sorry a@b. Your mail to the following recipients
            // could not be delivered": AOL).
            if ends_word_ci(lead, "sorry") {
                continue;
            }
            // An address a server's answer gives to write to ("contact neko@example.org to
            // clarify") is nobody's recipient.
            if ["contact", "contact us at", "write to", "please e-mail", "please email"]
                .iter()
                .any(|w| ends_ci(lead, w))
            {
                continue;
            }
            if undisclosed && !after_undisclosed && line.starts_with("    ") {
                continue;
            }
            // Exim's "a@b <c@d>: malformed address": the address in brackets is the one that
            // failed, written out after what it was taken for.
            let rest = &line[off..];
            let next = rest.find(char::is_whitespace).map_or("", |n| rest[n..].trim_start());
            if taken_for.contains(&a)
                || next.starts_with('<')
                    && next
                        .find('>')
                        .is_some_and(|e| next[..e].contains('@') && next[e + 1..].starts_with(':'))
            {
                taken_for.push(a);
                continue;
            }
            // A role address counts only where a recipient's entry starts ("<support@x>: host
            // ... said:", "  support@x" alone on its line), not quoted in the text.
            let role = is_admin(&a);
            let starts_entry = entry_start(line, indented, off, &a);
            if role && !starts_entry {
                continue;
            }
            let list = if to_line || not(&a) {
                if !to_line {
                    weak_named.push(a.clone());
                }
                &mut weak
            } else if role {
                &mut admin
            } else {
                // First named inside an entry, on its indented lines: quoted in its answer.
                if starts_entry {
                    entries.push(a.clone());
                } else if !entries.is_empty()
                    && !strong.iter().any(|(_, x)| *x == a)
                    && (indented || diag::reply_code(&line[..off]).is_some_and(|c| !c.1.starts_with('2')))
                {
                    // (Or after a failure's code on its line: "550 5.7.1 ... blocked by ROTA
                    // DNSBL ... send an e-mail message to dz@rota.lv".)
                    quoted.push(a.clone());
                }
                &mut strong
            };
            if !list.iter().any(|(_, x)| *x == a) {
                list.push((line_at + off, a));
            }
        }
        line_at += line.len();
    }
    if strong.iter().any(|(_, a)| !aliases.contains(a)) {
        strong.retain(|(_, a)| !aliases.contains(a));
    }
    // Where the notice lists its recipients as entries, an address only quoted inside an
    // entry's answer is not another recipient.
    if strong.iter().any(|(_, a)| entries.contains(a)) {
        strong.retain(|(_, a)| entries.contains(a) || !quoted.contains(a));
    }
    // Recipients a transcript shows accepted, in a session whose message was accepted, did not
    // fail (a notice of a server's refusals lists the whole session).
    if strong.iter().any(|(_, a)| !envelope.accepted.contains(a)) {
        strong.retain(|(_, a)| !envelope.accepted.contains(a));
    }
    if strong.is_empty() && !admin.is_empty() {
        // A role address in a recipient's place ("<support@example.org>: host ... said: 550").
        strong = admin;
    }
    if strong.is_empty() {
        // Only people the notice is to or from: one the returned message was sent to, else
        // one the notice is not addressed to (that is the sender it reports to), else the first.
        // (Not the returned message's own sender where the notice names it only on a "To:"
        // line, its summary of the message: a To naming the sender hides the real recipients
        // in Bcc.)
        weak.retain(|(_, a)| !mail.original.is_own(a) || weak_named.contains(a));
        let pick = weak
            .iter()
            .position(|(_, a)| mail.original.to.contains(a))
            .or_else(|| weak.iter().position(|(_, a)| *a != mail.to))
            .unwrap_or(0);
        weak.drain(..pick);
        weak.truncate(1);
        if weak.is_empty() {
            // The notice names nobody: the returned message's recipient.
            if let Some(a) = mail.original.addressee() {
                weak.push((block.len(), a.clone()));
            }
        }
        return weak;
    }
    strong
}

/// Recipients a notice names by user ID alone (`\tkees (User not on post office)`): the
/// returned message's To address with that local part, else the ID as written. In block order.
pub(super) fn named_by_user_id(block: &str, mail: &Mail, rcpts: &mut Vec<(usize, String)>) {
    let mut at = 0;
    for line in block.split_inclusive('\n') {
        let indented = line.starts_with([' ', '\t']);
        let id = line.trim_start().split_once(" (").map(|(w, _)| w).unwrap_or("");
        let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if indented && plain {
            let resolved = mail
                .original
                .to
                .iter()
                .find(|a| a.split('@').next().is_some_and(|l| l.eq_ignore_ascii_case(id)))
                .cloned()
                .unwrap_or_else(|| id.to_ascii_lowercase());
            if !rcpts.iter().any(|(_, a)| *a == resolved) {
                rcpts.push((at + line.len() - line.trim_start().len(), resolved));
            }
        }
        at += line.len();
    }
    rcpts.sort_by_key(|r| r.0);
}

/// The returned message's To addresses a list's notice is about: those whose local part the
/// notice names as a word ("the group you tried to contact (staff)"), else all of them.
pub(super) fn list_addresses(blk: &str, to: &[String]) -> Vec<(usize, String)> {
    let lower = blk.to_ascii_lowercase();
    let named = |a: &String| {
        let local = a.split('@').next().unwrap_or("");
        let b = lower.as_bytes();
        let word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+' | b'@');
        !local.is_empty()
            && lower
                .match_indices(local)
                .any(|(i, _)| (i == 0 || !word(b[i - 1])) && b.get(i + local.len()).is_none_or(|&c| !word(c)))
    };
    let mut picked: Vec<&String> = to.iter().filter(|a| named(a)).collect();
    if picked.is_empty() {
        picked = to.iter().collect();
    }
    picked
        .into_iter()
        .map(|a| (lower.find(a.as_str()).unwrap_or(blk.len()), a.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_an_answer_names_that_are_no_recipients() {
        let block =
            "<kijitora@example.org>\n    (reason: 554 A problem occurred. (Ask your postmaster or contact neko@example.org to clarify.))\n";
        let found: Vec<String> = recipients(block, &Mail::default()).into_iter().map(|r| r.1).collect();
        assert_eq!(found, ["kijitora@example.org"]);
        // Nor is the returned message's envelope sender that an answer quotes.
        let block = "<ann@example.net>: host mx.example.net said: 550 5.1.0 <bounce@lists.example.org> sender rejected\n";
        let mut mail = Mail::default();
        mail.original.return_path = "bounce@lists.example.org".into();
        let found: Vec<String> = recipients(block, &mail).into_iter().map(|r| r.1).collect();
        assert_eq!(found, ["ann@example.net"]);
        // Only the notice's own people named (a message its sender sent to itself): the one the
        // returned message went to, not the one the notice is addressed to.
        let block = "A message from <error+18@example.com> to:\n-> kim@example.com\nwas considered unsolicited bulk e-mail.\n";
        let mut mail = Mail {
            to: "error+18@example.com".into(),
            ..Mail::default()
        };
        mail.original.from = "kim@example.com".into();
        mail.original.to = vec!["kim@example.com".into()];
        let found: Vec<String> = recipients(block, &mail).into_iter().map(|r| r.1).collect();
        assert_eq!(found, ["kim@example.com"]);
    }

    #[test]
    fn user_ids_resolve_to_the_returned_message_or_stay_as_written() {
        let mut mail = Mail::default();
        mail.original.to = vec!["ann@example.org".into(), "kees@example.org".into()];
        let block = "\tpiet@example.org (User not on post office)\n\tKees (User not on post office)\n\tjoost (Mailbox is full)\nnot indented (no)\n";
        let mut rcpts = vec![(1, "piet@example.org".to_string())];
        named_by_user_id(block, &mail, &mut rcpts);
        let names: Vec<&str> = rcpts.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(names, ["piet@example.org", "kees@example.org", "joost"]);
        assert!(rcpts.windows(2).all(|w| w[0].0 < w[1].0), "in block order: {rcpts:?}");
    }
}
