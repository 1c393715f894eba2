//! The command line on the bundled Postfix fixtures: every shape, the filters, inputs that are
//! compressed, binary, missing or truncated, exit codes, output safety.

mod common;

use common::{fixture, jsonl, run, stderr, stdout};
use serde_json::Value;
use std::io::Write;

fn scan_fixtures() -> Vec<Value> {
    let out = run(&["scan", "--format", "jsonl", "--year", "2026", fixture("postfix").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    jsonl(&out)
}

fn by_recipient<'a>(recs: &'a [Value], rcpt: &str, action: &str) -> &'a Value {
    recs.iter()
        .find(|r| r["recipient"] == rcpt && r["action"] == action)
        .unwrap_or_else(|| panic!("no {action} record for {rcpt}"))
}

#[test]
fn bounce_fields_and_correlation() {
    let recs = scan_fixtures();
    let bob = by_recipient(&recs, "bob@example.net", "failed");
    assert_eq!(bob["timestamp"], "2026-01-05T09:00:02+00:00");
    assert_eq!(bob["format"], "postfix");
    assert_eq!(bob["direction"], "outbound");
    assert_eq!(bob["queue_id"], "4A1B2C3D01");
    assert_eq!(bob["sender"], "alice@example.org", "sender from the qmgr line");
    assert_eq!(
        bob["message_id"], "20260105090001.abc@example.org",
        "message-id from the cleanup line"
    );
    assert_eq!(bob["remote_host"], "mx.example.net");
    assert_eq!(bob["remote_ip"], "192.0.2.7");
    assert_eq!(bob["reply_code"], "550");
    assert_eq!(bob["status"], "5.1.1");
    assert_eq!(bob["smtp_command"], "RCPT");
    assert_eq!(bob["bounce_type"], "hard");
    assert_eq!(bob["reason"], "userunknown");
    assert_eq!(bob["suppress"], true);
    assert_eq!(bob["line"], 5);
    assert!(bob["diagnostic"]
        .as_str()
        .unwrap()
        .starts_with("host mx.example.net[192.0.2.7] said: 550 5.1.1"));
    // Sent mail gives no record.
    assert!(!recs.iter().any(|r| r["recipient"] == "carol@example.net"));
    // Keys in the contract's order.
    let keys: Vec<&str> = bob.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 21);
}

#[test]
fn deferral_ipv6_expiry_and_rotation() {
    let recs = scan_fixtures();
    let dave = by_recipient(&recs, "dave@example.com", "delayed");
    assert_eq!(
        (dave["remote_host"].as_str(), dave["remote_ip"].as_str()),
        (Some("mx.example.com"), Some("2001:db8::25"))
    );
    assert_eq!(dave["smtp_command"], "CONN");
    assert_eq!(dave["original_recipient"], "dave.alias@example.org");
    assert_eq!(dave["bounce_type"], "soft");
    assert_eq!(dave["suppress"], false);
    // The expiry takes the recipient and the answer of its last deferral.
    let exp = by_recipient(&recs, "dave@example.com", "expired");
    assert_eq!(exp["reason"], "expired");
    assert_eq!(exp["bounce_type"], "hard");
    assert_eq!(exp["remote_ip"], "192.0.2.11");
    assert_eq!(exp["sender"], "alice@example.org");
    // Across a rotation: qmgr and cleanup lines in mail.log.1, the bounce in mail.log.
    let friend = by_recipient(&recs, "friend@example.net", "failed");
    assert_eq!(friend["sender"], "night-owl@example.org");
    assert_eq!(friend["message_id"], "late-night@example.org");
    assert_eq!(friend["reason"], "suspend");
    // Second instance (postfix-out) keeps its own sender line.
    let orders = by_recipient(&recs, "orders@example.net", "delayed");
    assert_eq!(orders["sender"], "www-data@example.org");
    assert_eq!(orders["reason"], "mailboxfull");
    // local and lmtp deliveries: no remote host, no socket path as an IP.
    let nobody = by_recipient(&recs, "nobody@mx1.example.org", "failed");
    assert_eq!(
        (nobody["remote_host"].as_str(), nobody["reply_code"].as_str()),
        (Some(""), Some(""))
    );
    let ghost = by_recipient(&recs, "ghost@example.org", "failed");
    assert_eq!(
        (ghost["remote_host"].as_str(), ghost["remote_ip"].as_str()),
        (Some("mail.example.org"), Some(""))
    );
    let dns = by_recipient(&recs, "x@nowhere.invalid", "failed");
    assert_eq!(
        (dns["reason"].as_str(), dns["remote_host"].as_str(), dns["smtp_command"].as_str()),
        (Some("hostunknown"), Some(""), Some(""))
    );
    let greeting = by_recipient(&recs, "z@example.com", "delayed");
    assert_eq!(greeting["smtp_command"], "CONN");
}

