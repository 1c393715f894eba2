//! `--since`/`--until` with the words a cron job uses, around midnight and across a year
//! boundary. "Now" is pinned with BOUNCER_NOW; syslog stamps take their year from the file's
//! time (a December line in a file written in January is last year's).

mod common;

use common::{bouncer, output, stderr};

const LOG: &str = "\
Dec 30 23:59:59 mx postfix/smtp[1]: AAAA000001: to=<a@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)
Dec 31 00:00:00 mx postfix/smtp[1]: AAAA000002: to=<b@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)
Dec 31 23:59:59 mx postfix/smtp[1]: AAAA000003: to=<c@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)
Jan  1 00:00:00 mx postfix/smtp[1]: AAAA000004: to=<d@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)
Jan  1 00:00:30 mx postfix/smtp[1]: AAAA000005: to=<e@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)
";

/// The recipients' first letters of the records a scan keeps.
fn kept(tz: &str, now: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    std::fs::write(&log, LOG).unwrap();
    // Written a minute into the new year (UTC): 2027-01-01T00:01:00Z.
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_798_761_660);
    std::fs::File::options().write(true).open(&log).unwrap().set_modified(t).unwrap();
    let out = output(
        bouncer()
            .env("TZ", tz)
            .env("BOUNCER_NOW", now)
            .args(["scan", "--format", "jsonl"])
            .args(args)
            .arg(&log),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut s = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        s.push(v["recipient"].as_str().unwrap().chars().next().unwrap());
    }
    s
}

#[test]
fn yesterday_just_after_midnight_on_new_year() {
    // The nightly job at 00:00:45 on 1 January: yesterday is 31 December of the year before.
    let now = "2027-01-01T00:00:45Z";
    assert_eq!(kept("UTC", now, &[]), "abcde");
    assert_eq!(kept("UTC", now, &["--since", "yesterday", "--until", "today"]), "bc");
    assert_eq!(kept("UTC", now, &["--since", "today"]), "de");
    assert_eq!(kept("UTC", now, &["--since", "-24h"]), "cde");
    assert_eq!(kept("UTC", now, &["--since", "2026-12-31", "--until", "2027-01-01"]), "bc");
    assert_eq!(kept("UTC", now, &["--until", "yesterday"]), "a");
    // Just before midnight, "yesterday" is the 30th and "today" the 31st.
    assert_eq!(
        kept("UTC", "2026-12-31T23:59:59Z", &["--since", "yesterday", "--until", "today"]),
        "a"
    );
    assert_eq!(kept("UTC", "2026-12-31T23:59:59Z", &["--since", "today"]), "bcde");
}

#[test]
fn yesterday_is_a_local_day() {
    // In Berlin (UTC+1 in winter) it is already 00:30 on 1 January when UTC says 23:30 on the
    // 31st; the log's stamps are Berlin time too.
    let now = "2026-12-31T23:30:00Z";
    assert_eq!(kept("Europe/Berlin", now, &["--since", "yesterday", "--until", "today"]), "bc");
    assert_eq!(kept("UTC", now, &["--since", "yesterday", "--until", "today"]), "a");
    // In New York (UTC-5) the same instant is 18:30 on the 31st, and the file was written at
    // 19:01 local: its January lines cannot be from the next year, so they are last January's.
    assert_eq!(kept("America/New_York", now, &["--since", "today"]), "bc");
}

#[test]
fn a_bad_now_is_an_error() {
    let out = output(bouncer().env("BOUNCER_NOW", "soon").args(["scan", "--since", "today", "-"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("BOUNCER_NOW"), "{}", stderr(&out));
}
