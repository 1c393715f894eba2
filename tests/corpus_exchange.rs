//! The Exchange samples of the shared corpus: every record and field of `expected.jsonl`, and
//! no record from any other row (DSN, HAREDIRECTFAIL, SEND, SENDEXTERNAL, RECEIVE rows).

mod common;

use serde_json::Value;

#[test]
fn exchange_corpus_gives_exactly_the_expected_records() {
    let Some(corpus) = common::corpus() else { return };
    let dir = corpus.join("exchange").join("synthetic");
    let expected: Vec<Value> = std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out = common::output(common::bouncer().args(["scan", "--format", "jsonl"]).arg(&dir));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let got = common::jsonl(&out);
    let mut used = vec![false; got.len()];
    let mut bad = Vec::new();
    let (mut fields, mut matched) = (0, 0);
    for e in &expected {
        let pick = got.iter().enumerate().position(|(i, g)| {
            !used[i]
                && g["source"].as_str().unwrap().ends_with(e["file"].as_str().unwrap())
                && g["line"] == e["line"]
                && g["recipient"] == e["recipient"]
        });
        let Some(i) = pick else {
            bad.push(format!("missing: {} line {} {}", e["file"], e["line"], e["recipient"]));
            continue;
        };
        used[i] = true;
        let g = &got[i];
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let action = if e["event"] == "DEFER" {
            "delayed"
        } else if g["action"] == "expired" {
            "expired"
        } else {
            "failed"
        };
        let want = [
            ("sender", text(&e["return_path"])),
            ("reply_code", text(&e["reply_code"])),
            ("status", text(&e["status"])),
            ("remote_host", text(&e["remote_host"])),
            ("remote_ip", text(&e["remote_ip"])),
            ("bounce_type", text(&e["bounce_type"])),
            ("suppress", text(&e["suppress"])),
            ("diagnostic", text(&e["diagnostic"])),
            ("action", action.to_string()),
        ];
        for (k, v) in want {
            fields += 1;
            if text(&g[k]) == v {
                matched += 1;
            } else {
                bad.push(format!(
                    "{} line {} {}: {k} want {v:?}, got {:?}",
                    e["file"], e["line"], e["recipient"], g[k]
                ));
            }
        }
        // The time: UTC stamps as written; the CSV's local culture text read in TZ (UTC here).
        let t = e["time"].as_str().unwrap();
        let ours = g["timestamp"].as_str().unwrap();
        let ok = match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(w) => chrono::DateTime::parse_from_rfc3339(ours).is_ok_and(|o| o == w),
            Err(_) => chrono::NaiveDateTime::parse_from_str(t, "%m/%d/%Y %I:%M:%S %p")
                .is_ok_and(|w| chrono::DateTime::parse_from_rfc3339(ours).is_ok_and(|o| o.naive_utc() == w)),
        };
        fields += 1;
        if ok {
            matched += 1;
        } else {
            bad.push(format!("{} line {}: time want {t}, got {ours}", e["file"], e["line"]));
        }
    }
    for (i, g) in got.iter().enumerate() {
        if !used[i] {
            bad.push(format!("extra record: {} line {} {}", g["source"], g["line"], g["recipient"]));
        }
    }
    println!(
        "exchange corpus: {} expected records, {} fields, {matched} matched",
        expected.len(),
        fields
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(expected.len(), 21);
}
