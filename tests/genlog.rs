//! Generated logs with ground truth (../shared/tools/gen-maillog): `report --format json` must
//! equal the truth for every Grand Totals key and every by_* map the truth has.

mod common;

use serde_json::Value;
use std::path::Path;

fn generate(corpus: &Path, dir: &Path, args: &[&str]) -> (std::path::PathBuf, Value) {
    let truth = dir.join("truth.json");
    let out_path = dir.join(if args.contains(&"--split-days") { "logs" } else { "mail.log" });
    let st = common::output(
        std::process::Command::new("python3")
            .arg(common::tool(corpus, "gen-maillog"))
            .args(args)
            .arg("-o")
            .arg(&out_path)
            .arg("--truth")
            .arg(&truth),
    );
    assert!(st.status.success(), "gen-maillog: {}", String::from_utf8_lossy(&st.stderr));
    let truth: Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    (out_path, truth)
}

fn check(args: &[&str]) {
    let Some(corpus) = common::corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = generate(&corpus, dir.path(), args);
    let out = common::output(common::bouncer().args(["report", "--format", "json", "--year", "2026"]).arg(&log));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut bad = Vec::new();
    for (k, v) in truth["postfix"].as_object().unwrap() {
        if &got["postfix"][k] != v {
            bad.push(format!("postfix.{k}: truth {v}, got {}", got["postfix"][k]));
        }
    }
    for map in [
        "by_action",
        "by_bounce_type",
        "by_reply_code",
        "by_status",
        "by_reason",
        "by_remote_host",
        "by_recipient_domain",
        "by_hour",
    ] {
        let Some(t) = truth.get(map) else { continue };
        if &got[map] != t {
            let (t, g) = (t.as_object().unwrap(), got[map].as_object().cloned().unwrap_or_default());
            for k in t.keys().chain(g.keys()) {
                if t.get(k) != g.get(k) {
                    bad.push(format!("{map}.{k}: truth {:?}, got {:?}", t.get(k), g.get(k)));
                }
            }
        }
    }
    assert_eq!(got["accounting"]["records"], truth["accounting"]["records"]);
    assert_eq!(got["inputs"]["lines"], truth["accounting"]["lines"]);
    let a = &got["accounting"];
    let units = got["inputs"]["lines"].as_u64().unwrap();
    let sum = ["failures", "not_failures", "unparsed", "filtered"]
        .iter()
        .map(|k| a[*k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(units, sum, "every line accounted for");
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn generated_log_matches_truth() {
    check(&["--messages", "12000", "--seed", "7"]);
}

#[test]
fn generated_mixed_stamps_several_hosts_match_truth() {
    check(&[
        "--messages",
        "6000",
        "--seed",
        "3",
        "--timestamps",
        "mixed",
        "--hosts",
        "3",
        "--queue-ids",
        "long",
    ]);
}

#[test]
fn generated_rotated_gzip_files_match_truth() {
    check(&["--messages", "6000", "--seed", "5", "--days", "4", "--split-days", "--gzip"]);
}
