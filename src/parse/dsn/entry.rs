//! One recipient's entry in a non-standard bounce's error block.
//!
//! The text reader ([`super::text`]) cuts out the block and finds the recipients; this module
//! tells where each recipient's entry starts and ends (its stretch up to where another one is
//! named, an answer written before or above the address, the place it is named again with a
//! server answer), what the block says of every recipient, and reads codes, host, command and
//! diagnostic from the entry ([`fill`]), falling back to the whole block for what it does not
//! say.

use super::action::{action_of, is_expired};
use super::mail::{ends_ci, starts_ci};
use super::recipients::without_address_type;
use super::text::{line_end, line_start, paragraph_from};
use super::Found;
use super::{answer, diag};
use crate::parse::bytes::{reply_code_at, status_at};
use crate::record::Action;

/// The error block with its recipients, in order, and what every entry is read against.
pub(super) struct Block<'b> {
    pub text: &'b str,
    /// Each recipient with the offset of its first mention (the block's length: not named).
    pub rcpts: Vec<(usize, String)>,
    /// With several recipients, every place each is named: a stretch ends where another one is
    /// named next, and one named again further on (the notice lists everyone, then a part for
    /// administrators gives each one's server answer) may have its answer there.
    mentions: Vec<(usize, usize)>,
    /// What the block says before its first recipient: said of every recipient. (Nothing where
    /// each answer stands above its recipient: that text is the first one's own.)
    shared: &'b str,
    /// Recipients listed one per line with nothing else said, the last one's stretch running on
    /// over what follows the list: words after a blank line are not the last one's own.
    bare_list: bool,
    /// Each answer stands above its address (Lotus Notes).
    answer_above: bool,
    /// A session transcript after every recipient is named (Sendmail's "... while talking to
    /// mx.example.net.:", then ">>> DATA" and the answer) that names none of them: a refusal of
    /// the message in a session all of them shared, so said of each one too.
    tail: &'b str,
}

/// One recipient's entry.
pub(super) struct Entry<'b> {
    /// Where it starts in the block: the address, or where the recipient is named again with
    /// its answer (the block's length when the text does not name it).
    at: usize,
    /// Its text: the stretch from the address, or the line or lines that hold its answer.
    pub text: &'b str,
    /// The text holds the address within it (a Sendmail summary line with the session above
    /// it), not at its start or end: all of it is the recipient's answer.
    whole: bool,
    /// When this is the recipient's own entry among several: the text beside it that is also
    /// said of it (what stands above all entries, and the lines that name it again further on).
    around: Option<String>,
}

impl<'b> Block<'b> {
    pub fn new(text: &'b str, rcpts: Vec<(usize, String)>, answer_above: bool) -> Self {
        let first = if answer_above {
            0
        } else {
            rcpts.iter().map(|r| r.0).min().unwrap_or(0)
        };
        let mentions = if rcpts.len() > 1 { mentions(text, &rcpts) } else { Vec::new() };
        let bare_list = rcpts.len() > 1
            && rcpts.windows(2).all(|w| {
                text.get(w[0].0..w[1].0)
                    .is_some_and(|t| t.len() <= w[0].1.len() + 8 && !t.contains("\n\n"))
            });
        let tail = if answer_above { "" } else { shared_tail(text, &mentions) };
        Block {
            text,
            shared: &text[..first.min(text.len())],
            rcpts,
            mentions,
            bare_list,
            answer_above,
            tail,
        }
    }

