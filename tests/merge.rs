//! `bouncer merge`: partial summaries of disjoint inputs add up to the summary of all of them.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Two hosts' logs, each a chain of daily rotated files (the newest plain, older ones gzip'd).
fn two_chains(dir: &Path) -> Option<Vec<PathBuf>> {
    let corpus = common::corpus()?;
    let mut out = Vec::new();
    for (host, seed) in [("mx1", "21"), ("mx2", "22")] {
        let d = dir.join(host);
        let st = common::output(
            std::process::Command::new("python3")
                .arg(common::tool(&corpus, "gen-maillog"))
                .args(["--messages", "1500", "--seed", seed, "--days", "3", "--split-days", "-o"])
                .arg(&d)
                .arg("--truth")
                .arg(dir.join(format!("{host}.truth.json"))),
        );
        assert!(st.status.success(), "gen-maillog: {}", common::stderr(&st));
        out.push(d);
    }
    Some(out)
}

fn report(paths: &[&Path], format: &str) -> Vec<u8> {
    let out = common::output(common::bouncer().args(["report", "--year", "2026", "--format", format]).args(paths));
    assert!(out.status.success(), "{}", common::stderr(&out));
    out.stdout
}

fn merge(args: &[&str], stdin: Option<Vec<u8>>) -> std::process::Output {
    let mut c = common::bouncer();
    c.arg("merge").args(args);
    match stdin {
        None => common::output(&mut c),
        Some(data) => {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("in");
            std::fs::write(&f, data).unwrap();
            c.stdin(std::fs::File::open(&f).unwrap());
            common::output(&mut c)
        }
    }
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).expect("a JSON summary")
}

#[test]
fn chains_merged_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some(hosts) = two_chains(dir.path()) else { return };
    let single = report(&[&hosts[0], &hosts[1]], "json");
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, report(&[&hosts[0]], "json")).unwrap();
    std::fs::write(&b, report(&[&hosts[1]], "json")).unwrap();
    let out = merge(&[a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(json(&out.stdout), json(&single));
    assert_eq!(out.stdout, single, "byte for byte, as report prints it");
    // A stream of one-line summaries on standard input, and a merge of merges.
    let mut stream = report(&[&hosts[0]], "jsonl");
    stream.extend(report(&[&hosts[1]], "jsonl"));
    let out = merge(&["-"], Some(stream));
    assert_eq!(json(&out.stdout), json(&single));
    let ab = dir.path().join("ab.json");
    std::fs::write(&ab, &out.stdout).unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let e = dir.path().join("e.json");
    std::fs::write(&e, report(&[&empty], "json")).unwrap();
    let out = merge(&[ab.to_str().unwrap(), e.to_str().unwrap()], None);
    let mut want = json(&single);
    want["inputs"]["files"] = Value::from(want["inputs"]["files"].as_u64().unwrap() + 1);
    assert_eq!(json(&out.stdout), want);
    // The text report of a merge is the text report of the single run.
    let text = merge(&["--format", "text", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(
        common::stdout(&text),
        String::from_utf8(report(&[&hosts[0], &hosts[1]], "text")).unwrap()
    );
}

/// One file per part cuts messages whose lines fall into two days: their deferrals are counted
/// as distinct deferred messages in both parts. Everything else still adds up exactly.
#[test]
fn files_merged_differ_only_in_distinct_deferred() {
    let dir = tempfile::tempdir().unwrap();
    let Some(hosts) = two_chains(dir.path()) else { return };
    let single = json(&report(&[&hosts[0], &hosts[1]], "json"));
    let mut stream = Vec::new();
    for h in &hosts {
        for f in std::fs::read_dir(h).unwrap() {
            stream.extend(report(&[&f.unwrap().path()], "jsonl"));
        }
    }
    let out = merge(&[], Some(stream));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let mut merged = json(&out.stdout);
    let (one, parts) = (
        single["postfix"]["deferred"].as_u64().unwrap(),
        merged["postfix"]["deferred"].as_u64().unwrap(),
    );
    assert!(parts >= one, "per-file deferred {parts} < single {one}");
    merged["postfix"]["deferred"] = single["postfix"]["deferred"].clone();
    assert_eq!(merged, single);
}

#[test]
fn other_versions_and_junk_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::fixture("postfix/mail.log");
    let mut v = json(&report(&[&log], "json"));
    v["version"] = Value::from(99);
    let f = dir.path().join("v99.json");
    std::fs::write(&f, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = merge(&[f.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("schema version 99"), "{}", common::stderr(&out));
    for (name, text) in [("junk", &b"not json"[..]), ("other", b"{\"a\": 1}"), ("none", b"")] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let out = merge(&[f.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(common::stderr(&out).starts_with("bouncer: "), "{name}: {}", common::stderr(&out));
    }
    let out = merge(&[dir.path().join("missing").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("missing"));
}
