//! The summary as a report for people: plain text for a terminal or a cron mail, Markdown for
//! mail clients and GitHub. (`report --format json` is the summary itself.)

use super::records::terminal_safe;
use super::summary::{top, Counts, Summary};
use std::fmt::Write as _;

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    /// One self-contained HTML page with charts (inline SVG) and sortable tables
    Html,
    /// The mergeable summary, pretty-printed
    Json,
    /// The mergeable summary on one line (for streams of partial summaries)
    Jsonl,
}

/// A summary rendered in one of the report formats.
pub fn render(s: &crate::report::summary::Summary, format: ReportFormat, top: usize) -> serde_json::Result<String> {
    Ok(match format {
        ReportFormat::Text => render_text(s, top),
        ReportFormat::Markdown => render_markdown(s, top),
        ReportFormat::Html => crate::report::html::render_html(s, top),
        ReportFormat::Json => serde_json::to_string_pretty(s)? + "\n",
        ReportFormat::Jsonl => serde_json::to_string(s)? + "\n",
    })
}

/// A table to render: a title, column heads (first column left-aligned, the rest right-aligned
/// unless told) and rows.
pub(crate) struct Table {
    pub(crate) title: String,
    pub(crate) heads: Vec<&'static str>,
    pub(crate) left: Vec<bool>,
    pub(crate) rows: Vec<Vec<String>>,
    pub(crate) note: Option<String>,
}

pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(n: u64, total: u64) -> String {
    if total == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / total as f64)
    }
}

fn first_key(c: &Counts) -> String {
    top(c, 1).first().map(|(k, _)| k.to_string()).unwrap_or_default()
}

fn count_table(title: &str, head: &'static str, map: &Counts, n: usize, total: u64) -> Table {
    Table {
        title: format!("{title} (top {} of {})", n.min(map.len()), map.len()),
        heads: vec!["count", "share", head],
        left: vec![false, false, true],
        rows: top(map, n)
            .into_iter()
            .map(|(k, v)| vec![thousands(v), pct(v, total), k.to_string()])
            .collect(),
        note: None,
    }
}

pub(crate) fn tables(s: &Summary, n: usize) -> Vec<Table> {
    let failures = s.accounting.records;
    let mut out = Vec::new();
    if !s.postfix.is_empty() {
        out.push(Table {
            title: "Grand Totals (Postfix, counted as pflogsumm counts)".into(),
            heads: vec!["count", "what"],
            left: vec![false, true],
            rows: s
                .postfix
                .rows()
                .iter()
                .map(|(label, _, v)| vec![thousands(*v), label.to_string()])
                .collect(),
            note: None,
        });
    }
    if !s.exchange.is_empty() {
        out.push(Table {
            title: "Grand Totals (Exchange message tracking)".into(),
            heads: vec!["count", "what"],
            left: vec![false, true],
            rows: s
                .exchange
                .rows()
                .iter()
                .map(|(label, _, v)| vec![thousands(*v), label.to_string()])
                .collect(),
            note: None,
        });
    }
    out.push(Table {
        title: "Failures".into(),
        heads: vec!["count", "share", "what"],
        left: vec![false, false, true],
        rows: [
            ("records", failures),
            ("hard", *s.by_bounce_type.get("hard").unwrap_or(&0)),
            ("soft", *s.by_bounce_type.get("soft").unwrap_or(&0)),
            ("failed (bounced)", *s.by_action.get("failed").unwrap_or(&0)),
            ("delayed (deferred)", *s.by_action.get("delayed").unwrap_or(&0)),
            ("expired", *s.by_action.get("expired").unwrap_or(&0)),
            ("rejected (inbound)", *s.by_action.get("rejected").unwrap_or(&0)),
        ]
        .iter()
        .map(|(k, v)| vec![thousands(*v), pct(*v, failures), k.to_string()])
        .collect(),
        note: None,
    });
    let servers = s.answering_servers();
    out.push(Table {
        title: format!("Failures by remote host (top {} of {})", n.min(servers.len()), servers.len()),
        heads: vec!["count", "share", "remote host", "top code", "top reason"],
        left: vec![false, false, true, false, true],
        rows: top(&servers, n)
            .into_iter()
            .map(|(host, v)| {
                let d = s.remote_hosts.get(host);
                vec![
                    thousands(v),
                    pct(v, failures),
                    host.to_string(),
                    d.map(|d| first_key(&d.reply_codes)).unwrap_or_default(),
                    d.map(|d| first_key(&d.reasons)).unwrap_or_default(),
                ]
            })
            .collect(),
        note: Some(
            "The remote host is the server that answered (for inbound rejects: the client we refused); [ip] where it has no name.".into(),
        ),
    });
    out.push(count_table(
        "Failures by recipient domain",
        "domain",
        &s.by_recipient_domain,
        n,
        failures,
    ));
    out.push(count_table(
        "Failures by reply code and status",
        "code status",
        &s.by_code_status,
        n,
        failures,
    ));
    out.push(count_table("Failures by reason", "reason", &s.by_reason, n, failures));
    let hours: Vec<Vec<String>> = (0..24)
        .map(|h| {
            let key = format!("{h:02}");
            let get = |m: Option<&Counts>, k: &str| m.and_then(|m| m.get(k)).copied().unwrap_or(0);
            let ht = s.by_hour_type.get(&key);
            vec![
                key.clone(),
                thousands(*s.by_hour.get(&key).unwrap_or(&0)),
                thousands(get(ht, "hard")),
                thousands(get(ht, "soft")),
            ]
        })
        .collect();
    out.push(Table {
        title: "Failures by hour".into(),
        heads: vec!["hour", "all", "hard", "soft"],
        left: vec![true, false, false, false],
        rows: hours,
        note: None,
    });
    out.push(Table {
        title: format!("Recipients to suppress (top {} of {})", n.min(s.suppress.len()), s.suppress.len()),
        heads: vec!["failures", "recipient"],
        left: vec![false, true],
        rows: top(&s.suppress, n)
            .into_iter()
            .map(|(k, v)| vec![thousands(v), k.to_string()])
            .collect(),
        note: Some("Hard failures whose reason says the address is dead (userunknown, hostunknown, hasmoved, notaccept).".into()),
    });
    let a = &s.accounting;
    out.push(Table {
        title: "Accounting".into(),
        heads: vec!["count", "what"],
        left: vec![false, true],
        rows: vec![
            vec![thousands(s.inputs.files), "files read".into()],
            vec![thousands(s.inputs.lines), "lines".into()],
            vec![thousands(s.inputs.messages), "messages".into()],
            vec![thousands(a.failures), "lines/messages with failures".into()],
            vec![thousands(a.not_failures), "not failures".into()],
            vec![thousands(a.unparsed), "looked like failures, could not be read".into()],
            vec![thousands(a.filtered), "left out by filters".into()],
            vec![thousands(s.inputs.errors), "inputs with read errors".into()],
            vec![thousands(s.inputs.skipped), "files skipped (not mail logs)".into()],
        ],
        note: None,
    });
    out
}