    /// Recipient `i`'s entry.
    pub fn entry(&self, i: usize) -> Entry<'b> {
        let (blk, rcpts) = (self.text, &self.rcpts);
        let several = rcpts.len() > 1;
        let at = rcpts[i].0;
        let next_other = self.mentions.iter().find(|m| m.0 > at && m.1 != i).map(|m| m.0);
        let end = next_other.or_else(|| rcpts.get(i + 1).map(|n| n.0)).unwrap_or(blk.len());
        // A line that names the next recipient after words of its own ("SMTP Server <mx> rejected
        // recipient <b@y>") is that recipient's entry from its start. (So what a stretch says up
        // to there decides whether it names a failure: a transcript's "<<< 550 5.7.1" before
        // another recipient's address is that one's answer.)
        let cut = |at: usize, end: usize| {
            if at < blk.len() && end < blk.len() && line_start(blk, end) > at {
                entry_start(blk, at, line_start(blk, end))
            } else {
                end
            }
        };
        let (mut at, mut end) = (at, cut(at, end));
        let mut seg = if at >= blk.len() {
            blk
        } else {
            blk.get(at..end.max(at)).unwrap_or("")
        };
        if several && !says_failure(seg) {
            // (Named again inside its answer with the host that gave it, "SMTP:RCPT host mx:
            // 550 5.1.1 <a@b>... User unknown": that entry starts with its line. A transcript's
            // answer line, or an answer alone, stays as it is: its session is read around it.)
            let answer_start = |a: usize| {
                let from = line_start(blk, a);
                let before = &blk[from..a];
                if from < a
                    && diag::reply_code(before).is_some()
                    && diag::transcript_payload(before).is_none()
                    && !answer::remote_host_exact(before).0.is_empty()
                {
                    from
                } else {
                    a
                }
            };
            if let Some((a, e)) = later_entries(&self.mentions, i, blk.len())
                .map(|(a, e)| (answer_start(a), e))
                .find(|&(a, e)| says_failure(&blk[a..e]))
            {
                (at, end) = (a, cut(a, e));
                seg = &blk[at..end];
            }
        }
        let line_start = |p: usize| line_start(blk, p);
        // Several recipients, each opening a line of its own: each stretch is that recipient's
        // own entry ("<a@x>: why"). One named mid-line ("expanded from <b@y>") is not.
        // A label before it on its line ("Could not be delivered to: <a@x>", "Recipient address:
        // a@x") still opens the entry.
        let opens_line = |at: usize| {
            let before = blk[..at.min(blk.len())].trim_end_matches(['<', ' ', '\t', '"']);
            let before = without_address_type(before);
            let label = before[line_start(before.len())..].trim_start().to_ascii_lowercase();
            label.is_empty()
                || (label.len() < 40 && (label.ends_with("delivered to:") || label.ends_with("recipient address:")))
                // What the failed address was taken for (Exim's "a@x <b@x>: malformed address").
                || (label.contains('@') && !label.contains(char::is_whitespace))
        };
        let mut own_entry = several && opens_line(at) && (end >= blk.len() || opens_line(end));
        // An entry written as "why: address" (IMail's "Unknown user: a@x", one line per
        // recipient): the line up to its address is its answer, nothing after it is its own.
        let summed_up = if self.answer_above { None } else { summary_context(blk, at) };
        if let Some((from, to)) = summed_up {
            seg = &blk[from..to];
        } else if let Some(line) = lead_entry(blk, at, rcpts[i].1.len(), seg, rcpts.len()) {
            seg = line;
            own_entry = true;
        }
        // Answers above their addresses: the lines from the previous recipient's line down to
        // this one's.
        if self.answer_above && at < blk.len() {
            let from = i.checked_sub(1).map_or(0, |p| line_end(blk, rcpts[p].0.min(at)));
            seg = &blk[from..line_end(blk, at)];
            own_entry = true;
        }
        let around = own_entry.then(|| self.around(i, at));
        Entry {
            at,
            text: seg,
            around,
            whole: summed_up.is_some(),
        }
    }

    /// Beside recipient `i`'s own entry (at `at`): the text above all entries, and the lines
    /// that name it again further on (a transcript's ">>> RCPT To:<b@y>" and the answer after
    /// it).
    fn around(&self, i: usize, at: usize) -> String {
        let blk = self.text;
        let line_start = |p: usize| line_start(blk, p);
        let mut t = self.shared.to_string();
        for (a, e) in later_entries(&self.mentions, i, blk.len()).filter(|&(a, _)| a != at) {
            // From the line above when it names nobody (Sendmail's "... while talking to
            // mx.example.net.:" above its ">>> RCPT To:<b@y>"); in a session that went on
            // from another recipient, with the session's head line.
            let from = line_start(a);
            let above = line_start(from.saturating_sub(1));
            if from > 0 && !blk[above..from].contains('@') {
                t.push('\n');
                t.push_str(&blk[above..e]);
                continue;
            }
            if let Some(head) = blk[..from].rfind(diag::SESSION_HEAD).filter(|&h| h > at) {
                t.push('\n');
                t.push_str(&blk[line_start(head)..line_end(blk, head)]);
            }
            t.push('\n');
            t.push_str(&blk[from..e]);
        }
        if !self.tail.is_empty() && !t.contains(self.tail) {
            t.push('\n');
            t.push_str(self.tail);
        }
        t
    }
}

