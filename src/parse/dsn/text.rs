//! Non-standard bounces: one shared reader driven by a table of MTA signatures.
//!
//! A bounce text is read in three steps: cut out the error block (after the family's start
//! marker, up to where the returned message begins), find the failed recipients in it (every
//! address not known to be the sender, in order), and read each recipient's entry for codes,
//! host and command (`entry.rs`, with [`super::diag`]'s patterns). The per-MTA knowledge
//! is only data: [`FAMILIES`], in [`super::families`].

use super::diag;
use super::entry::{
    fill, later_entries, mentions, session_host, shared_tail, stretch, summary_context, transcript_from_command, up_to_rule, Block,
};
use super::families::{Family, END, FAMILIES};
use super::mail::{ends_ci, starts_ci, Mail};
use super::Found;
use crate::record::Action;
use aho_corasick::AhoCorasick;
use std::sync::LazyLock;

/// A line that starts the returned message's header block, or a report's fields.
fn starts_headers(line: &str) -> bool {
    let l = line.as_bytes();
    if l.first().is_none_or(|c| c.is_ascii_whitespace()) {
        return false;
    }
    [
        "received: ",
        "return-path: ",
        "dkim-signature:",
        "x-received:",
        "arc-seal:",
        "authentication-results:",
        "received-spf:",
        // A report's fields, written in the text (a status part labelled as text).
        "reporting-mta:",
    ]
    .iter()
    .any(|p| starts_ci(line, p))
}

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

/// Local parts of administrative addresses, used only when nothing else is found.
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

/// Every family's detection signatures in one automaton; the pattern's family index beside it.
static DETECT: LazyLock<(AhoCorasick, Vec<usize>)> = LazyLock::new(|| {
    let (pats, owners): (Vec<&str>, Vec<usize>) = FAMILIES
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.detect.iter().map(move |d| (*d, i)))
        .unzip();
    // Case-sensitive over lower-cased texts, leftmost-first: with thirty-odd literals the
    // automaton then has a vector skip loop (Teddy), which a case-blind or standard-semantics
    // one does not get. As signatures do not overlap, the matches are the same.
    let ac = AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(pats)
        .expect("signatures");
    (ac, owners)
});

/// The common end markers and every family's own in one automaton: `None` for a common one.
static ENDS: LazyLock<(AhoCorasick, Vec<Option<usize>>)> = LazyLock::new(|| {
    let common = END.iter().map(|m| (*m, None));
    let own = FAMILIES
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.end.iter().map(move |m| (*m, Some(i))));
    let (pats, owners): (Vec<&str>, Vec<Option<usize>>) = common.chain(own).unzip();
    (AhoCorasick::new(pats).expect("end markers"), owners)
});

/// The family a message belongs to, if any signature matches (detected once per message).
pub fn family(mail: &Mail) -> Option<&'static Family> {
    *mail.family.get_or_init(|| detect_family(mail))
}

fn detect_family(mail: &Mail) -> Option<&'static Family> {
    let mut end = mail.text.len().min(8192);
    while !mail.text.is_char_boundary(end) {
        end -= 1;
    }
    // The first family in table order that has any signature in the From, the Subject or the
    // first 8 KiB of the text. No signature overlaps another (a test says so), so the plain
    // left-to-right search (with its fast literal prefilter) sees every one.
    let (ac, owners) = &*DETECT;
    [mail.from_text.as_str(), mail.subject.as_str(), &mail.text[..end]]
        .map(str::to_ascii_lowercase)
        .iter()
        .flat_map(|t| ac.find_iter(t))
        .map(|m| owners[m.pattern().as_usize()])
        .min()
        .map(|i| &FAMILIES[i])
}

/// The error block of a bounce text.
fn block<'a>(text: &'a str, fam: Option<&Family>) -> &'a str {
    let lower = text.to_ascii_lowercase();
    let mut begin = 0;
    if let Some(f) = fam {
        if let Some(p) = f.start.iter().filter_map(|s| lower.find(s)).min() {
            begin = lower[p..].find('\n').map(|n| p + n + 1).unwrap_or(p);
            // A start marker that leaves nothing keeps the top of the text.
            if begin >= text.len() {
                begin = 0;
            }
        }
    }
    let mut pos = begin;
    let mut end = text.len();
    let fam_index = fam.and_then(|f| FAMILIES.iter().position(|x| std::ptr::eq(x, f)));
    let (ends, owners) = &*ENDS;
    let is_end = |l: &str| {
        ends.find_overlapping_iter(l).any(|m| {
            let owner = owners[m.pattern().as_usize()];
            owner.is_none() || owner == fam_index
        })
    };
    let mut seen_text = false;
    for line in text[begin..].split_inclusive('\n') {
        let l = lower[pos..pos + line.len()].trim();
        if seen_text && (is_end(l) || starts_headers(line)) {
            end = pos;
            break;
        }
        if !l.is_empty() {
            seen_text = true;
        }
        pos += line.len();
    }
    &text[begin..end]
}