fn widths(t: &Table) -> Vec<usize> {
    let mut w: Vec<usize> = t.heads.iter().map(|h| h.chars().count()).collect();
    for r in &t.rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    w
}

fn pad(cell: &str, width: usize, left: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
    if left {
        format!("{cell}{fill}")
    } else {
        format!("{fill}{cell}")
    }
}

/// Plain text: aligned columns, nothing a terminal could misread.
pub fn render_text(s: &Summary, n: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bouncer report: {} failure records from {} lines and {} messages in {} inputs",
        thousands(s.accounting.records),
        thousands(s.inputs.lines),
        thousands(s.inputs.messages),
        thousands(s.inputs.files)
    );
    for mut t in tables(s, n) {
        for r in &mut t.rows {
            for c in r.iter_mut() {
                *c = terminal_safe(c).into_owned();
            }
        }
        let w = widths(&t);
        let _ = writeln!(out, "\n{}\n{}", t.title, "-".repeat(t.title.chars().count()));
        let line = |cells: Vec<String>| -> String {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| pad(c, w[i], t.left[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let _ = writeln!(out, "{}", line(t.heads.iter().map(|h| h.to_string()).collect()));
        if t.rows.is_empty() {
            let _ = writeln!(out, "(none)");
        }
        for r in &t.rows {
            let _ = writeln!(out, "{}", line(r.clone()));
        }
        if let Some(note) = &t.note {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}

fn md_cell(s: &str) -> String {
    terminal_safe(s).replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

/// Markdown: one pipe table per section, right-aligned counts.
pub fn render_markdown(s: &Summary, n: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# bouncer report\n\n{} failure records from {} lines and {} messages in {} inputs.",
        thousands(s.accounting.records),
        thousands(s.inputs.lines),
        thousands(s.inputs.messages),
        thousands(s.inputs.files)
    );
    for t in tables(s, n) {
        let _ = writeln!(out, "\n## {}\n", t.title);
        if t.rows.is_empty() {
            let _ = writeln!(out, "(none)");
            continue;
        }
        let _ = writeln!(out, "| {} |", t.heads.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            t.left.iter().map(|l| if *l { " --- |" } else { " ---: |" }).collect::<String>()
        );
        for r in &t.rows {
            let _ = writeln!(out, "| {} |", r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "));
        }
        if let Some(note) = &t.note {
            let _ = writeln!(out, "\n{note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_tables() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        let mut s = Summary::default();
        s.postfix.received = 5;
        s.by_reason.insert("userunknown".into(), 3);
        s.accounting.records = 3;
        let t = render_text(&s, 10);
        assert!(t.contains("Grand Totals"));
        assert!(t.contains("userunknown"));
        let m = render_markdown(&s, 10);
        assert!(m.contains("| count | share | reason |"));
    }
}
