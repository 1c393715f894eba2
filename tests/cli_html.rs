//! `report --format html`: one self-contained page, checked in headless Chromium — the charts
//! carry the numbers of the JSON summary, the tables sort, hostile text stays text.
//! Chromium is looked up as `$BOUNCER_CHROMIUM`, `chromium`, `chromium-browser`, `google-chrome`;
//! without it the test says so and passes, unless `BOUNCER_REQUIRE_CHROMIUM` is set (CI sets it).

mod common;

use common::{fixture, output, run, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let names: Vec<String> = std::env::var("BOUNCER_CHROMIUM")
        .ok()
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from))
        .collect();
    for n in names {
        let p = Path::new(&n);
        if p.is_absolute() && p.is_file() {
            return Some(p.to_path_buf());
        }
        if let Some(found) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(&n))
            .find(|c| c.is_file())
        {
            return Some(found);
        }
    }
    None
}

fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

const HOSTILE: &str = "Jan  5 09:00:02 mx1 postfix/smtp[2104]: 4A1B2C3D01: to=<x<img/src=x/onerror=alert(1)>@example.net>, \
relay=mx.example.net[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.7] \
said: 550 5.1.1 <script>document.title='pwned'</script>: Recipient address rejected: User unknown (in reply to RCPT TO command))\n";

/// The `<td>` texts of column `col` of the table that follows the heading starting with `title`.
fn column(dom: &str, title: &str, col: usize) -> Vec<String> {
    let at = dom.find(&format!("<h2>{title}")).unwrap_or_else(|| panic!("no table {title}"));
    let table = &dom[at..];
    let table = &table[..table.find("</table>").expect("table end")];
    let body = &table[table.find("<tbody>").expect("tbody")..];
    let cell = regex::Regex::new(r"<td[^>]*>(.*?)</td>").unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|row| cell.captures_iter(row).nth(col).map(|c| c[1].to_string()).unwrap_or_default())
        .collect()
}

#[test]
fn html_report_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.log");
    std::fs::write(&hostile, HOSTILE).unwrap();
    let log = fixture("postfix/mail.log");
    let inputs = [log.to_str().unwrap(), hostile.to_str().unwrap()];
    let html = run(&[&["report", "--format", "html", "--year", "2026"][..], &inputs[..]].concat());
    assert_eq!(html.status.code(), Some(0), "{}", stderr(&html));
    let page = stdout(&html);
    let json = run(&[&["report", "--format", "json", "--year", "2026"][..], &inputs[..]].concat());
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON summary");

    // Self-contained: nothing to fetch, and a policy that forbids fetching.
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for bad in ["http://", "https://", " src=", "<link", "@import"] {
        assert!(!page.contains(bad), "the page has no {bad}");
    }
    // Hostile text is text.
    assert!(page.contains("x&lt;img/src=x/onerror=alert(1)&gt;@example.net"));
    assert_eq!(page.matches("<script>").count(), 1, "only the page's own script");

    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("BOUNCER_REQUIRE_CHROMIUM").is_none(),
            "BOUNCER_REQUIRE_CHROMIUM is set but no chromium was found"
        );
        eprintln!("SKIPPED: headless Chromium check of the HTML report (install Debian's `chromium` to run it)");
        return;
    };
    // A copy of the page that, once loaded, sorts two tables as a user would by clicking heads.
    let clicks = "<script>(function(){function head(t,i){var h=Array.prototype.find.call(\
document.querySelectorAll('h2'),function(x){return x.textContent.indexOf(t)===0;});\
var tb=h.nextElementSibling;tb.querySelectorAll('th')[i].click();}\
head('Failures by remote host',2);head('Failures by reason',1);})();</script>";
    let clicked = page.replace("</body>", &format!("{clicks}</body>"));
    let page_path = dir.path().join("report.html");
    let clicked_path = dir.path().join("clicked.html");
    std::fs::write(&page_path, &page).unwrap();
    std::fs::write(&clicked_path, &clicked).unwrap();
    let profile = dir.path().join("profile");

    let dump = output(
        headless(&chrome, &profile)
            .arg("--dump-dom")
            .arg(format!("file://{}", page_path.display())),
    );
    assert!(dump.status.success(), "chromium --dump-dom: {}", stderr(&dump));
    let dom = stdout(&dump);
    // The script ran without error over every table.
    let tables = page.matches("<table class=\"sortable\"").count();
    assert!(tables >= 8, "{tables} tables");
    assert!(dom.contains(&format!("data-sortable=\"{tables}\"")), "the sort script ran");
    assert!(
        dom.contains("<title>bouncer report</title>"),
        "no injected script changed the title"
    );
    assert!(!dom.contains("<img"), "no element was injected");
    // The charts carry the summary's numbers.
    let s = &summary;
    let records = s["accounting"]["records"].as_u64().unwrap();
    assert!(records >= 10);
    assert!(dom.contains(&format!("<b>{records}</b> failure records")));
    let mut bars = 0;
    for (hour, kinds) in s["by_hour_type"].as_object().unwrap() {
        for kind in ["hard", "soft"] {
            if let Some(v) = kinds.get(kind).and_then(|v| v.as_u64()) {
                let want = format!("data-hour=\"{hour}\" data-kind=\"{kind}\" data-value=\"{v}\"");
                assert!(dom.contains(&want), "hour chart has {want}");
                bars += 1;
            }
        }
    }
    assert!(bars >= 3);
    for map in ["by_remote_host", "by_code_status", "by_reason", "by_recipient_domain"] {
        // The chart shows the ten largest, ties by name.
        let mut m: Vec<(&String, u64)> = s[map].as_object().unwrap().iter().map(|(k, v)| (k, v.as_u64().unwrap())).collect();
        assert!(m.len() >= 3, "{map}");
        m.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (k, v) in m.into_iter().take(10) {
            let want = format!("data-label=\"{k}\" data-value=\"{v}\"");
            assert!(dom.contains(&want), "{map} chart has {want}");
        }
    }

    // Sorting: hosts by name, reasons by share as numbers (6.2% before 18.8%).
    let dump = output(
        headless(&chrome, &profile)
            .arg("--dump-dom")
            .arg(format!("file://{}", clicked_path.display())),
    );
    let dom = stdout(&dump);
    let hosts = column(&dom, "Failures by remote host", 2);
    assert!(hosts.len() >= 5);
    let mut sorted = hosts.clone();
    sorted.sort_by_key(|h| h.to_lowercase());
    assert_eq!(hosts, sorted, "remote hosts sorted by name after one click");
    assert_ne!(hosts, column(&page, "Failures by remote host", 2), "the order changed");
    let shares: Vec<f64> = column(&dom, "Failures by reason", 1)
        .iter()
        .map(|c| c.trim_end_matches('%').parse().unwrap())
        .collect();
    assert!(shares.windows(2).all(|w| w[0] <= w[1]), "shares ascending as numbers: {shares:?}");
    assert!(shares.iter().any(|v| *v >= 10.0) && shares.iter().any(|v| *v < 10.0));

    // And it draws: a screenshot of the rendered page.
    let png = dir.path().join("report.png");
    let shot = output(
        headless(&chrome, &profile)
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1200,1600")
            .arg(format!("file://{}", page_path.display())),
    );
    assert!(shot.status.success(), "chromium --screenshot: {}", stderr(&shot));
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(bytes.len() > 20_000, "a page with charts, not a blank one ({} bytes)", bytes.len());
}
