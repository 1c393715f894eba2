//! A delivery status report's gaps (reply code, host, command, diagnostic) filled from the
//! notice's own text, recipient by recipient: each one's stretch of the error block first, then
//! what the block says for all of them.

use super::entry::{later_entries, mentions, session_host, shared_tail, stretch, summary_context, transcript_from_command, up_to_rule};
use super::mail::Mail;
use super::text::{block, family, line_end, line_start, paragraph_from};
use super::Found;
use super::{answer, diag};

/// Fill what a delivery status report left out (codes, host, command) from `notice`, the
/// human-readable notice (the mail's text, or the part of it above report fields written in the
/// text itself), reading each recipient's stretch of it.
pub fn complete(found: &mut [Found], mail: &Mail, notice: &str) {
    whole_reply(found, notice);
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
        // A reply code found for the recipient must be of its status's class, when it has one.
        let agrees = |status: &str, code: &str| status.is_empty() || status.as_bytes()[0] == code.as_bytes()[0];
        // The answer the stretch gives, looked for once, when the reply code or the host needs it.
        let seg_answer = std::cell::OnceCell::new();
        let seg_answer = || seg_answer.get_or_init(|| diag::answer_code(seg)).clone();
        if f.reply_code.is_empty() {
            let from_diagnostic = if at.is_some() && summed_up.is_none() {
                diag::answer_code(&f.diagnostic)
            } else {
                None
            };
            if let Some((_, c)) = from_diagnostic.or_else(seg_answer).filter(|c| agrees(&f.status, &c.1)) {
                f.reply_code = c;
            }
        }
        if let Some(at) = at.filter(|_| single && f.reply_code.is_empty()) {
            // Named again further on with its answer (Exchange's "Diagnostic information for
            // administrators": the address, then "#550 5.1.1 ...").
            let after = at + f.recipient.len();
            if let Some(again) = lower[after..].find(&f.recipient).map(|p| after + p) {
                if let Some((_, c)) = diag::answer_code(stretch(blk, again, None)).filter(|c| agrees(&f.status, &c.1)) {
                    f.reply_code = c;
                }
            }
        }
        if !f.reply_code.starts_with(['4', '5']) && single && !f.status.is_empty() {
            // Given once in the notice on a line with the report's own status (Sendmail's
            // transcript: "554 5.3.0 unknown mailer error 255" under a "X-Unix; 255" report,
            // whose number is no reply code).
            f.reply_code = blk
                .lines()
                .filter(|l| l.contains(f.status.as_str()))
                .find_map(|l| {
                    let c = diag::answer_code(l)?.1;
                    (diag::status(l).is_some_and(|s| s.1 == f.status) && agrees(&f.status, &c)).then_some(c)
                })
                .unwrap_or(std::mem::take(&mut f.reply_code));
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
                answer::remote_host_exact(seg)
            } else {
                answer::remote_host(seg)
            };
            (f.remote_host, f.remote_ip) = match whole {
                Some(w) if h.is_empty() && ip.is_empty() => answer::remote_host(w),
                _ => (h, ip),
            };
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() {
            // Named again further on with its answer (SurfControl lists everyone first, then
            // "a@b: [192.0.2.5], 550 ..." for each).
            if let Some(found) = later_entries(&all_mentions, k, blk.len())
                .map(|(a, e)| answer::remote_host_exact(&blk[line_start(blk, a)..e]))
                .find(|(h, ip)| !h.is_empty() || !ip.is_empty())
            {
                (f.remote_host, f.remote_ip) = found;
            }
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() && !tail.is_empty() {
            (f.remote_host, f.remote_ip) = answer::remote_host(tail);
        }
        if f.remote_host.is_empty() && f.remote_ip.is_empty() && !single {
            f.remote_host = answer::notice_host(blk).unwrap_or_default();
        }
        if f.smtp_command.is_empty() {
            // (Named in a transcript's ">>> RCPT To:<a@b>": from that line, so the command that
            // drew the answer below it is read first.)
            f.smtp_command = answer::command(at.map_or(seg, |at| transcript_from_command(blk, at, seg)));
        }
        if f.smtp_command.is_empty() {
            // Named again further on: a transcript's ">>> RCPT To:<b@y>" and the answer to it;
            // or named only in the answer, the exchange since the line that named another one
            // (">>> ." then "554 5.7.1 <b@y>... Message rejected").
            f.smtp_command = later_entries(&all_mentions, k, blk.len())
                .map(|(a, e)| {
                    let line = line_start(blk, a);
                    let own = answer::command(&blk[line..e]);
                    if !own.is_empty() {
                        return own;
                    }
                    let before = all_mentions.iter().rev().find(|m| m.0 < a).map_or(0, |m| line_end(blk, m.0));
                    // (Not past its own line's start: the other one may be named on it too.)
                    answer::command(&blk[before.min(line)..e])
                })
                .find(|c| !c.is_empty())
                .unwrap_or_else(|| answer::command(tail));
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
                f.smtp_command = answer::command(&blk[h..end]);
            }
        }
    }
}

/// A report's Diagnostic-Code that holds only the first line of a multi-line reply ("550-5.7.1
/// ... Our system has detected that this message is", as Sendmail copies it) where the
/// notice's session transcript quotes the whole reply ("<<< 550-5.7.1 ..." down to "<<< 550
/// 5.7.1 ..."): the whole reply, its lines joined, is the diagnostic.
fn whole_reply(found: &mut [Found], notice: &str) {
    // The transcript's lines, taken from the notice once for all its recipients.
    let replies = std::cell::OnceCell::new();
    for f in found.iter_mut() {
        let d = f.diagnostic.as_bytes();
        let Some(code) = crate::parse::bytes::reply_code_at(d) else {
            continue;
        };
        if d.get(3) != Some(&b'-') {
            continue;
        }
        let code = code.to_vec();
        let replies: &Vec<&str> = replies.get_or_init(|| notice.lines().filter_map(diag::transcript_payload).collect());
        let Some(first) = replies.iter().position(|r| diag::squeeze(r, usize::MAX) == f.diagnostic) else {
            continue;
        };
        let mut lines = Vec::new();
        for r in &replies[first..] {
            let b = r.as_bytes();
            if !b.starts_with(&code) || !matches!(b.get(3), Some(b'-' | b' ') | None) {
                break;
            }
            lines.push(*r);
            if b.get(3) != Some(&b'-') {
                break;
            }
        }
        if lines.len() > 1 {
            f.diagnostic = diag::squeeze(&lines.join(" "), 600);
        }
    }
}
