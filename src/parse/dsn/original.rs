//! The returned original message a bounce carries (attached, or as header lines in its
//! text): its Message-ID, sender, recipients and envelope sender, and whether it was a
//! discussion list's copy. `mail.rs` finds it; the readers ask it who the message was for.

use super::mail::starts_ci;

/// The returned original message (or its headers).
#[derive(Clone, Debug, Default)]
pub struct Original {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    /// The envelope sender it was returned to (`Return-Path`), lower-cased.
    pub return_path: String,
    /// It came through a discussion list (`List-Post`, `X-BeenThere`, `X-Mailman-Version`):
    /// its To names the list or its author's correspondents, not the subscriber it bounced from.
    pub via_list: bool,
}

/// Header fields only a discussion list's copy of a message carries (a newsletter's
/// `List-Unsubscribe` and `List-Id` are sent to the recipient's own address, so they are not here).
pub(super) const LIST_FIELDS: [&str; 3] = ["List-Post", "X-BeenThere", "X-Mailman-Version"];

impl Original {
    /// Neither its Message-ID nor its sender found (yet).
    pub fn is_empty(&self) -> bool {
        self.message_id.is_empty() && self.from.is_empty()
    }

    /// The address its To names as the one recipient, where that says who it was delivered to:
    /// not for a list's copy, whose To is the list (or whoever its author wrote to), nor where
    /// the To is its sender's own address (the real recipients were in Bcc).
    pub fn addressee(&self) -> Option<&String> {
        self.to.first().filter(|a| !self.via_list && !self.is_own(a))
    }

    /// `a` is the sender's own address, as its From names it.
    pub fn is_own(&self, a: &str) -> bool {
        !self.from.is_empty() && self.from.eq_ignore_ascii_case(a)
    }
}

/// Message-ID, From and To from a block of header lines (the returned original as text).
pub(super) fn original_from_text(text: &str) -> Original {
    let mut o = Original::default();
    let mut seen_header = false;
    // Where "original message follows" stands (in any case), found in one pass over the text,
    // not per line.
    let lower = text.to_ascii_lowercase();
    let mut follows = memchr::memmem::find_iter(lower.as_bytes(), b"original message follows").peekable();
    let mut at = 0;
    for raw in text.split_inclusive('\n') {
        let (start, end) = (at, at + raw.len());
        at = end;
        let l = raw.strip_suffix('\n').unwrap_or(raw);
        let l = l.strip_suffix('\r').unwrap_or(l);
        while follows.next_if(|&p| p < start).is_some() {}
        let phrase_here = follows.peek().is_some_and(|&p| p < end);
        // (An HTML notice's `<br>` then a line end leaves a blank before the next field.)
        let l = l.trim_start();
        if starts_ci(l, "received:") || starts_ci(l, "return-path:") || starts_ci(l, "message-id:") || starts_ci(l, "dkim-signature:") {
            seen_header = true;
        }
        // Google's rule line: "----- Original message -----".
        let rule = l.starts_with("---") && l.trim_matches(['-', ' ']).eq_ignore_ascii_case("original message");
        if phrase_here || rule {
            // The returned message's header comes next (GroupWise: "Possibly truncated
            // original message follows:").
            seen_header = true;
            continue;
        }
        if o.message_id.is_empty() && starts_ci(l, "message-id:") {
            o.message_id = l[11..].trim().to_string();
        }
        if seen_header && o.from.is_empty() && starts_ci(l, "from:") {
            o.from = first_address(&l[5..]).unwrap_or_default();
        }
        if o.return_path.is_empty() && starts_ci(l, "return-path:") {
            o.return_path = first_address(&l[12..]).unwrap_or_default();
        }
        if seen_header && !o.via_list {
            o.via_list = LIST_FIELDS
                .iter()
                .any(|f| starts_ci(l, f) && l.as_bytes().get(f.len()) == Some(&b':'));
        }
        if seen_header && o.to.is_empty() && starts_ci(l, "to:") {
            o.to = super::diag::addresses(&l[3..]).map(|(_, a)| a).collect();
        }
    }
    o
}

/// The first `local@domain` in a text, lower-cased.
pub fn first_address(text: &str) -> Option<String> {
    super::diag::addresses(text).next().map(|(_, a)| a)
}