/// A session transcript after every place a recipient is named (`mentions`, as [`mentions`]
/// finds them), from Sendmail's "... while talking to mx.example.net.:" on: it names none of
/// them, so it is a session all of them shared (a refusal of the message at DATA). "" if none.
pub(super) fn shared_tail<'b>(blk: &'b str, mentions: &[(usize, usize)]) -> &'b str {
    let Some(last) = mentions.iter().map(|m| m.0).max() else {
        return "";
    };
    blk[last..]
        .find(diag::SESSION_HEAD)
        .map_or("", |h| &blk[line_start(blk, last + h)..])
}

/// With several sessions in `blk` before an answer (at `at` in `answer`, a slice of `blk`):
/// the host of the last of them, the session the answer came in (Sendmail's "... while talking
/// to mx1.example.net.:" deferred or refused, then the next MX's refusal). None with one
/// session or none: the host patterns read that as they read any text.
pub(super) fn session_host(blk: &str, answer: &str, at: usize) -> Option<(String, String)> {
    let at = (answer.as_ptr() as usize).checked_sub(blk.as_ptr() as usize)? + at;
    let heads: Vec<usize> = memchr::memmem::find_iter(&blk.as_bytes()[..at.min(blk.len())], diag::SESSION_HEAD).collect();
    let [.., _, last] = heads[..] else { return None };
    Some(answer::remote_host_exact(&blk[line_start(blk, last)..line_end(blk, last)])).filter(|h| !h.0.is_empty() || !h.1.is_empty())
}

/// A recipient's stretch of the block: from its address to `next` (where another recipient is
/// named; that entry's head line stays out), the next blank line pair or 1200 bytes.
pub(super) fn stretch(blk: &str, at: usize, next: Option<usize>) -> &str {
    let next = next.unwrap_or(blk.len());
    let mut end = (at + 1200).min(next);
    while !blk.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(p) = blk[at..end].find("\n\n\n") {
        end = at + p;
    } else if end == next && next < blk.len() {
        end = entry_start(blk, at, end);
    }
    &blk[at..end]
}

/// Where the entry that begins at `end` (the next recipient's mention) starts: at its line's
/// start (a transcript's ">>> RCPT To:<" is the next one's), or at the line above
/// it when that line names nobody and ends in a colon (Sendmail's "... while talking to
/// mx.example.org.:" above its ">>> RCPT To:<b@y>") or leads into it ([`lead_in`]), so the
/// stretch before it does not take that host.
fn entry_start(blk: &str, at: usize, end: usize) -> usize {
    let line = line_start(blk, end);
    if line <= at {
        return end;
    }
    let above = line_start(blk, line - 1);
    let head = blk[above..line].trim_end();
    // (Old Sendmail's mailer line, "550 example.net (tcp)... 550 Host unknown", is the head of
    // the summary below it.)
    let mailer = || matches!(summary_part(head), Part::Mailer);
    if above > at && (head.ends_with(':') && !head.contains('@') || lead_in(blk, line).is_some() || mailer()) {
        above
    } else {
        line
    }
}