#[test]
fn inbound_rejects() {
    let recs = scan_fixtures();
    let rejects: Vec<&Value> = recs.iter().filter(|r| r["action"] == "rejected").collect();
    assert_eq!(
        rejects.len(),
        5,
        "smtpd, postscreen, greylist, milter, cleanup body; not the reject_warning"
    );
    assert!(rejects.iter().all(|r| r["direction"] == "inbound"));
    let smtpd = rejects[0];
    assert_eq!(
        (smtpd["remote_host"].as_str(), smtpd["remote_ip"].as_str()),
        (Some(""), Some("198.51.100.23")),
        "unknown client name is empty"
    );
    assert_eq!(smtpd["sender"], "spam@example.biz");
    assert_eq!(smtpd["reason"], "blocked");
    assert_eq!(smtpd["diagnostic"], "554 5.7.1 Service unavailable; Client host [198.51.100.23] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.23");
    assert_eq!(rejects[1]["remote_ip"], "203.0.113.5");
    assert_eq!(rejects[2]["bounce_type"], "soft");
    let milter = rejects[3];
    assert_eq!(
        (
            milter["reply_code"].as_str(),
            milter["status"].as_str(),
            milter["smtp_command"].as_str()
        ),
        (Some(""), Some("5.7.1"), Some("DATA"))
    );
    assert_eq!(milter["message_id"], "inv-77@example.com");
    assert_eq!(rejects[4]["reason"], "policyviolation");
}

#[test]
fn every_line_is_accounted_for() {
    let out = run(&["report", "--format", "json", "--year", "2026", fixture("postfix").to_str().unwrap()]);
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &s["accounting"];
    assert_eq!(s["inputs"]["lines"], 38);
    assert_eq!(a["records"], 16);
    assert_eq!(a["unparsed"], 1, "the corrupted tox= line");
    let sum: u64 = ["failures", "not_failures", "unparsed", "filtered"]
        .iter()
        .map(|k| a[*k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 38);
    assert_eq!(s["postfix"]["bounced"], 5);
    assert_eq!(s["postfix"]["deferrals"], 5);
    assert_eq!(s["postfix"]["deferred"], 4);
    assert_eq!(s["postfix"]["rejected"], 5);
    assert_eq!(s["postfix"]["reject_warnings"], 1);
    assert_eq!(s["postfix"]["received"], 3);
    assert_eq!(s["postfix"]["delivered"], 2);
    assert_eq!(s["by_reason"]["userunknown"], 3);
    assert_eq!(s["suppress"]["bob@example.net"], 1);
    let unparsed = run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        "--show-unparsed",
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    assert!(
        stderr(&unparsed).contains("mail.log:30: delivery status line without to="),
        "{}",
        stderr(&unparsed)
    );
}

#[test]
fn filters() {
    let path = fixture("postfix");
    let p = path.to_str().unwrap();
    let count = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "jsonl", "--year", "2026", p];
        args.extend_from_slice(extra);
        jsonl(&run(&args)).len()
    };
    assert_eq!(count(&[]), 16);
    assert_eq!(count(&["--only", "hard"]), 10);
    assert_eq!(count(&["--only", "soft"]), 6);
    assert_eq!(count(&["--direction", "inbound"]), 5);
    assert_eq!(count(&["--direction", "outbound"]), 11);
    assert_eq!(count(&["--since", "2026-01-06"]), 3);
    assert_eq!(count(&["--until", "2026-01-05T09:05:00Z"]), 2);
    assert_eq!(count(&["--since", "2026-01-05T09:05:00Z", "--until", "2026-01-05T09:07:01Z"]), 5);
    // The report honours the window in its Grand Totals too.
    let out = run(&["report", "--format", "json", "--year", "2026", "--since", "2026-01-06", p]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["postfix"]["rejected"], 0);
    assert_eq!(s["postfix"]["expired"], 1);
}

fn write(path: &std::path::Path, bytes: &[u8]) {
    std::fs::File::create(path).unwrap().write_all(bytes).unwrap();
}

