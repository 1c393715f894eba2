//! `--state`: cron runs read only what is new, across every logrotate style — appends (with a
//! line still being written), rename + create, rename then compress, copytruncate — and the
//! records of all runs together are exactly those of one run over everything.

mod common;

use common::{fixture, jsonl, run, stderr};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn lines_of(rel: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(rel))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect()
}

fn append(p: &Path, s: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .unwrap()
        .write_all(s.as_bytes())
        .unwrap();
}

/// One cron run over the directory: its records (recipient, action, line, file name).
fn cron(dir: &Path) -> Vec<(String, String, u64, String)> {
    let state = dir.join("state.json");
    let logs = dir.join("logs");
    let out = run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        "--state",
        state.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    jsonl(&out).iter().map(key).collect()
}

fn key(r: &Value) -> (String, String, u64, String) {
    let file = Path::new(r["source"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (
        r["recipient"].as_str().unwrap().to_string(),
        r["action"].as_str().unwrap().to_string(),
        r["line"].as_u64().unwrap(),
        file,
    )
}

fn gzip(p: &Path) {
    let data = std::fs::read(p).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&data).unwrap();
    std::fs::write(
        p.with_file_name(format!("{}.gz", p.file_name().unwrap().to_string_lossy())),
        e.finish().unwrap(),
    )
    .unwrap();
    std::fs::remove_file(p).unwrap();
}

#[test]
fn every_rotation_style_reads_each_line_once() {
    let a = lines_of("trace/mail.log"); // 19 lines: 2 deferrals, a reject, a bounce
    let b = lines_of("postfix/mail.log");
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("mail.log");
    let mut all = Vec::new();

    // Run 1: the first 9 lines and half of the 10th (still being written).
    append(&log, &a[..9].concat());
    append(&log, &a[9][..20]);
    let r1 = cron(dir.path());
    assert_eq!(r1.len(), 1, "{r1:?}");
    assert_eq!(r1[0].1, "delayed");
    assert_eq!(r1[0].2, 9);
    all.extend(r1);

    // Run 2: nothing new: nothing read again.
    assert!(cron(dir.path()).is_empty());

    // Run 3: the line is finished and more come: numbering goes on (the reject is line 11).
    append(&log, &a[9][20..]);
    append(&log, &a[10..12].concat());
    let r3 = cron(dir.path());
    assert_eq!(
        r3.iter().map(|r| (r.1.as_str(), r.2)).collect::<Vec<_>>(),
        vec![("rejected", 11), ("delayed", 12)]
    );
    all.extend(r3);

    // Run 4: rename + create (logrotate's default): the rest of the old file is read under its
    // new name, the new file from its start.
    append(&log, &a[12..14].concat());
    std::fs::rename(&log, logs.join("mail.log.1")).unwrap();
    append(&log, &b[..10].concat());
    let r4 = cron(dir.path());
    assert!(r4.iter().any(|r| r.1 == "failed" && r.2 == 13 && r.3 == "mail.log.1"), "{r4:?}");
    all.extend(r4);

    // Run 5: mail.log.1 compressed to mail.log.2.gz with lines it had that were not yet read,
    // mail.log renamed to mail.log.1, a new mail.log.
    append(&logs.join("mail.log.1"), &a[14..].concat());
    std::fs::rename(logs.join("mail.log.1"), logs.join("mail.log.2")).unwrap();
    gzip(&logs.join("mail.log.2"));
    append(&log, &b[10..20].concat());
    std::fs::rename(&log, logs.join("mail.log.1")).unwrap();
    append(&log, &b[20..].concat());
    let r5 = cron(dir.path());
    all.extend(r5);

    // Run 6: copytruncate: mail.log copied to mail.log.0 (read whole: a new file to the state
    // only if it has a new start — here it is the same content, so it is recognised) and
    // emptied; new lines are read from the start.
    let copy = std::fs::read(&log).unwrap();
    std::fs::write(logs.join("mail.log.0"), &copy).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &a[..9].concat());
    let r6 = cron(dir.path());
    assert_eq!(r6.len(), 1, "only the new deferral: {r6:?}");
    assert_eq!((r6[0].1.as_str(), r6[0].2, r6[0].3.as_str()), ("delayed", 9, "mail.log"));

    // Everything read once: the same records as one run over the whole of each content.
    let whole = |rel: &str| -> Vec<(String, String, u64)> {
        let out = run(&["scan", "--format", "jsonl", "--year", "2026", fixture(rel).to_str().unwrap()]);
        jsonl(&out).iter().map(key).map(|k| (k.0, k.1, k.2)).collect()
    };
    let mut want = whole("trace/mail.log");
    want.extend(whole("postfix/mail.log"));
    want.sort();
    let mut got: Vec<_> = all.into_iter().map(|k| (k.0, k.1, k.2)).collect();
    got.sort();
    // The postfix fixture's line numbers restart per file piece here (it was split across three
    // files), so compare its records by recipient and action only.
    let strip = |v: &[(String, String, u64)]| -> Vec<(String, String)> {
        let mut s: Vec<_> = v.iter().map(|k| (k.0.clone(), k.1.clone())).collect();
        s.sort();
        s
    };
    assert_eq!(strip(&got), strip(&want));
    assert_eq!(got.len(), want.len(), "nothing read twice, nothing skipped");
}

#[test]
fn a_corrupt_state_file_is_an_error_not_a_full_reread() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"version\": 1, \"files\": [").unwrap();
    let out = run(&[
        "report",
        "--state",
        state.to_str().unwrap(),
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a bouncer state"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"version\": 1, \"files\": [",
        "left as it was"
    );
}

#[test]
fn the_state_is_not_saved_when_the_report_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let out = run(&[
        "report",
        "--state",
        state.to_str().unwrap(),
        "-o",
        dir.path().join("no/such/dir/report.txt").to_str().unwrap(),
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!state.exists(), "lines not reported are not marked read");
}
