//! `bouncer trace` on synthetic fixtures: a message handed from one Postfix instance to another,
//! deferred twice, then bounced, with its NDR and the bounce email; an expiry; a NOQUEUE reject;
//! a domain query; JSON; and a query that matches nothing.

mod common;

use common::{fixture, run, stderr, stdout};
use serde_json::Value;

fn trace(args: &[&str]) -> std::process::Output {
    let mut a = vec!["trace", "--year", "2026"];
    a.extend_from_slice(args);
    run(&a)
}

#[test]
fn relayed_deferred_twice_then_bounced_with_its_ndr_and_bounce_email() {
    let out = trace(&["zoe@example.net", fixture("trace").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "message 7C1D2E3F40 -> 8D2E3F4A51 -> 9E3F4A5B62 <weekly-9@example.org> from news@example.org"
    );
    let verdict = lines.next().unwrap();
    assert!(
        verdict.starts_with(
            "  verdict: zoe@example.net bounced by mx.example.net [192.0.2.7] at 2026-03-02 11:20:05: 550 5.1.1 <zoe@example.net>"
        ),
        "{verdict}"
    );
    assert!(verdict.ends_with("(hard; remove the address)"), "{verdict}");
    // Every line of the three queue ids, in order, with file and line; not the reject in between.
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("[") && l.contains("mail.log:"))
        .filter(|l| l.starts_with("  2026"))
        .collect();
    assert_eq!(events.len(), 17, "{text}");
    assert!(events[0].ends_with("mail.log:1]"));
    assert!(events[16].ends_with("mail.log:19]"));
    assert!(!text.contains("NOQUEUE"));
    let deferrals = text.lines().filter(|l| l.trim_start().starts_with("delayed")).count();
    assert_eq!(deferrals, 2);
    assert!(text.contains("[dsn "), "the bounce email joins the story: {text}");
}

#[test]
fn json_is_one_object_per_message() {
    let out = trace(&["--format", "json", "weekly-9@example.org", fixture("trace").to_str().unwrap()]);
    let objs: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objs.len(), 1);
    let s = &objs[0];
    assert_eq!(s["queue_ids"], serde_json::json!(["7C1D2E3F40", "8D2E3F4A51", "9E3F4A5B62"]));
    assert_eq!(s["message_id"], "weekly-9@example.org");
    assert_eq!(s["sender"], "news@example.org");
    assert_eq!(s["events"].as_array().unwrap().len(), 17);
    let recs = s["records"].as_array().unwrap();
    assert!(recs.iter().any(|r| r["format"] == "dsn" && r["recipient"] == "zoe@example.net"));
    assert!(recs
        .iter()
        .any(|r| r["format"] == "postfix" && r["action"] == "failed" && r["line"] == 13));
}

#[test]
fn expiry_reject_and_domain() {
    let out = trace(&["dave@example.com", fixture("postfix/mail.log").to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("dave@example.com expired at 2026-01-06 09:00:04"),
        "{text}"
    );
    let out = trace(&["yuri@example.org", fixture("trace/mail.log").to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.starts_with("message NOQUEUE"), "{text}");
    assert!(text.contains("rejected by us"), "{text}");
    assert!(text.contains("554 5.7.1"), "{text}");
    let out = trace(&["--domain", "example.net", fixture("trace/mail.log").to_str().unwrap()]);
    assert!(stdout(&out).starts_with("message 7C1D2E3F40"));
}

#[test]
fn nothing_matches_exit_1() {
    let out = trace(&["nobody@nowhere.example", fixture("trace").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("no message matches \"nobody@nowhere.example\""),
        "{}",
        stderr(&out)
    );
    let out = run(&["trace", "", fixture("trace").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

/// The fixture's lines, split at `at` into a rotated `mail.log.1` and the live `mail.log`.
fn rotated_copy(at: usize, keep: usize) -> tempfile::TempDir {
    let text = std::fs::read_to_string(fixture("trace/mail.log")).unwrap();
    let lines: Vec<&str> = text.lines().take(keep).collect();
    let dir = tempfile::tempdir().unwrap();
    let part = |l: &[&str]| l.iter().map(|s| format!("{s}\n")).collect::<String>();
    std::fs::write(dir.path().join("mail.log.1"), part(&lines[..at])).unwrap();
    std::fs::write(dir.path().join("mail.log"), part(&lines[at..])).unwrap();
    dir
}

#[test]
fn story_continues_across_a_rotation() {
    // Rotated between the second deferral and the bounce.
    let dir = rotated_copy(12, usize::MAX);
    let out = trace(&["8D2E3F4A51", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("message 7C1D2E3F40 -> 8D2E3F4A51 -> 9E3F4A5B62"), "{text}");
    assert!(text.contains("bounced by mx.example.net [192.0.2.7]"), "{text}");
    let events: Vec<&str> = text.lines().filter(|l| l.starts_with("  2026")).collect();
    assert_eq!(events.len(), 17, "{text}");
    assert!(events[9].ends_with("mail.log.1:12]"), "{}", events[9]);
    assert!(events[10].ends_with("mail.log:1]"), "{}", events[10]);
}

#[test]
fn a_message_still_in_the_queue_is_still_deferred() {
    // The log ends after the second deferral.
    let dir = rotated_copy(6, 12);
    let out = trace(&["zoe@example.net", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let verdict = stdout(&out).lines().nth(1).unwrap().to_string();
    assert!(verdict.contains("still deferred"), "{verdict}");
    assert!(verdict.contains("2026-03-02 10:20:05"), "{verdict}");
    assert!(verdict.contains("452 4.2.2"), "{verdict}");
}