/// The line above the one that starts at `line` (an address opening its line), when it is the
/// head of that address's entry wrapped onto a line of its own: it names the host that
/// refused and goes on in words after it ("SMTP Server <mx.example.net> rejected recipient"
/// above "<b@y>  (Error following RCPT command)"), with no address, no code and no deeper
/// indent than the address. A host line that ends the entry before ("Remote host: mx.x.com",
/// "Giving up on 192.0.2.1.") is not one.
fn lead_in(blk: &str, line: usize) -> Option<&str> {
    let above = line_start(blk, line.checked_sub(1)?);
    let head = blk[above..line].trim_end();
    let indent = |t: &str| t.len() - t.trim_start().len();
    if head.trim().is_empty()
        || head.contains('@')
        || indent(head) > indent(&blk[line..])
        || !head.ends_with(|c: char| c.is_ascii_alphabetic())
        || says_failure(head)
    {
        return None;
    }
    let (h, ip) = answer::remote_host_exact(head);
    let named = if h.is_empty() { ip } else { h };
    (!named.is_empty() && !head.to_ascii_lowercase().ends_with(&named)).then_some(head)
}

/// Every place the block names each recipient, in order: (offset, index into `rcpts`). A
/// name inside a longer address (`ann@example.org` in `joann@example.org.uk`) is not one.
pub(super) fn mentions(blk: &str, rcpts: &[(usize, String)]) -> Vec<(usize, usize)> {
    let lower = blk.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut all = Vec::new();
    for (k, (at, r)) in rcpts.iter().enumerate() {
        if *at < blk.len() {
            all.push((*at, k));
        }
        if r.is_empty() {
            continue;
        }
        for (p, _) in lower.match_indices(r.as_str()) {
            let before = p.checked_sub(1).map(|q| b[q]);
            let after = b.get(p + r.len()..).unwrap_or(b"");
            let glued_before = before.is_some_and(diag::is_local_char);
            let glued_after = matches!(after, [c, ..] if c.is_ascii_alphanumeric() || *c == b'-')
                || matches!(after, [b'.', c, ..] if c.is_ascii_alphanumeric());
            if p > *at && !glued_before && !glued_after {
                all.push((p, k));
            }
        }
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// The later entries of recipient `k`: each place it is named right after another recipient
/// was, up to where another one is named next (or the block's end).
pub(super) fn later_entries(mentions: &[(usize, usize)], k: usize, len: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let first = mentions.iter().position(|m| m.1 == k).unwrap_or(mentions.len());
    (first + 1..mentions.len())
        .filter(move |&j| mentions[j].1 == k && mentions[j - 1].1 != k)
        .map(move |j| {
            let end = mentions[j..].iter().find(|m| m.1 != k).map_or(len, |m| m.0);
            (mentions[j].0, end)
        })
}

/// Sendmail's summary line of a recipient, below the session it sums up ("While talking to
/// example.edu:", ">>> DATA", "<<< 550 ...", then "554 <a@b>... Remote protocol error"), or
/// below the line of the mailer it went to ("550 example.org (smtp)... 550 Host unknown", then
/// "554 <a@b>... 550 Host unknown"): the recipient's answer, from the first of those lines to
/// the summary's end, when the address at `at` is the subject of such a line and such lines
/// stand right above it. What follows the summary is another recipient's (the next one's
/// mailer line, or a session with another host). Lines wrapped from a longer one come along.
/// None otherwise.
pub(super) fn summary_context(blk: &str, at: usize) -> Option<(usize, usize)> {
    let line = line_start(blk, at);
    let subject = summary_subject(&blk[line..line_end(blk, at)])?;
    let start = subject.as_ptr() as usize - blk.as_ptr() as usize;
    if !(start..start + subject.len()).contains(&at) {
        return None;
    }
    let mut from = line;
    let (mut p, mut wrapped) = (line, 0);
    while p > 0 && wrapped <= 2 {
        let above = line_start(blk, p - 1);
        let l = blk[above..p].trim_end();
        match summary_part(l) {
            Part::SessionHead => return Some((above, summary_end(blk, at))),
            Part::Mailer | Part::Transcript => (from, wrapped) = (above, 0),
            Part::Other if !l.trim().is_empty() => wrapped += 1,
            _ => break,
        }
        p = above;
    }
    (from < line).then(|| (from, summary_end(blk, at)))
}

/// Where the summary line holding `at` ends, with the lines wrapped from it.
fn summary_end(blk: &str, at: usize) -> usize {
    let mut end = line_end(blk, at);
    for _ in 0..2 {
        let next = blk[end..].strip_prefix('\n').map_or(end, |_| end + 1);
        let below = &blk[next..line_end(blk, next)];
        if next == end || below.trim().is_empty() || !matches!(summary_part(below), Part::Other) {
            break;
        }
        end = line_end(blk, next);
    }
    end
}

/// What a line of a Sendmail transcript is, for [`summary_context`].
enum Part {
    /// "While talking to mx.example.org:"
    SessionHead,
    /// ">>> DATA", "<<< 550 ..."
    Transcript,
    /// "550 example.org (smtp)... 550 Host unknown"
    Mailer,
    /// "554 <a@b>... Remote protocol error", or a section rule ("--- Unsent message follows")
    Stop,
    /// Anything else: words, or a line wrapped from the one above.
    Other,
}

fn summary_part(l: &str) -> Part {
    let t = l.trim_start();
    if l.contains(diag::SESSION_HEAD) {
        Part::SessionHead
    } else if diag::transcript_payload(l).is_some() {
        Part::Transcript
    } else if let Some(s) = summary_subject(l) {
        if s.contains('@') {
            Part::Stop
        } else {
            Part::Mailer
        }
    } else if t.starts_with("---") || t.starts_with("===") {
        Part::Stop
    } else {
        Part::Other
    }
}

/// The subject of a Sendmail summary line: "550 5.1.1 <a@b>... User unknown" (an address) or
/// "421 example.org (smtp)... Deferred: ..." (a host and its mailer).
fn summary_subject(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let code = reply_code_at(t.as_bytes())?;
    let rest = t[code.len()..].strip_prefix(' ')?;
    let rest = status_at(rest.as_bytes()).map_or(rest, |s| rest[s.len()..].trim_start());
    let (subject, _) = rest.split_once("...")?;
    (!subject.is_empty() && !subject.starts_with(char::is_whitespace)).then_some(subject)
}

/// The line of an entry written as "why: address" with nothing after the address and no
/// words of its own below it, when several recipients are listed so.
fn lead_entry<'b>(blk: &'b str, at: usize, len: usize, seg: &str, count: usize) -> Option<&'b str> {
    if count < 2 || at >= blk.len() {
        return None;
    }
    let from = line_start(blk, at);
    let line_end = line_end(blk, at);
    let lead = blk[from..at].trim_end_matches(['<', ' ', '\t', '"']);
    let after_addr = blk.get(at + len..line_end)?;
    let below = seg.get(line_end - at..).unwrap_or("");
    let is_label = lead.trim().len() >= 8 && lead.ends_with(':') && !lead.contains('@');
    let nothing_after = !after_addr.bytes().any(|b| b.is_ascii_alphanumeric());
    (is_label && nothing_after && diag::squeeze(below, 600).len() < 12).then(|| &blk[from..line_end])
}

