//! Non-standard bounces: one shared reader driven by a table of MTA signatures.
//!
//! A bounce text is read in three steps: cut out the error block (after the family's start
//! marker, up to where the returned message begins), find the failed recipients in it
//! (`recipients.rs`), and read each recipient's entry for codes, host and command (`entry.rs`,
//! with [`super::diag`]'s patterns) and what happened to it (`action.rs`). The per-MTA knowledge
//! is only data: [`FAMILIES`], in [`super::families`].

use super::action::{block_action, is_warning};
use super::diag;
use super::entry::{fill, Block};
use super::families::{Family, END, FAMILIES};
use super::mail::{starts_ci, Mail};
use super::recipients::{list_addresses, named_by_user_id, recipients};
use super::Found;
use crate::prefilter::Automaton;
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

/// Every family's detection signatures in one automaton; the pattern's family index beside it.
static DETECT: LazyLock<(Automaton, Vec<usize>)> = LazyLock::new(|| {
    let (pats, owners): (Vec<&str>, Vec<usize>) = FAMILIES
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.detect.iter().map(move |d| (*d, i)))
        .unzip();
    // Case-sensitive over lower-cased texts, leftmost-first: with thirty-odd literals the
    // automaton then has a vector skip loop (Teddy), which a case-blind or standard-semantics
    // one does not get. As signatures do not overlap, the matches are the same.
    let mut builder = AhoCorasick::builder();
    builder.match_kind(aho_corasick::MatchKind::LeftmostFirst);
    (Automaton::new(&builder, &pats, true), owners)
});

/// The common end markers and every family's own in one automaton: `None` for a common one.
static ENDS: LazyLock<(Automaton, Vec<Option<usize>>)> = LazyLock::new(|| {
    let common = END.iter().map(|m| (*m, None));
    let own = FAMILIES
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.end.iter().map(move |m| (*m, Some(i))));
    let (pats, owners): (Vec<&str>, Vec<Option<usize>>) = common.chain(own).unzip();
    (Automaton::new(&AhoCorasick::builder(), &pats, true), owners)
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
        .flat_map(|t| ac.get().find_iter(t))
        .map(|m| owners[m.pattern().as_usize()])
        .min()
        .map(|i| &FAMILIES[i])
}

/// The error block of a bounce text.
pub(super) fn block<'a>(text: &'a str, fam: Option<&Family>) -> &'a str {
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
        ends.get().find_overlapping_iter(l).any(|m| {
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

/// The address each line holding one of `fam`'s start markers names (its first), with where
/// that line starts and where the line below it starts in `text`, in order.
fn start_line_addresses(text: &str, fam: &Family) -> Vec<(usize, usize, String)> {
    let lower = text.to_ascii_lowercase();
    let mut named: Vec<(usize, usize, String)> = Vec::new();
    let mut at = 0;
    for line in lower.split_inclusive('\n') {
        if fam.start.iter().any(|s| line.contains(s)) {
            if let Some((_, a)) = diag::addresses(&text[at..at + line.len()]).next() {
                if !named.iter().any(|(_, _, x)| *x == a) {
                    named.push((at, at + line.len(), a));
                }
            }
        }
        at += line.len();
    }
    named
}

/// Strip `> ` quoting when most lines of the text are quoted (a forwarded bounce).
pub(super) fn unquote(text: &str) -> Option<String> {
    // Most texts quote nothing: no line of them starts with `>`.
    if !text.starts_with('>') && memchr::memmem::find(text.as_bytes(), b"\n>").is_none() {
        return None;
    }
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
    if rcpts.is_empty() && fam.is_some() {
        blk = block(text, None);
        rcpts = recipients(blk, mail);
    }
    if rcpts.is_empty() {
        return None;
    }
    // A delay warning says so above its block (a banner) or in its subject; what follows in the
    // block ("could not be delivered for more than 4 hours", "was rejected") is no failure.
    let blk_end = (blk.as_ptr() as usize - text.as_ptr() as usize) + blk.len();
    let notice = &text[..blk_end];
    let warning = std::cell::OnceCell::new();
    let warning = || *warning.get_or_init(|| is_warning(notice, &mail.subject));
    // Where each start line names its recipient, each one's section (from the line below its
    // start line to the next start line) is read as a notice of its own.
    let named = fam
        .filter(|f| f.named_on_start_line)
        .map(|f| start_line_addresses(text, f))
        .unwrap_or_default();
    let named: Vec<_> = named.into_iter().filter(|n| n.1 <= blk_end).collect();
    let sections: Vec<(&str, Vec<(usize, String)>)> = if named.is_empty() {
        vec![(blk, rcpts)]
    } else {
        named
            .iter()
            .enumerate()
            .map(|(k, (_, below, a))| {
                let end = named.get(k + 1).map_or(blk_end, |n| n.0);
                let sec = &text[*below..end.max(*below)];
                (
                    sec,
                    vec![(sec.to_ascii_lowercase().find(a.as_str()).unwrap_or(sec.len()), a.clone())],
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    for (blk, rcpts) in sections {
        read_section(blk, rcpts, fam, &warning, &mut out);
    }
    Some(out)
}

/// Read one error block whose recipients are known: each one's entry, its action and original
/// address.
fn read_section(blk: &str, rcpts: Vec<(usize, String)>, fam: Option<&Family>, warning: &dyn Fn() -> bool, out: &mut Vec<Found>) {
    let action = block_action(blk);
    let warning = action != Action::Expired && warning();
    let blk = Block::new(blk, rcpts, fam.is_some_and(|f| f.answer_above));
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
            // (Sendmail's alias below the address: "(expanded from: a@b)"; Exim's "(generated
            // from a@b)" below it; Postfix's "<a@b> (expanded from <c@d>):" beside it.)
            if starts_ci(l, "original address:") || starts_ci(l, "original-recipient:") || starts_ci(l, "(expanded from:") {
                return diag::addresses(l).next().map(|(_, a)| a);
            }
            l.match_indices('(')
                .find_map(|(i, _)| {
                    ["(generated from ", "(expanded from <"]
                        .iter()
                        .find(|p| starts_ci(&l[i..], p))
                        .map(|p| &l[i + p.len()..])
                })
                .and_then(|rest| diag::addresses(rest).next().map(|(_, a)| a))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender named under a label alone on its line, or in a session transcript, is no
    /// recipient; an address with Exchange's address type glued on is one.
    #[test]
    fn senders_under_a_label_or_in_a_transcript_are_no_recipients() {
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
}