/// The address on the line that holds `fam`'s start marker, if it names one.
fn start_line_address(text: &str, fam: &Family) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let p = fam.start.iter().filter_map(|s| lower.find(s)).min()?;
    diag::addresses(&text[p..line_end(text, p)]).next().map(|(_, a)| a)
}

/// Strip `> ` quoting when most lines of the text are quoted (a forwarded bounce).
fn unquote(text: &str) -> Option<String> {
    let total = text.lines().filter(|l| !l.trim().is_empty()).count();
    let quoted = text.lines().filter(|l| l.starts_with('>')).count();
    if total < 4 || quoted * 2 < total {
        return None;
    }
    Some(
        text.lines()
            .map(|l| l.strip_prefix("> ").or_else(|| l.strip_prefix('>')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Where the line holding offset `p` of `text` starts.
pub(super) fn line_start(text: &str, p: usize) -> usize {
    text[..p].rfind('\n').map_or(0, |n| n + 1)
}

/// The paragraph of `text` from the line holding offset `p` to the next blank line.
pub(super) fn paragraph_from(text: &str, p: usize) -> &str {
    let rest = &text[line_start(text, p)..];
    rest.find("\n\n").map_or(rest, |e| &rest[..e])
}

/// Where the line holding offset `p` of `text` ends (at its `\n`, or the text's end).
pub(super) fn line_end(text: &str, p: usize) -> usize {
    text[p..].find('\n').map_or(text.len(), |n| p + n)
}

/// Recipients of a block with the offset of their first mention, in order.
fn recipients(block: &str, mail: &Mail) -> Vec<(usize, String)> {
    // The people the notice goes to or comes from, and the returned message's own sender
    // and envelope sender (a server's answer may quote it: "<bounce@x> sender rejected").
    let not = |a: &str| a == mail.to || a == mail.from || a == mail.original.from || a == mail.original.return_path;
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
    for line in block.split_inclusive('\n') {
        let trimmed = line.trim();
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
            if (matches!(before, Some('=') | Some('/')) && !typed) || is_admin(&a) || sender_line() {
                continue;
            }
            // Exim ("generated from") and Postfix ("expanded from", perhaps at the end of the
            // line before) name the alias an address came from: not a recipient of its own.
            let lead = line[..off].trim_end_matches([' ', '\t', '<']);
            let lead = if lead.is_empty() { block[..line_at].trim_end() } else { lead };
            if (ends_ci(lead, "generated from") && !after_undisclosed) || ends_ci(lead, "expanded from") {
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
            let list = if to_line || not(&a) { &mut weak } else { &mut strong };
            if !list.iter().any(|(_, x)| *x == a) {
                list.push((line_at + off, a));
            }
        }
        line_at += line.len();
    }
    if strong.is_empty() {
        // Only people the notice is to or from: one the returned message was sent to, else
        // one the notice is not addressed to (that is the sender it reports to), else the first.
        let pick = weak
            .iter()
            .position(|(_, a)| mail.original.to.contains(a))
            .or_else(|| weak.iter().position(|(_, a)| *a != mail.to))
            .unwrap_or(0);
        weak.drain(..pick);
        weak.truncate(1);
        if weak.is_empty() {
            // The notice names nobody: the returned message's recipient.
            if let Some(a) = mail.original.to.first() {
                weak.push((block.len(), a.clone()));
            }
        }
        return weak;
    }
    strong
}

/// Recipients a notice names by user ID alone (`\tkees (User not on post office)`): the
/// returned message's To address with that local part, else the ID as written. In block order.
fn named_by_user_id(block: &str, mail: &Mail, rcpts: &mut Vec<(usize, String)>) {
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

/// The one recipient the notice's text names, if it names exactly one.
pub fn sole_recipient(mail: &Mail) -> Option<String> {
    match read(mail)?.as_slice() {
        [one] => Some(one.recipient.clone()),
        _ => None,
    }
}

/// Read a non-standard bounce; None when it does not look like one or names no recipient.
pub fn read(mail: &Mail) -> Option<Vec<Found>> {
    let fam = family(mail);
    if fam.is_none() && !mail.looks_like_bounce() {
        return None;
    }
    let unquoted = unquote(&mail.text);
    let text = unquoted.as_deref().unwrap_or(&mail.text);
    let mut blk = block(text, fam);
    let mut rcpts = recipients(blk, mail);
    let failed = mail.failed_recipients();
    if !failed.is_empty() {
        // The MTA's own list of failed recipients wins over what the text mentions.
        let lower = blk.to_ascii_lowercase();
        rcpts = failed.into_iter().map(|a| (lower.find(&a).unwrap_or(blk.len()), a)).collect();
        rcpts.sort_by_key(|r| r.0);
        rcpts.dedup_by(|a, b| a.1 == b.1);
    } else if fam.is_some_and(|f| f.original_to) && !mail.original.to.is_empty() {
        rcpts = list_addresses(blk, &mail.original.to);
    }
    if fam.is_some_and(|f| f.user_ids) {
        named_by_user_id(blk, mail, &mut rcpts);
    }
    if let Some(named) = fam.filter(|f| f.one_recipient).and_then(|f| start_line_address(text, f)) {
        // The recipient the start line names; the block (below it) may quote other addresses.
        rcpts = vec![(blk.to_ascii_lowercase().find(&named).unwrap_or(blk.len()), named)];
    }
    if rcpts.is_empty() && fam.is_some() {
        blk = block(text, None);
        rcpts = recipients(blk, mail);
    }
    if rcpts.is_empty() {
        return None;
    }
    let action = block_action(blk);
    // A delay warning says so above its block (a banner) or in its subject; what follows in the
    // block ("could not be delivered for more than 4 hours", "was rejected") is no failure.
    let notice = &text[..(blk.as_ptr() as usize - text.as_ptr() as usize) + blk.len()];
    let warning = action != Action::Expired && (WARNING.is_match(notice) || WARNING_SUBJECT.is_match(&mail.subject));
    let blk = Block::new(blk, rcpts, fam.is_some_and(|f| f.answer_above));
    let mut out = Vec::with_capacity(blk.rcpts.len());
    for (i, (_, rcpt)) in blk.rcpts.iter().enumerate() {
        let entry = blk.entry(i);
        let mut f = Found {
            recipient: rcpt.clone(),
            action: Some(action),
            ..Found::default()
        };
        fill(&mut f, &entry, &blk);
        let seg = entry.text;
        if let Some(orig) = seg.lines().find_map(|l| {
            let l = l.trim();
            (starts_ci(l, "original address:") || starts_ci(l, "original-recipient:"))
                .then(|| diag::addresses(l).next().map(|(_, a)| a))
                .flatten()
        }) {
            if orig != f.recipient {
                f.original_recipient = orig;
            }
        }
        // (A warning's "... will give up" is what may come, not what happened.)
        if warning
            && matches!(f.action, Some(Action::Failed | Action::Expired))
            && !f.reply_code.starts_with('5')
            && !f.status.starts_with('5')
        {
            f.action = Some(Action::Delayed);
        }
        out.push(f);
    }
    Some(out)
}

/// The returned message's To addresses a list's notice is about: those whose local part the
/// notice names as a word ("the group you tried to contact (staff)"), else all of them.
fn list_addresses(blk: &str, to: &[String]) -> Vec<(usize, String)> {
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

/// One case-blind pattern for a list of phrases, each space of a phrase matching any run of
/// white space: a notice's own line width may break a phrase anywhere.
fn phrases(list: &[&str]) -> regex::Regex {
    let alternatives: Vec<String> = list
        .iter()
        .map(|p| p.split(' ').map(regex::escape).collect::<Vec<_>>().join(r"\s+"))
        .collect();
    regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).expect("phrases")
}

static GAVE_UP: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "retry timeout exceeded",
        "retry time not reached",
        "message expired",
        "delivery time expired",
        "could not be delivered for",
        "cannot send message for",
        "too long in queue",
        "been in the queue too long",
        "give up",
        "giving up",
        "gave up",
        "time limit exceeded",
        "have been failing for a long time",
    ])
});

static EXPIRED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "retry timeout exceeded",
        "message expired",
        "delivery time expired",
        "too long in queue",
        "been in the queue too long",
        // Exim: "all hosts have been failing for a long time and were last tried after this
        // message arrived".
        "have been failing for a long time",
    ])
});