/// A text with a failure's reply code or status code. A 2xx ("Size (in bytes): 222") is no
/// answer to a failure.
fn says_failure(t: &str) -> bool {
    diag::reply_code(t).is_some_and(|c| !c.1.starts_with('2')) || diag::status(t).is_some_and(|s| !s.1.starts_with('2'))
}

/// Fill codes, host, command and diagnostic of a recipient from its entry, falling back to the
/// whole block for what the entry does not say. Where the entry is the recipient's own among
/// several (it has `around`: what the block says before its first recipient, and where it
/// names this one again) and has words of its own after the address, what it says is the
/// entry's alone, with only that text beside it: the rest of the block is other recipients'
/// entries, whose hosts, commands and "too long in the queue" are not this one's.
pub(super) fn fill(f: &mut Found, entry: &Entry, block: &Block) {
    let (seg, blk, own_entry, bare_list) = (entry.text, block.text, entry.around.as_deref(), block.bare_list);
    if let Some(refusal) = refusal_behind_bad_sequence(blk, entry.at, seg) {
        // (The command and the answer of the exchange that was refused.)
        f.reply_code = diag::answer_code(refusal).map(|c| c.1).unwrap_or_default();
        f.status = diag::status(refusal).map(|c| c.1).unwrap_or_default();
        f.smtp_command = answer::command_exact(refusal);
        f.diagnostic = diag::squeeze(refusal, 600);
    }
    if entry.at < blk.len() && f.remote_host.is_empty() && f.remote_ip.is_empty() {
        // The words before the address on its line may name the host that refused it.
        // (Or, where the address opens its line, the line above that leads into it.)
        let line = line_start(blk, entry.at);
        let lead = blk[line..entry.at].trim();
        if lead.len() > 8 && !lead.contains('@') {
            (f.remote_host, f.remote_ip) = answer::remote_host_exact(lead);
        } else if let Some(head) = lead.trim_matches(['<', '"']).is_empty().then(|| lead_in(blk, line)).flatten() {
            (f.remote_host, f.remote_ip) = answer::remote_host_exact(head);
        }
    }
    // The words after the address, and whether they follow it (not an answer written above it).
    let (rest, follows) = if starts_ci(seg, &f.recipient) {
        (&seg[f.recipient.len()..], true)
    } else if entry.whole
        || std::ptr::eq(seg, blk)
        || ends_ci(seg.trim_end_matches(['>', '"', ' ', '\t', '.', ',', ';', '\r']), &f.recipient)
    {
        // The whole block, or an entry whose answer comes before the address.
        (seg, false)
    } else {
        // Named otherwise than by its address (a user ID): the words after that name.
        let after = seg
            .find(|c: char| c.is_whitespace() || c == '(' || c == ':')
            .map_or("", |n| &seg[n..]);
        (after, true)
    };
    // The stretch ends where the next recipient's address begins: its `<` is not ours.
    let rest = rest
        .trim_start_matches(['>', ':', ' ', '"', '\'', ']', ')', '.', ',', ';'])
        .trim_end_matches(|c: char| c == '<' || c.is_whitespace());
    // Words of its own after the address; in a bare list, only on the lines right below it
    // (the last entry's stretch runs on over whatever follows the list).
    let own_text = |t: &'_ str| -> usize {
        let mut at = 0;
        for (n, line) in t.split_inclusive('\n').enumerate() {
            if bare_list && n > 0 && line.trim().is_empty() {
                break;
            }
            at += line.len();
        }
        diag::squeeze(&t[..at], 600).len()
    };
    // Words below the address that may be its own answer: not set off from it (see
    // [`adjacent_words`]); an answer written above the address is its own.
    let own_below = !follows || adjacent_words(rest);
    let shared = own_entry.filter(|_| !std::ptr::eq(seg, blk) && own_text(rest) >= 12 && (says_failure(seg) || own_below));
    let own_words = shared.is_some();
    // Its own words say nothing of a failure but the text above every entry does (James's
    // "Error message below:" and its answer, then the recipients under "RCPT TO:"): that answer
    // is each one's.
    let seg_fails = says_failure(seg);
    let head_answer = shared.filter(|s| !seg_fails && says_failure(s));
    let code_src = match head_answer {
        Some(head) => head,
        None if seg_fails || own_words => seg,
        None => blk,
    };
    let answer = diag::last_attempt(code_src).unwrap_or(code_src);
    let code = diag::answer_code(answer);
    if f.reply_code.is_empty() {
        f.reply_code = code.as_ref().map(|c| c.1.clone()).unwrap_or_default();
    }
    if f.status.is_empty() {
        f.status = diag::status(answer).map(|c| c.1).unwrap_or_default();
    }
    if f.remote_host.is_empty() && f.remote_ip.is_empty() {
        if let Some(found) = code.and_then(|c| session_host(blk, answer, c.0)) {
            (f.remote_host, f.remote_ip) = found;
        }
    }
    if f.remote_host.is_empty() && f.remote_ip.is_empty() {
        let (h, ip) = answer::remote_host_exact(seg);
        let (h, ip) = if h.is_empty() && ip.is_empty() {
            match shared {
                // The stretch as written was looked at: now unwrapped, then the shared text.
                Some(shared) => match answer::remote_host_unwrapped(seg) {
                    (h, ip) if h.is_empty() && ip.is_empty() => match answer::remote_host(shared) {
                        // The server the notice names once for all ("Generating server: x").
                        (h, ip) if h.is_empty() && ip.is_empty() => (answer::notice_host(blk).unwrap_or_default(), ip),
                        found => found,
                    },
                    found => found,
                },
                // A Sendmail summary with its session: no other session is this one's.
                None if entry.whole => answer::remote_host_unwrapped(seg),
                None => answer::remote_host(blk),
            }
        } else {
            (h, ip)
        };
        f.remote_host = h;
        f.remote_ip = ip;
    }
    if f.smtp_command.is_empty() {
        f.smtp_command = answer::command_exact(transcript_from_command(blk, entry.at, seg));
        if f.smtp_command.is_empty() {
            f.smtp_command = match shared {
                Some(shared) => Some(answer::command_unwrapped(seg))
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| answer::command(shared)),
                None if entry.whole => answer::command_unwrapped(seg),
                None => answer::command(blk),
            };
        }
    }
    if f.diagnostic.is_empty() {
        let d = match head_answer {
            Some(head) => diag::squeeze(answer_paragraph(head), 600),
            None => diag::squeeze(up_to_rule(from_the_answer(rest)), 600),
        };
        f.diagnostic = if d.len() < 12 {
            diag::squeeze(blk, 600)
        } else if std::ptr::eq(code_src, blk) {
            // No code of its own: the whole block says why, unless the block names no code
            // either and its first 600 bytes (a long preamble, a localised one above the
            // English) leave out the words written right after the address.
            let whole = diag::squeeze(blk, 600);
            let own = diag::squeeze(first_paragraph(rest), 600);
            let rule = own.starts_with(['-', '=', '#', '*']);
            // (Where only the line that leads into the list stands above the address, "...
            // The following address(es) failed:", the words below it are all the block says.)
            let lead_only = blk.get(..entry.at).is_some_and(|above| {
                let above = above.trim();
                !above.contains('\n') && above.ends_with(':')
            });
            let within = whole.contains(&own[..own.floor_char_boundary(40)]) && !lead_only;
            if own.len() < 12 || rule || !own_below || says_failure(blk) || within {
                whole
            } else {
                own
            }
        } else {
            d
        };
    }
    if let Some(shared) = shared {
        // Its own entry says whether it failed, was delayed or expired (with the shared text).
        f.action = Some(action_of(&[shared, seg]));
    }
    let gave_up = match shared {
        Some(shared) => is_expired(shared) || is_expired(seg),
        None => is_expired(blk),
    };
    if f.action == Some(Action::Failed) && f.reply_code.starts_with('4') && f.status.starts_with('4') && gave_up {
        f.action = Some(Action::Expired);
    }
}

