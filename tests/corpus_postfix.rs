//! The real Postfix lines of the shared corpus, scored by the shared scorer: recall 100 %,
//! every field at least 98 %, no record on sent or noise lines.

mod common;

#[test]
fn postfix_corpus_scores() {
    let Some(corpus) = common::corpus() else { return };
    let out = common::output(
        std::process::Command::new("python3")
            .arg(common::tool(&corpus, "score-postfix"))
            .args(["--json", "--show", "5", "--bin", common::bin(), "--corpus"])
            .arg(corpus.join("postfix"))
            .env("TZ", "UTC"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "score-postfix failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = text.lines().last().expect("figures line");
    let fig: serde_json::Value = serde_json::from_str(last).expect("JSON figures");
    println!("{text}");
    assert_eq!(fig["recall"], 100.0, "{text}");
    for field in [
        "action",
        "recipient",
        "original_recipient",
        "sender",
        "remote_host",
        "remote_ip",
        "reply_code",
        "status",
        "smtp_command",
        "bounce_type",
        "diagnostic",
    ] {
        let v = fig[field].as_f64().unwrap_or(0.0);
        assert!(v >= 98.0, "{field} scored {v} < 98: {text}");
    }
    assert_eq!(fig["false_positives"], 0, "{text}");
    assert_eq!(fig["unlabelled_records"], 0, "{text}");
    assert_eq!(fig["duplicates"], 0, "{text}");
}
