//! `bouncer explain` on the examples, JSON output, and an input with no code.

mod common;

use common::{run, stderr, stdout};
use serde_json::Value;

fn json(q: &str) -> Value {
    let out = run(&["explain", "--format", "json", q]);
    assert_eq!(out.status.code(), Some(0), "{q}: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn reply_codes_statuses_and_answers() {
    let e = json("550");
    assert_eq!(e["reply_code"], "550");
    assert_eq!(e["bounce_type"], "hard");
    assert!(e["reply_class"].as_str().unwrap().starts_with("5yz permanent"));
    assert!(e["reply_subject"].as_str().unwrap().starts_with("x5z mail system"));
    assert!(e["commands"].as_array().unwrap().iter().any(|c| c == "RCPT"));

    let e = json("4.4.7");
    assert_eq!(e["bounce_type"], "soft");
    assert_eq!(e["reason"], "expired");
    assert!(e["status_subject"].as_str().unwrap().contains("network and routing"));

    let e = json("5.7.1");
    assert_eq!(
        e["status_meaning"].as_str().unwrap().split(',').next().unwrap(),
        "delivery not authorized"
    );

    let e = json("550-5.7.26 This mail has been blocked because the sender is unauthenticated.");
    assert_eq!(e["reply_code"], "550");
    assert_eq!(e["status"], "5.7.26");
    assert_eq!(e["reason"], "authfailure");
    assert_eq!(e["suppress"], false);
    assert!(e["provider"].as_str().unwrap().starts_with("Gmail"));
    assert!(e["advice"].as_str().unwrap().contains("not the one that sent you the bounce"));

    let e = json("550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown");
    assert_eq!(e["reason"], "userunknown");
    assert_eq!(e["suppress"], true);
    assert!(e["advice"].as_str().unwrap().starts_with("Remove the address"));

    // The word "expired" alone is no expiry: a certificate can expire.
    let e = json("454 4.7.5 TLS failed: the server certificate has expired");
    assert_eq!(e["reason"], "securityerror");
    let e = json("550 5.4.7 Message expired in queue");
    assert_eq!(e["reason"], "expired");

    let e = json("5.7.620");
    assert!(e["provider"].as_str().unwrap().contains("banned"));
    let e = json("250 2.0.0 Ok");
    assert_eq!(e["bounce_type"], "");
    assert!(e["advice"].as_str().unwrap().starts_with("nothing to do"));
}

#[test]
fn text_output_and_no_code() {
    let out = run(&["explain", "452", "nonsense"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("452\n  reply code 452: insufficient system storage"), "{text}");
    assert!(text.contains("bounce: soft"), "{text}");
    assert!(text.contains("nonsense\n  what to do: no reply code"), "{text}");
    assert!(stderr(&out).contains("no reply code or enhanced status found"));
}

#[test]
fn user_rules_decide_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.txt");
    std::fs::write(&rules, "[text]\nblocked  our\\s+local\\s+blocklist\n").unwrap();
    let out = run(&[
        "explain",
        "--format",
        "json",
        "--rules",
        rules.to_str().unwrap(),
        "550 5.1.1 on our local blocklist",
    ]);
    let e: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(e["reason"], "blocked", "{e}");
    assert!(e["reason_from"].as_str().unwrap().contains("rules.txt"), "{e}");
}