/// A transcript's answer to a recipient that only says the session was out of order ("503 5.5.1
/// Error: need MAIL command", a client pipelining on after its MAIL FROM was refused): the
/// session's earlier refusal, which is the recipient's real answer.
fn refusal_behind_bad_sequence<'b>(blk: &'b str, at: usize, seg: &str) -> Option<&'b str> {
    if at >= blk.len() || !seg.contains("503") || diag::answer_code(transcript_from_command(blk, at, seg))?.1 != "503" {
        return None;
    }
    diag::first_refusal(&blk[..line_start(blk, at)])
}

/// A recipient's entry `seg` that starts at `at` in a transcript line that sends its address
/// (">>> RCPT To:<a@b>", then the server's answer): from that line's start, so the command
/// that drew the answer is in it. Any other entry as it is.
pub(super) fn transcript_from_command<'b>(blk: &'b str, at: usize, seg: &'b str) -> &'b str {
    let line = line_start(blk, at);
    let starts_at = blk.get(at..).is_some_and(|t| std::ptr::eq(t.as_ptr(), seg.as_ptr()));
    if starts_at && line < at && diag::transcript_payload(&blk[line..at]).is_some() {
        &blk[line..at + seg.len()]
    } else {
        seg
    }
}

/// The answer in `text` (which says a failure): from the line of its first failing code to the
/// end of that paragraph.
fn answer_paragraph(text: &str) -> &str {
    let at = diag::reply_code(text)
        .filter(|c| !c.1.starts_with('2'))
        .map(|c| c.0)
        .or_else(|| diag::status(text).map(|s| s.0))
        .unwrap_or(0);
    paragraph_from(text, at)
}

