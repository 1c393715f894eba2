//! `report --format html`: one self-contained page — no network (a Content-Security-Policy forbids
//! it), inline SVG charts with the numbers on every bar, the same tables as the text report,
//! sortable by a click on a column head. Every string from the input is HTML-escaped.

use crate::report::summary::{top, Counts, Summary};
use crate::report::text::{tables, thousands};
use std::fmt::Write as _;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business in a report; show them as U+FFFD.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const HARD: &str = "#c0392b";
const SOFT: &str = "#e69f00";
const OTHER: &str = "#8c8c8c";
const BAR: &str = "#2c6fbb";

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;\
color:#222;padding:0 1em}h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin:1.6em 0 .4em}\
.charts{display:flex;flex-wrap:wrap;gap:1.5em}.chart{flex:1 1 460px}svg text{font:11px sans-serif;fill:#222}\
table{border-collapse:collapse;margin:.2em 0}th,td{padding:.15em .7em;border-bottom:1px solid #ddd}\
th{background:#f2f2f2;cursor:pointer;user-select:none;text-align:left}th.num,td.num{text-align:right}\
td{font-variant-numeric:tabular-nums;word-break:break-all}th[aria-sort=ascending]::after{content:' \\25B2'}\
th[aria-sort=descending]::after{content:' \\25BC'}.note{color:#555;font-size:.9em}.lead{color:#444}\
.key span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em;vertical-align:middle}";

/// Click a column head to sort by it (numbers by value: thousands separators and % ignored);
/// a second click reverses. `body[data-sortable]` says how many tables were made sortable.
const SCRIPT: &str = "(function(){var n=0;\
function key(td){var t=td.textContent.trim(),v=parseFloat(t.replace(/[,%]/g,''));\
return /^-?[0-9][0-9,]*(\\.[0-9]+)?%?$/.test(t)?v:t.toLowerCase();}\
document.querySelectorAll('table.sortable').forEach(function(tb){n++;\
tb.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){\
var asc=th.getAttribute('aria-sort')!=='ascending';\
tb.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});\
th.setAttribute('aria-sort',asc?'ascending':'descending');\
var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows);\
rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);\
var c=(typeof x===typeof y)?(x<y?-1:x>y?1:0):(typeof x==='number'?-1:1);return asc?c:-c;});\
rows.forEach(function(r){body.appendChild(r);});});});});\
document.body.setAttribute('data-sortable',String(n));})();";

/// A horizontal bar chart of the largest entries of a map.
fn bars(title: &str, map: &Counts, n: usize) -> String {
    let rows = top(map, n);
    let mut out = format!("<div class=\"chart\"><h2>{}</h2>", escape(title));
    if rows.is_empty() {
        out.push_str("<p class=\"note\">(none)</p></div>");
        return out;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let (label_w, bar_w, row_h) = (190.0, 200.0, 20.0);
    let height = rows.len() as f64 * row_h + 4.0;
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"{}\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        escape(title),
        label_w + bar_w + 70.0,
        label_w + bar_w + 70.0
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let w = (bar_w * *v as f64 / max as f64).max(1.0);
        let shown: String = if label.chars().count() > 30 {
            label.chars().take(29).collect::<String>() + "…"
        } else {
            label.to_string()
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{BAR}\" data-label=\"{}\" data-value=\"{v}\">\
<title>{}: {}</title></rect><text x=\"{}\" y=\"{}\">{}</text>",
            label_w - 6.0,
            y + 13.0,
            escape(&shown),
            row_h - 5.0,
            escape(label),
            escape(label),
            thousands(*v),
            label_w + w + 4.0,
            y + 13.0,
            thousands(*v)
        );
    }
    out.push_str("</svg></div>");
    out
}

/// Failures per hour of the day, stacked hard / soft / neither.
fn hours(s: &Summary) -> String {
    let get = |h: &str, k: &str| s.by_hour_type.get(h).and_then(|m| m.get(k)).copied().unwrap_or(0);
    let max = s.by_hour.values().copied().max().unwrap_or(0).max(1);
    let (left, col_w, plot_h, top_pad) = (50.0, 26.0, 160.0, 8.0);
    let width = left + 24.0 * col_w + 10.0;
    let height = top_pad + plot_h + 24.0;
    let mut out = format!(
        "<div class=\"chart\" style=\"flex-basis:100%\"><h2>Failures by hour of the day</h2>\
<div class=\"key\"><span style=\"background:{HARD}\"></span>hard<span style=\"background:{SOFT}\"></span>soft\
<span style=\"background:{OTHER}\"></span>neither</div>\
<svg role=\"img\" aria-label=\"Failures by hour\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let base = top_pad + plot_h;
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#999\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        width - 10.0,
        left - 4.0,
        top_pad + 10.0,
        thousands(max),
        left - 4.0
    );
    for h in 0..24 {
        let key = format!("{h:02}");
        let all = s.by_hour.get(&key).copied().unwrap_or(0);
        let (hard, soft) = (get(&key, "hard"), get(&key, "soft"));
        let other = all.saturating_sub(hard + soft);
        let x = left + h as f64 * col_w + 3.0;
        let mut y = base;
        for (kind, v, colour) in [("hard", hard, HARD), ("soft", soft, SOFT), ("neither", other, OTHER)] {
            if v == 0 {
                continue;
            }
            let bh = plot_h * v as f64 / max as f64;
            y -= bh;
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y:.1}\" width=\"{}\" height=\"{bh:.1}\" fill=\"{colour}\" \
data-hour=\"{key}\" data-kind=\"{kind}\" data-value=\"{v}\"><title>{key}:00 {kind}: {}</title></rect>",
                col_w - 6.0,
                thousands(v)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{key}</text>",
            x + (col_w - 6.0) / 2.0,
            base + 14.0
        );
    }
    out.push_str("</svg></div>");
    out
}

/// The whole page.
pub fn render_html(s: &Summary, n: usize) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>bouncer report</title><style>",
    );
    out.push_str(STYLE);
    let hard = s.by_bounce_type.get("hard").copied().unwrap_or(0);
    let soft = s.by_bounce_type.get("soft").copied().unwrap_or(0);
    let _ = write!(
        out,
        "</style></head><body><h1>bouncer report</h1><p class=\"lead\"><b>{}</b> failure records \
(<b style=\"color:{HARD}\">{}</b> hard, <b style=\"color:{SOFT}\">{}</b> soft) from {} lines and {} messages \
in {} input{}; {} looked like failures but could not be read.</p><div class=\"charts\">",
        thousands(s.accounting.records),
        thousands(hard),
        thousands(soft),
        thousands(s.inputs.lines),
        thousands(s.inputs.messages),
        thousands(s.inputs.files),
        if s.inputs.files == 1 { "" } else { "s" },
        thousands(s.accounting.unparsed)
    );
    out.push_str(&hours(s));
    out.push_str(&bars("Top remote hosts (the servers that said no)", &s.answering_servers(), 10));
    out.push_str(&bars("Top reply code and status", &s.by_code_status, 10));
    out.push_str(&bars("Top reasons", &s.by_reason, 10));
    out.push_str(&bars("Top recipient domains", &s.by_recipient_domain, 10));
    out.push_str("</div>");
    for t in tables(s, n) {
        let _ = write!(out, "<h2>{}</h2>", escape(&t.title));
        if t.rows.is_empty() {
            out.push_str("<p class=\"note\">(none)</p>");
            continue;
        }
        out.push_str("<table class=\"sortable\"><thead><tr>");
        for (h, left) in t.heads.iter().zip(&t.left) {
            let class = if *left { "" } else { " class=\"num\"" };
            let _ = write!(out, "<th{class}>{}</th>", escape(h));
        }
        out.push_str("</tr></thead><tbody>");
        for r in &t.rows {
            out.push_str("<tr>");
            for (c, left) in r.iter().zip(&t.left) {
                let class = if *left { "" } else { " class=\"num\"" };
                let _ = write!(out, "<td{class}>{}</td>", escape(c));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
        if let Some(note) = &t.note {
            let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
        }
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped() {
        let mut s = Summary::default();
        s.accounting.records = 2;
        s.by_remote_host.insert("<script>alert(1)</script>".into(), 2);
        s.by_reason.insert("a\"b'c&d\u{1b}[31m".into(), 2);
        s.suppress.insert("<img src=x onerror=alert(1)>@example.com".into(), 1);
        let page = render_html(&s, 10);
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("a&quot;b&#39;c&amp;d\u{fffd}[31m"));
        assert_eq!(page.matches("<script>").count(), 1, "only our own script");
    }

    #[test]
    fn bars_carry_their_numbers() {
        let mut s = Summary::default();
        s.by_hour.insert("07".into(), 5);
        s.by_hour_type
            .insert("07".into(), [("hard".to_string(), 3), ("soft".to_string(), 1)].into());
        s.by_reason.insert("userunknown".into(), 1234);
        let page = render_html(&s, 10);
        assert!(page.contains("data-hour=\"07\" data-kind=\"hard\" data-value=\"3\""));
        assert!(page.contains("data-hour=\"07\" data-kind=\"soft\" data-value=\"1\""));
        assert!(page.contains("data-hour=\"07\" data-kind=\"neither\" data-value=\"1\""));
        assert!(page.contains("data-label=\"userunknown\" data-value=\"1234\""));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }
}