static DELAYED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "has not yet been delivered",
        "will continue to try",
        "will retry",
        "delivery attempts will continue",
        "delayed",
        "still trying",
    ])
});

/// What only a delay warning says, whatever else its text says.
static WARNING: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "this is a warning only",
        "warning message only",
        "do not need to resend your message",
        "is still awaiting delivery",
        "delays in delivering your message",
        "message still undelivered after",
        // Exim's delay warning: "A message that you sent has not yet been delivered to one or
        // more of its recipients after more than 24 hours on the queue".
        "has not yet been delivered to one or more of its",
    ])
});

/// Delay warnings' subjects (Postfix, Sendmail, Courier, Gmail).
static WARNING_SUBJECT: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "delayed mail",
        "could not send message for past",
        "delivery status notification (delay)",
        "delivery delayed",
    ])
});

/// A notice that a message was delivered ("Your message has been successfully delivered to the
/// following recipients", "Delivery Status Notification (Success)").
static DELIVERED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "successfully delivered",
        "delivered successfully",
        "delivery to the following recipients was successful",
        "delivery status notification (success)",
        "successful mail delivery report",
    ])
});

/// A notice with no status part that says its message was delivered and names no failure or
/// delay: no failure to read from it, whatever addresses it lists.
pub fn says_delivered(mail: &Mail) -> bool {
    (DELIVERED.is_match(&mail.text) || DELIVERED.is_match(&mail.subject))
        && !FAILED.is_match(&mail.text)
        && !DELAYED.is_match(&mail.text)
        && diag::reply_code(&mail.text).is_none_or(|c| c.1.starts_with('2'))
        && diag::status(&mail.text).is_none_or(|c| c.1.starts_with('2'))
}