#[test]
fn compressed_inputs_are_read_by_magic_bytes() {
    let plain = std::fs::read(fixture("postfix/mail.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    write(&dir.path().join("a"), &gz.finish().unwrap());
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&plain).unwrap();
    write(&dir.path().join("b.log"), &bz.finish().unwrap());
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&plain).unwrap();
    write(&dir.path().join("c.txt"), &xz.finish().unwrap());
    write(&dir.path().join("d"), &zstd::encode_all(&plain[..], 1).unwrap());
    let want = jsonl(&run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        fixture("postfix/mail.log").to_str().unwrap(),
    ]))
    .len();
    for name in ["a", "b.log", "c.txt", "d"] {
        let out = run(&[
            "scan",
            "--format",
            "jsonl",
            "--year",
            "2026",
            dir.path().join(name).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(jsonl(&out).len(), want, "{name}");
    }
}

#[test]
fn bad_inputs_do_not_stop_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("random.bin"),
        &(0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>(),
    );
    let plain = std::fs::read(fixture("postfix/mail.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    write(&dir.path().join("cut.gz"), &gz[..gz.len() / 2]);
    let good = fixture("postfix/rotated");
    let missing = dir.path().join("no-such-file");
    let out = run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        missing.to_str().unwrap(),
        dir.path().to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "an input was lost: exit 1");
    let err = stderr(&out);
    assert!(err.contains("no-such-file"), "{err}");
    assert!(err.contains("random.bin: skipped: binary data"), "{err}");
    assert!(err.contains("cut.gz"), "{err}");
    let recs = jsonl(&out);
    assert!(
        recs.iter().any(|r| r["recipient"] == "friend@example.net"),
        "the good input is still read"
    );
    assert!(
        recs.iter().any(|r| r["source"].as_str().unwrap().ends_with("cut.gz")),
        "records before the truncation are kept"
    );
    // A binary file alone is a warning, not an error.
    let out = run(&["scan", "--format", "csv", dir.path().join("random.bin").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["scan", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["scan", "--format", "xml", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("csv"), "names the known formats: {}", stderr(&out));
    let out = run(&["scan", "--since", "someday", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stdin_is_read_and_named_dash() {
    let mut child = common::bouncer()
        .args(["scan", "--format", "jsonl", "--year", "2026"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(fixture("postfix/mail.log")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let recs = jsonl(&out);
    assert_eq!(recs.len(), 15);
    assert!(recs.iter().all(|r| r["source"] == "-"));
}

#[test]
fn csv_header_and_formula_neutralisation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("evil.log");
    write(&log, b"Jan  5 10:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 550 5.1.1 <=HYPERLINK(\"http://x\")@example.com>: Recipient address rejected: User unknown; from=<@SUM(A1)@example.com> to=<=HYPERLINK(\"http://x\")@example.com> proto=ESMTP helo=<x>\n");
    let out = run(&["scan", "--format", "csv", "--year", "2026", log.to_str().unwrap()]);
    let text = stdout(&out);
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, bouncer::Record::COLUMNS.to_vec());
    let row = rows.records().next().unwrap().unwrap();
    assert_eq!(&row[8], "'=HYPERLINK(\"http://x\")@example.com");
    assert_eq!(&row[7], "'@SUM(A1)@example.com");
    let raw = stdout(&run(&["scan", "--format", "csv", "--raw", "--year", "2026", log.to_str().unwrap()]));
    let mut rows = csv::Reader::from_reader(raw.as_bytes());
    assert_eq!(&rows.records().next().unwrap().unwrap()[8], "=HYPERLINK(\"http://x\")@example.com");
}

#[test]
fn table_output_strips_terminal_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("esc.log");
    write(&log, b"Jan  5 10:00:00 mx postfix/smtp[1]: ABCDEF1234: to=<a@example.com>, relay=mx.example.com[192.0.2.1]:25, dsn=5.0.0, status=bounced (host mx.example.com[192.0.2.1] said: 550 evil \x1b]0;owned\x07 text (in reply to RCPT TO command))\n");
    let out = stdout(&run(&["scan", "--format", "table", "--year", "2026", log.to_str().unwrap()]));
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(out.contains("\\x1b]0;owned\\x07"), "{out:?}");
}

#[test]
fn year_rollover_follows_the_file_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("newyear.log");
    write(
        &log,
        b"Dec 31 23:59:59 mx postfix/smtp[1]: ABCDEF1234: to=<a@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)\n\
Jan  1 00:00:01 mx postfix/smtp[1]: ABCDEF1235: to=<b@example.com>, relay=none, dsn=4.4.1, status=deferred (connect to mx.example.com[192.0.2.1]:25: Connection timed out)\n",
    );
    let jan2 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_312_000); // 2026-01-02T00:00:00Z
    std::fs::File::options().write(true).open(&log).unwrap().set_modified(jan2).unwrap();
    let recs = jsonl(&run(&["scan", "--format", "jsonl", log.to_str().unwrap()]));
    assert_eq!(recs[0]["timestamp"], "2025-12-31T23:59:59+00:00");
    assert_eq!(recs[1]["timestamp"], "2026-01-01T00:00:01+00:00");
    let forced = jsonl(&run(&["scan", "--format", "jsonl", "--year", "2013", log.to_str().unwrap()]));
    assert_eq!(forced[1]["timestamp"], "2013-01-01T00:00:01+00:00");
}

#[test]
fn user_rules_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("my.rules");
    write(&rules, b"[text]\nfiltered   recipient address rejected: user unknown\n");
    let recs = jsonl(&run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        "--rules",
        rules.to_str().unwrap(),
        fixture("postfix/mail.log").to_str().unwrap(),
    ]));
    assert_eq!(by_recipient(&recs, "bob@example.net", "failed")["reason"], "filtered");
    write(&rules, b"[text]\nfiltered   (unclosed\n");
    let out = run(&[
        "scan",
        "--rules",
        rules.to_str().unwrap(),
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("my.rules:2"), "{}", stderr(&out));
}

#[test]
fn correlation_state_is_capped_and_evictions_counted() {
    let out = run(&[
        "report",
        "--format",
        "json",
        "--year",
        "2026",
        "--max-queue-ids",
        "1",
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["accounting"]["evicted_queue_ids"].as_u64().unwrap() > 0);
    assert_eq!(s["accounting"]["records"], 15, "eviction loses context, never records");
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let p = fixture("postfix");
    let a = run(&[
        "scan",
        "--format",
        "csv",
        "--year",
        "2026",
        "-j",
        "1",
        p.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    let b = run(&[
        "scan",
        "--format",
        "csv",
        "--year",
        "2026",
        "-j",
        "2",
        p.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(a.stdout, b.stdout);
    assert!(!a.stdout.is_empty());
}

#[test]
fn reports_render() {
    let p = fixture("postfix");
    let text = stdout(&run(&["report", "--year", "2026", p.to_str().unwrap()]));
    for want in [
        "Grand Totals",
        "Failures by remote host",
        "mx.example.net",
        "Recipients to suppress",
        "bob@example.net",
        "Failures by hour",
    ] {
        assert!(text.contains(want), "text report lacks {want}:\n{text}");
    }
    let md = stdout(&run(&[
        "report",
        "--format",
        "markdown",
        "--top",
        "3",
        "--year",
        "2026",
        p.to_str().unwrap(),
    ]));
    assert!(md.starts_with("# bouncer report"));
    assert!(md.contains("| count | share | reason |"));
    let json: Value = serde_json::from_slice(&run(&["report", "--format", "json", p.to_str().unwrap()]).stdout).unwrap();
    for key in [
        "version",
        "inputs",
        "accounting",
        "postfix",
        "by_action",
        "by_bounce_type",
        "by_reply_code",
        "by_status",
        "by_reason",
        "by_remote_host",
        "by_recipient_domain",
        "by_hour",
    ] {
        assert!(json.get(key).is_some(), "json lacks {key}");
    }
}

/// Several files read at once, each cut into many chunks: the pool that reads the files also
/// parses their chunks, and must neither deadlock nor change the output.
#[test]
fn several_chunked_files_in_parallel_match_a_serial_run() {
    let dir = fixture("postfix");
    let d = dir.to_str().unwrap();
    let serial = run(&["scan", "--format", "jsonl", "--year", "2026", "-j", "1", d]);
    for j in ["2", "4"] {
        let par = run(&["scan", "--format", "jsonl", "--year", "2026", "-j", j, "--chunk-size", "1K", d]);
        assert!(par.status.success(), "{}", stderr(&par));
        assert_eq!(stdout(&serial), stdout(&par), "-j {j}");
    }
    assert!(jsonl(&serial).len() > 15);
}