/// A stretch too long for the diagnostic (a whole session transcript) is cut so that the
/// server's failing answer stays in it: from the line that holds it, when the cut would drop it.
fn from_the_answer(rest: &str) -> &str {
    if rest.len() <= 600 {
        return rest;
    }
    // The answer: the first line with a failing code and words after it ("Reported error: 550
    // 5.7.509 Access denied, ..."), not a bare "Status code: 550 5.7.509" above it; else the
    // first failing code.
    let mut line_at = 0;
    let worded = rest.split_inclusive('\n').find_map(|line| {
        let at = line_at;
        line_at += line.len();
        let (c, code) = diag::reply_code(line).filter(|c| !c.1.starts_with('2'))?;
        let after = line[c + code.len()..].trim_start_matches([' ', '-']);
        let after = diag::status(after).filter(|s| s.0 == 0).map_or(after, |s| &after[s.1.len()..]);
        (after.split_whitespace().take(3).count() == 3).then_some(at + c)
    });
    let code = worded.or_else(|| diag::reply_code(rest).filter(|c| !c.1.starts_with('2')).map(|c| c.0));
    let code = code.or_else(|| diag::status(rest).filter(|s| !s.1.starts_with('2')).map(|s| s.0));
    match code {
        // Squeezing only shortens, so an answer in the first 400 bytes stays in any case.
        Some(at) if at > 400 => {
            let line = line_start(rest, at);
            &rest[line..]
        }
        _ => rest,
    }
}