static FAILED: LazyLock<regex::Regex> = LazyLock::new(|| {
    phrases(&[
        "permanent",
        "fatal",
        "could not be delivered",
        "failed",
        "undeliverable",
        "giving up",
        "rejected",
    ])
});

pub(super) fn is_expired(text: &str) -> bool {
    GAVE_UP.is_match(text)
}

/// failed, delayed or expired, from what the block says.
fn block_action(blk: &str) -> Action {
    action_of(&[blk])
}

/// failed, delayed or expired, from what some texts say together.
pub(super) fn action_of(texts: &[&str]) -> Action {
    if texts.iter().any(|t| EXPIRED.is_match(t)) {
        Action::Expired
    } else if texts.iter().any(|t| DELAYED.is_match(t)) && !texts.iter().any(|t| FAILED.is_match(t)) {
        Action::Delayed
    } else {
        Action::Failed
    }
}

/// Fill what a delivery status report left out (codes, host, command) from `notice`, the
/// human-readable notice (the mail's text, or the part of it above report fields written in the
/// text itself), reading each recipient's stretch of it.
pub fn complete(found: &mut [Found], mail: &Mail, notice: &str) {
    if found
        .iter()
        .all(|f| !f.reply_code.is_empty() && !f.remote_host.is_empty() && !f.diagnostic.is_empty() && !f.smtp_command.is_empty())
    {
        return;
    }
    let fam = family(mail);
    let blk = block(notice, fam);
    let lower = blk.to_ascii_lowercase();
    // Where each recipient's address first stands in the block.
    let starts: Vec<Option<usize>> = found
        .iter()
        .map(|f| if f.recipient.is_empty() { None } else { lower.find(&f.recipient) })
        .collect();
    let single = found.len() == 1;
    // With several recipients, every place each is named: a stretch ends where another one is
    // named, and one named again further on (a session transcript after the list) may hold its
    // command there.
    let all_mentions = if single {
        Vec::new()
    } else {
        let rcpts: Vec<(usize, String)> = found
            .iter()
            .zip(&starts)
            .map(|(f, at)| (at.unwrap_or(blk.len()), f.recipient.clone()))
            .collect();
        mentions(blk, &rcpts)
    };
    // A session transcript after everyone is named that names none of them: theirs in common.
    let tail = shared_tail(blk, &all_mentions);
    for (k, (f, at)) in found.iter_mut().zip(starts.iter().copied()).enumerate() {
        // Where to read this recipient's codes, host and command: its stretch, then (for a
        // report's one recipient) the whole notice. A notice that does not name the one
        // recipient (it names the address an alias led to) is still about it, as a whole.
        // A Sendmail summary line with its session above: that is the recipient's answer.
        let summed_up = at.and_then(|at| summary_context(blk, at));
        let (seg, whole) = match (at, summed_up) {
            (_, Some((from, to))) => (&blk[from..to], None),
            (Some(at), None) if !single => {
                let next = all_mentions.iter().find(|m| m.1 != k && m.0 > at).map(|m| m.0);
                (stretch(blk, at, next), None)
            }
            (Some(at), None) => (stretch(blk, at, None), Some(blk)),
            (None, _) if single => (blk, None),
            (None, _) => continue,
        };
        if summed_up.is_some() && f.diagnostic.is_empty() {
            f.diagnostic = diag::squeeze(seg, 600);
        } else if at.is_some() && f.diagnostic.is_empty() {
            let rest = seg.get(f.recipient.len()..).unwrap_or("").trim_start_matches(['>', ':', ' ']);
            if diag::reply_code(rest).is_some() || diag::status(rest).is_some() {
                f.diagnostic = diag::squeeze(up_to_rule(rest), 600);
            } else {
                // No code: the words up to the end of the paragraph ("mailbox is full: retry
                // timeout exceeded"); with nothing after the address but a label ("because:"
                // on a paragraph of its own, as Domino writes it), the paragraph after that.
                let label_only = |p: &str| {
                    let p = p.trim();
                    p.is_empty() || (p.ends_with(':') && p.len() < 40 && !p.contains('\n'))
                };
                let mut paras = rest.split("\n\n").take(3);
                let first = paras.next().unwrap_or("");
                let para = if label_only(first) {
                    // (Not another recipient's.)
                    paras
                        .find(|p| !label_only(p))
                        .filter(|p| !p.contains('@') || p.to_ascii_lowercase().contains(&f.recipient))
                        .unwrap_or("")
                } else {
                    first
                };
                f.diagnostic = diag::squeeze(para, 600);
            }
        }
        if at.is_none() && single && f.diagnostic.is_empty() {
            // A notice that does not name its one recipient (it names the alias or program the
            // address led to): its answer is the paragraph from the line with the first code.
            if let Some((p, _)) = diag::reply_code(seg) {
                f.diagnostic = diag::squeeze(paragraph_from(seg, p), 600);
            }
        }
        // The answer the stretch gives, looked for once, when the reply code or the host needs it.
        let seg_answer = std::cell::OnceCell::new();
        let seg_answer = || seg_answer.get_or_init(|| diag::answer_code(seg)).clone();
        if f.reply_code.is_empty() {
            let from_diagnostic = if at.is_some() && summed_up.is_none() {
                diag::answer_code(&f.diagnostic)
            } else {
                None
            };
            if let Some((_, c)) = from_diagnostic.or_else(seg_answer) {
                if f.status.is_empty() || f.status.as_bytes()[0] == c.as_bytes()[0] {
                    f.reply_code = c;
                }
            }
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() {
            // Several sessions: the one the answer came in.
            if let Some(found) = seg_answer().and_then(|c| session_host(blk, seg, c.0)) {
                (f.remote_host, f.remote_ip) = found;
            }
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() {
            // The stretch as written first when the whole notice comes next.
            let (h, ip) = if whole.is_some() {
                diag::remote_host_exact(seg)
            } else {
                diag::remote_host(seg)
            };
            (f.remote_host, f.remote_ip) = match whole {
                Some(w) if h.is_empty() && ip.is_empty() => diag::remote_host(w),
                _ => (h, ip),
            };
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() {
            // Named again further on with its answer (SurfControl lists everyone first, then
            // "a@b: [192.0.2.5], 550 ..." for each).
            if let Some(found) = later_entries(&all_mentions, k, blk.len())
                .map(|(a, e)| diag::remote_host_exact(&blk[line_start(blk, a)..e]))
                .find(|(h, ip)| !h.is_empty() || !ip.is_empty())
            {
                (f.remote_host, f.remote_ip) = found;
            }
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() && !tail.is_empty() {
            (f.remote_host, f.remote_ip) = diag::remote_host(tail);
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() && !single {
            f.remote_host = diag::notice_host(blk).unwrap_or_default();
        }
        if f.smtp_command.is_empty() {
            // (Named in a transcript's ">>> RCPT To:<a@b>": from that line, so the command that
            // drew the answer below it is read first.)
            f.smtp_command = diag::command(at.map_or(seg, |at| transcript_from_command(blk, at, seg)));
        }
        if f.smtp_command.is_empty() {
            // Named again further on: a transcript's ">>> RCPT To:<b@y>" and the answer to it;
            // or named only in the answer, the exchange since the line that named another one
            // (">>> ." then "554 5.7.1 <b@y>... Message rejected").
            f.smtp_command = later_entries(&all_mentions, k, blk.len())
                .map(|(a, e)| {
                    let line = line_start(blk, a);
                    let own = diag::command(&blk[line..e]);
                    if !own.is_empty() {
                        return own;
                    }
                    let before = all_mentions.iter().rev().find(|m| m.0 < a).map_or(0, |m| line_end(blk, m.0));
                    // (Not past its own line's start: the other one may be named on it too.)
                    diag::command(&blk[before.min(line)..e])
                })
                .find(|c| !c.is_empty())
                .unwrap_or_else(|| diag::command(tail));
        }
        if let Some(at) = at {
            if f.smtp_command.is_empty() && lower[..at].trim_end_matches(['<', ' ']).ends_with("rcpt to:") {
                // A session transcript: ">>> RCPT TO:<address>" then the answer.
                f.smtp_command = "RCPT".into();
            }
        }
        if f.smtp_command.is_empty() && !f.remote_host.is_empty() {
            // Not named in the transcript at all: the session with its host, when one was
            // refused before any recipient ("... while talking to mail.example.org.:" then
            // ">>> MAIL From:<a@b>" and its refusal).
            let head = format!("{} {}", diag::SESSION_HEAD, f.remote_host.to_ascii_lowercase());
            if let Some(h) = lower.find(&head) {
                let end = lower[h + head.len()..]
                    .find(diag::SESSION_HEAD)
                    .map_or(blk.len(), |e| h + head.len() + e);
                f.smtp_command = diag::command(&blk[h..end]);
            }
        }
    }
}

/// Amazon SES notifications (JSON, often wrapped in an SNS envelope whose `Message` is the
/// notification as a string): one recipient per `bouncedRecipients` entry.
pub fn read_json(mail: &Mail) -> Option<(Vec<Found>, &'static str)> {
    let t = mail.text.trim();
    let start = t.find('{')?;
    if !t[..start].trim().is_empty() || !t.contains("notificationType") && !t.contains("eventType") {
        return None;
    }
    let end = t.rfind('}')?;
    let body = t.get(start..=end)?;
    // A long JSON line may arrive folded (a line break, maybe a space, inside a string).
    let mut v: serde_json::Value = serde_json::from_str(body)
        .or_else(|_| serde_json::from_str(&body.replace("\n ", "").replace('\n', "")))
        .ok()?;
    if let Some(inner) = v.get("Message").and_then(|m| m.as_str()) {
        v = serde_json::from_str(inner).ok()?;
    }
    let kind = v
        .get("notificationType")
        .or_else(|| v.get("eventType"))
        .and_then(|k| k.as_str())
        .unwrap_or("");
    let s = |x: Option<&serde_json::Value>| x.and_then(|y| y.as_str()).unwrap_or("").to_string();
    match kind {
        "Bounce" => {
            let b = v.get("bounce")?;
            let permanent = s(b.get("bounceType")) == "Permanent";
            let when = super::mail::parse_date(&s(b.get("timestamp")))
                .or_else(|| chrono::DateTime::parse_from_rfc3339(&s(b.get("timestamp"))).ok());
            let reporting = s(b.get("reportingMTA"));
            let list = b.get("bouncedRecipients")?.as_array()?;
            let found =
                list.iter()
                    .filter_map(|r| {
                        let recipient = s(r.get("emailAddress")).to_ascii_lowercase();
                        if recipient.is_empty() {
                            return None;
                        }
                        let diagnostic = s(r.get("diagnosticCode"));
                        let diagnostic = diagnostic
                            .split_once(';')
                            .filter(|(t, _)| !t.contains(' '))
                            .map(|(_, d)| d.trim())
                            .unwrap_or(&diagnostic)
                            .to_string();
                        let status = diag::status(&s(r.get("status")))
                            .map(|x| x.1)
                            .or_else(|| diag::status(&diagnostic).map(|x| x.1))
                            .unwrap_or_default();
                        let action = super::rfc3464::action_of(&s(r.get("action")).to_ascii_lowercase(), &status, "")
                            .or(Some(if permanent { Action::Failed } else { Action::Delayed }));
                        Some(Found {
                            recipient,
                            action,
                            reply_code: diag::reply_code(&diagnostic).map(|x| x.1).unwrap_or_default(),
                            status,
                            smtp_command: diag::command(&diagnostic),
                            reporting_mta: reporting.split_once(';').map(|(_, h)| h.trim()).unwrap_or(&reporting).to_string(),
                            diagnostic: diag::squeeze(&diagnostic, 600),
                            when,
                            ..Found::default()
                        })
                    })
                    .collect();
            Some((found, "bounce"))
        }
        "Complaint" => Some((Vec::new(), "feedback")),
        _ => Some((Vec::new(), "other")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notice's own line width may break a phrase anywhere: the words still say it.
    #[test]
    fn wrapped_phrases_still_count() {
        assert_eq!(
            block_action("I'm not going to try again; this message has been in the\nqueue too long."),
            Action::Expired
        );
        assert!(is_expired("Giving up on 192.0.2.1.\nretry timeout\n  exceeded"));
        let raw = "From: MAILER-DAEMON@mx.example.net\nTo: kim@example.net\nSubject: failure notice\n\n\
                   Hi. This is the qmail-send program at mx.example.net.\n\
                   I'm afraid I wasn't able to deliver your message to the following addresses.\n\n\
                   <lee@example.org>:\nSorry, no mailbox here by that name.\n\n\
                   --- Below this line is a copy of the message.\n\nSubject: hello\n  From:\n  kim.other@example.net\n\nhi\n";
        let mail = Mail::parse(raw.as_bytes()).unwrap();
        // "From:" alone on its line labels the address below it: a sender, not a recipient.
        let found = read(&mail).unwrap();
        assert_eq!(found.iter().map(|f| f.recipient.as_str()).collect::<Vec<_>>(), ["lee@example.org"]);
        let block = "Could not deliver.\nFrom:\n  kim.other@example.net\n<lee@example.org>: unknown\n";
        let rcpts: Vec<String> = recipients(block, &mail).into_iter().map(|r| r.1).collect();
        assert_eq!(rcpts, ["lee@example.org"]);
        // The sender in a session transcript, and Exchange's address type glued on.
        let block = " In:  MAIL FROM:<kim.other@example.net>\n Out: 250 Ok\n In:  RCPT TO:<lee@example.org>\n\
                     SMTP=mo@example.org on 3/11/25\n";
        let rcpts: Vec<String> = recipients(block, &mail).into_iter().map(|r| r.1).collect();
        assert_eq!(rcpts, ["lee@example.org", "mo@example.org"]);
    }

    /// Detection reads signatures left to right without overlaps: that sees every signature in
    /// a text only while no signature contains another or starts with another's ending.
    #[test]
    fn signatures_do_not_overlap() {
        let sigs: Vec<(usize, &str)> = FAMILIES
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.detect.iter().map(move |d| (i, *d)))
            .collect();
        for &(i, a) in &sigs {
            assert_eq!(a, a.to_ascii_lowercase(), "signatures are lower-case: {a}");
            for &(j, b) in &sigs {
                if std::ptr::eq(a, b) {
                    continue;
                }
                assert!(!b.contains(a) || i == j, "{a:?} is inside {b:?}");
                // An overlap that starts inside a word of `a` ("administrator|s" and "s|orry")
                // could only meet in run-together words; one at a word's start could be real.
                for k in 1..a.len().min(b.len()) {
                    let at = a.len() - k;
                    if a.is_char_boundary(at) && b.is_char_boundary(k) && !a.as_bytes()[at - 1].is_ascii_alphanumeric() {
                        assert!(a[at..] != b[..k] || i == j, "{a:?} ends with the start of {b:?}");
                    }
                }
            }
        }
    }

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
