//! Rendering of `trace` results: text for a terminal, JSON (one object per message).

use crate::report::records::terminal_safe;
use crate::trace::{Story, Trace};
use std::fmt::Write;

/// A story as text: a head line, the verdict, the failure records' answers, then every line of
/// the message in order with where it came from.
pub fn render_text(t: &Trace) -> String {
    let mut out = String::new();
    for s in &t.stories {
        story_text(s, &mut out);
        out.push('\n');
    }
    for r in &t.other_records {
        let _ = writeln!(
            out,
            "bounce email {}:{}: {} {} {} {} {} — {}",
            r.source,
            r.line,
            r.recipient,
            r.action.as_str(),
            r.reply_code,
            r.status,
            r.answering_server(),
            terminal_safe(&r.diagnostic)
        );
    }
    out
}

fn story_text(s: &Story, out: &mut String) {
    let ids = s.queue_ids.join(" -> ");
    let mut head = format!("message {ids}");
    if !s.message_id.is_empty() {
        let _ = write!(head, " <{}>", s.message_id.trim_matches(|c| c == '<' || c == '>'));
    }
    if !s.sender.is_empty() {
        let _ = write!(head, " from {}", s.sender);
    }
    let _ = writeln!(out, "{}", terminal_safe(&head));
    let _ = writeln!(out, "  verdict: {}", terminal_safe(&s.verdict));
    for r in &s.records {
        let _ = writeln!(
            out,
            "  {:<8} {} {} {} {} {}{} [{} {}:{}]",
            r.action.as_str(),
            r.recipient,
            r.reply_code,
            r.status,
            r.reason,
            match r.answering_server() {
                s if s.is_empty() => s,
                s => format!("by {s} "),
            },
            if r.suppress { "(suppress)" } else { "" },
            r.format.as_str(),
            r.source,
            r.line
        );
    }
    for e in &s.events {
        let when = if e.timestamp.is_empty() {
            "?".to_string()
        } else {
            e.timestamp.chars().take(19).collect()
        };
        let text: String = e.text.chars().take(220).collect();
        let _ = writeln!(
            out,
            "  {when}  {:<22} {}: {}  [{}:{}]",
            terminal_safe(&e.program),
            e.queue_id,
            terminal_safe(&text),
            e.source,
            e.line
        );
    }
}

/// One JSON object per message (and one per bounce email that matched no traced message).
pub fn render_json(t: &Trace) -> serde_json::Result<String> {
    let mut out = String::new();
    for s in &t.stories {
        out.push_str(&serde_json::to_string(s)?);
        out.push('\n');
    }
    for r in &t.other_records {
        out.push_str(&serde_json::to_string(&serde_json::json!({ "bounce_email": r }))?);
        out.push('\n');
    }
    Ok(out)
}