/// Whether the words after a recipient's address are its own: not a paragraph set off from the
/// address by a blank line (the notice's closing lines), nor a heading for what comes below it
/// ("The following recipients did not receive your message:" over the next address).
fn adjacent_words(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t']);
    let r = r.strip_prefix("\r\n").or_else(|| r.strip_prefix('\n')).unwrap_or(r);
    let detached = r.trim_start_matches([' ', '\t']).starts_with(['\n', '\r']);
    !detached && !first_paragraph(rest).trim_end().ends_with(':')
}

/// The lines of `t` up to its first blank one.
fn first_paragraph(t: &str) -> &str {
    let t = t.trim_start();
    let mut at = 0;
    for line in t.split_inclusive('\n') {
        if line.trim().is_empty() {
            break;
        }
        at += line.len();
    }
    &t[..at]
}

/// A recipient's text up to the next section rule after its own answer ("   ----- Transcript of
/// session follows -----", "=====..."): what follows is another part of the notice.
pub(super) fn up_to_rule(t: &str) -> &str {
    let mut at = 0;
    for line in t.split_inclusive('\n') {
        let l = line.trim_start();
        if at > 0 && (l.starts_with("---") || l.starts_with("===")) && says_failure(&t[..at]) {
            return &t[..at];
        }
        at += line.len();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendmail_summaries_name_their_subject() {
        assert_eq!(
            summary_subject("550 5.1.1 <a@example.com>... User unknown"),
            Some("<a@example.com>")
        );
        assert_eq!(
            summary_subject("421 mx.example.org (smtp)... Deferred"),
            Some("mx.example.org (smtp)")
        );
        assert_eq!(summary_subject("554 5.0.0 Service unavailable"), None);
        assert_eq!(summary_subject("<<< 550 a@example.com... no"), None);
        // The session above a summary is its answer; a summary of another address is not.
        let blk = "While talking to mx.example.org:\n>>> DATA\n<<< 550 no\n554 <a@x.org>... Remote protocol error\n554 <b@x.org>... Remote protocol error\n";
        let a = blk.find("a@x").unwrap();
        assert_eq!(summary_context(blk, a), Some((0, blk.find("\n554 <b").unwrap())));
        assert_eq!(summary_context(blk, blk.find("b@x").unwrap()), None);
        assert_eq!(summary_context(blk, blk.find("mx.example").unwrap()), None);
    }
}
