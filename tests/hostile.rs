//! Hostile input: every case ends without a panic or a hang, with a one-line error or warning
//! naming the file, the other inputs still read, exit status 1 exactly when an input was lost,
//! and the accounting exact (lines + messages = failures + not failures + unparsed + filtered).
//! (Random bytes, a binary file in a directory and a truncated .gz are in cli_postfix.rs.)

mod common;

use common::{bouncer, fixture, output, run, stderr};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path).unwrap().write_all(bytes).unwrap();
}

/// `report --format json` over `paths`: the exit code, the summary and stderr.
fn summary(paths: &[&Path], extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["report", "--format", "json", "--year", "2026"];
    args.extend_from_slice(extra);
    let names: Vec<String> = paths.iter().map(|p| p.to_str().unwrap().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let out = run(&args);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code(), s, stderr(&out))
}

fn assert_accounted(s: &Value) {
    let n = |k: &str| s["accounting"][k].as_u64().unwrap();
    let i = |k: &str| s["inputs"][k].as_u64().unwrap();
    assert_eq!(
        i("lines") + i("messages"),
        n("failures") + n("not_failures") + n("unparsed") + n("filtered"),
        "accounting: {s}"
    );
}

fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

#[test]
fn a_10_mb_line_is_cut_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mail.log");
    let mut data = fixture_bytes("postfix/mail.log");
    let mut long = b"Jan  5 09:00:00 mx1 postfix/smtp[1]: 0000000001: to=<x@example.net>, status=bounced (".to_vec();
    long.extend(std::iter::repeat_n(b'A', 10 << 20));
    long.extend_from_slice(b")\n");
    data.splice(0..0, long);
    write(&p, &data);
    let (code, s, err) = summary(&[&p], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("mail.log: 1 line(s) longer than 1048576 bytes were cut"), "{err}");
    assert_accounted(&s);
    let (_, plain, _) = summary(&[&fixture("postfix/mail.log")], &[]);
    assert_eq!(
        s["inputs"]["lines"].as_u64().unwrap(),
        plain["inputs"]["lines"].as_u64().unwrap() + 1
    );
    assert!(s["accounting"]["records"].as_u64().unwrap() >= plain["accounting"]["records"].as_u64().unwrap());
}

#[test]
fn nul_bytes_and_invalid_utf8_in_addresses_and_texts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mail.log");
    let mut data = fixture_bytes("postfix/mail.log");
    data.extend_from_slice(
        b"Jan  5 10:00:00 mx1 postfix/smtp[9]: 1A2B3C4D5E: to=<b\xffd\x00@exam\xc3ple.net>, relay=mx.example.net[192.0.2.9]:25, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.9] said: 550 5.1.1 no \x00such \xfe\xfeuser (in reply to RCPT TO command))\n",
    );
    write(&p, &data);
    let out = run(&["scan", "--format", "jsonl", "--year", "2026", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = common::jsonl(&out);
    let r = recs
        .iter()
        .find(|r| r["queue_id"] == "1A2B3C4D5E")
        .expect("the line with bad bytes gives its record");
    assert_eq!(r["reply_code"], "550");
    assert_eq!(r["status"], "5.1.1");
    assert!(
        r["recipient"].as_str().unwrap().contains('\u{fffd}'),
        "bad bytes become U+FFFD: {r}"
    );
    assert!(r["diagnostic"].as_str().unwrap().contains("such"));
    let (_, s, _) = summary(&[&p], &[]);
    assert_accounted(&s);
}

fn compressed(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(data, 1).unwrap(),
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

#[test]
fn truncated_archives_of_every_kind_lose_only_themselves() {
    // Big enough that the cut falls well inside the compressed stream.
    let mut plain = Vec::new();
    for _ in 0..40 {
        plain.extend(fixture_bytes("postfix/mail.log"));
    }
    for kind in ["gz", "xz", "zst", "bz2"] {
        let dir = tempfile::tempdir().unwrap();
        let z = compressed(kind, &plain);
        let cut = dir.path().join(format!("cut.log.{kind}"));
        write(&cut, &z[..z.len() * 2 / 3]);
        let good = fixture("postfix/rotated");
        let (code, s, err) = summary(&[&cut, &good], &[]);
        assert_eq!(code, Some(1), "{kind}: an input was lost: {err}");
        let line = err
            .lines()
            .find(|l| l.contains(&format!("cut.log.{kind}")))
            .unwrap_or_else(|| panic!("{kind}: {err}"));
        assert!(line.starts_with("bouncer: error: "), "{line}");
        assert_eq!(s["inputs"]["errors"], 1, "{kind}");
        assert!(
            s["by_recipient_domain"].as_object().is_some_and(|m| !m.is_empty()),
            "{kind}: the good input is read"
        );
        assert_accounted(&s);
    }
}

#[test]
fn a_gzip_bomb_is_refused_quickly() {
    // 256 MiB of zeros in about 256 KiB: the content after decompression is binary, refused
    // after its first bytes without inflating the rest.
    let dir = tempfile::tempdir().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = dir.path().join("bomb.log.gz");
    write(&bomb, &e.finish().unwrap());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    let t = std::time::Instant::now();
    let (code, s, err) = summary(&[&bomb, &fixture("postfix/mail.log")], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("bomb.log.gz: skipped: binary data"), "{err}");
    assert_eq!(s["inputs"]["skipped"], 1);
    assert_accounted(&s);
    assert!(t.elapsed().as_secs() < 60, "not inflated to the end");
}

#[test]
fn a_bomb_of_empty_lines_streams_in_bounded_memory() {
    // 64 MiB of newlines: every line is read and counted as not a failure.
    let dir = tempfile::tempdir().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let nl = vec![b'\n'; 1 << 20];
    let mut head = fixture_bytes("postfix/mail.log");
    e.write_all(&head).unwrap();
    for _ in 0..64 {
        e.write_all(&nl).unwrap();
    }
    head.clear();
    let p = dir.path().join("blank.log.gz");
    write(&p, &e.finish().unwrap());
    let (code, s, err) = summary(&[&p], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(s["inputs"]["lines"].as_u64().unwrap() > 64 << 20);
    assert_accounted(&s);
}

fn email_with(body_parts: usize, depth: usize) -> Vec<u8> {
    let mut m = String::from(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n",
    );
    // `depth` nested multiparts, the innermost holding `body_parts` parts and the report.
    for d in 0..depth {
        m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{d}\"\r\n\r\n--b{d}\r\n"));
    }
    m.push_str("Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n");
    for i in 0..body_parts {
        m.push_str(&format!("--r\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"));
    }
    m.push_str("--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--r--\r\n");
    for d in (0..depth).rev() {
        m.push_str(&format!("--b{d}--\r\n"));
    }
    m.into_bytes()
}

#[test]
fn emails_with_10000_parts_and_100_deep_nesting() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.eml");
    write(&wide, &email_with(10_000, 0));
    let deep = dir.path().join("deep.eml");
    write(&deep, &email_with(3, 100));
    for p in [&wide, &deep] {
        let t = std::time::Instant::now();
        let (code, s, err) = summary(&[p], &[]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(s["inputs"]["messages"], 1);
        assert_accounted(&s);
        assert!(t.elapsed().as_secs() < 60);
    }
    // Both are still DSNs: the recipient is found.
    for p in [&wide, &deep] {
        let out = run(&["scan", "--format", "jsonl", p.to_str().unwrap()]);
        let recs = common::jsonl(&out);
        assert_eq!(recs.len(), 1, "{}", stderr(&out));
        assert_eq!(recs[0]["recipient"], "gone@example.net");
        assert_eq!(recs[0]["status"], "5.1.1");
    }
}

#[test]
fn an_mbox_with_a_huge_message_is_cut_and_the_next_one_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bounces.mbox");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    let dsn = email_with(1, 0);
    // A 64 MiB message (the test stands in for 1 GB with --max-message-bytes 1M), then a DSN.
    f.write_all(b"From huge@example.org Mon Jan  5 09:00:00 2026\nFrom: huge@example.org\nSubject: big\n\n")
        .unwrap();
    let filler = [b"x".repeat(1023), b"\n".to_vec()].concat();
    for _ in 0..(64 << 10) {
        f.write_all(&filler).unwrap();
    }
    f.write_all(b"From MAILER-DAEMON Mon Jan  5 09:00:01 2026\n").unwrap();
    f.write_all(&dsn.iter().copied().filter(|&b| b != b'\r').collect::<Vec<_>>())
        .unwrap();
    drop(f);
    let out = run(&["scan", "--format", "jsonl", "--max-message-bytes", "1M", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = common::jsonl(&out);
    assert_eq!(recs.len(), 1, "{}", stderr(&out));
    assert_eq!(recs[0]["recipient"], "gone@example.net");
    let (_, s, _) = summary(&[&p], &["--max-message-bytes", "1M"]);
    assert_eq!(s["inputs"]["messages"], 2);
    assert_accounted(&s);
}

#[test]
fn a_million_queue_ids_never_removed_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mail.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..1_000_000u32 {
        writeln!(
            f,
            "Jan  5 09:00:00 mx1 postfix/qmgr[1]: {i:010X}: from=<a{i}@example.org>, size=1, nrcpt=1 (queue active)"
        )
        .unwrap();
    }
    writeln!(f, "Jan  5 09:00:01 mx1 postfix/smtp[2]: 00000F423F: to=<last@example.net>, relay=mx.example.net[192.0.2.1]:25, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.1] said: 550 5.1.1 unknown (in reply to RCPT TO command))").unwrap();
    drop(f);
    let (code, s, err) = summary(&[&p], &["--max-queue-ids", "10000"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(s["accounting"]["evicted_queue_ids"], 1_000_000 - 10_000);
    assert_eq!(s["accounting"]["records"], 1);
    assert_accounted(&s);
    // The last queue id is still open: its bounce keeps its sender.
    let out = run(&["scan", "--format", "jsonl", "--max-queue-ids", "10000", p.to_str().unwrap()]);
    assert_eq!(common::jsonl(&out)[0]["sender"], "a999999@example.org");
}

#[cfg(unix)]
#[test]
fn symlink_loop_and_fifo_in_a_directory_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("postfix/mail.log"), dir.path().join("mail.log")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, s, err) = summary(&[dir.path()], &[]);
    assert_eq!(code, Some(0), "skipped entries are not lost inputs: {err}");
    assert!(err.contains("loop: skipped: a symbolic link"), "{err}");
    assert!(err.contains("pipe: skipped: a FIFO"), "{err}");
    assert_eq!(s["inputs"]["skipped"], 2);
    assert_eq!(s["inputs"]["files"], 1);
    assert_accounted(&s);
}

#[cfg(unix)]
#[test]
fn a_fifo_named_on_the_command_line_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let data = fixture_bytes("postfix/mail.log");
    let (f2, d2) = (fifo.clone(), data.clone());
    let writer = std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(&f2).unwrap().write_all(&d2));
    let out = run(&["scan", "--format", "jsonl", "--year", "2026", fifo.to_str().unwrap()]);
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plain = run(&[
        "scan",
        "--format",
        "jsonl",
        "--year",
        "2026",
        fixture("postfix/mail.log").to_str().unwrap(),
    ]);
    assert_eq!(common::jsonl(&out).len(), common::jsonl(&plain).len());
}

#[cfg(target_os = "linux")]
#[test]
fn unreadable_files_are_errors_that_name_them() {
    let dir = tempfile::tempdir().unwrap();
    // A read error after a successful open: /proc/self/mem fails every read at offset 0 (EIO),
    // for root too.
    let (code, s, err) = summary(&[Path::new("/proc/self/mem"), &fixture("postfix/mail.log")], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("bouncer: error: /proc/self/mem: "), "{err}");
    assert!(s["accounting"]["records"].as_u64().unwrap() > 0, "the other input is read");
    assert_accounted(&s);
    // Permission denied: only testable when not root (root reads mode-000 files).
    let locked = dir.path().join("locked.log");
    std::fs::copy(fixture("postfix/mail.log"), &locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_err() {
        let (code, _, err) = summary(&[&locked], &[]);
        assert_eq!(code, Some(1));
        assert!(err.contains("locked.log: Permission denied"), "{err}");
    } else {
        eprintln!("running as root: a mode-000 file is readable, permission case not testable here");
    }
}

#[test]
fn a_file_growing_or_truncated_while_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mail.log");
    let chunk = fixture_bytes("postfix/mail.log");
    let mut big = Vec::new();
    for _ in 0..2000 {
        big.extend_from_slice(&chunk);
    }
    write(&p, &big);
    // Grows: a writer appends while bouncer reads.
    let p2 = p.clone();
    let c2 = chunk.clone();
    let grower = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
        for _ in 0..200 {
            f.write_all(&c2).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let (code, s, err) = summary(&[&p], &["--threads", "2"]);
    grower.join().unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_accounted(&s);
    // Truncated: cut to a few bytes while being read (a read ends early, no crash, no bus error).
    let p3 = p.clone();
    let mut child = bouncer()
        .args(["report", "--format", "json", "--year", "2026", p.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::OpenOptions::new().write(true).open(&p3).unwrap().set_len(100).unwrap();
    let out = output_of(&mut child);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_accounted(&s);
}

fn output_of(child: &mut std::process::Child) -> std::process::Output {
    let mut cmd_out = Vec::new();
    let mut cmd_err = String::new();
    use std::io::Read;
    child.stdout.take().unwrap().read_to_end(&mut cmd_out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut cmd_err).unwrap();
    let status = child.wait().unwrap();
    std::process::Output {
        status,
        stdout: cmd_out,
        stderr: cmd_err.into_bytes(),
    }
}

#[test]
fn a_crafted_diagnostic_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mail.log");
    write(
        &p,
        b"Jan  5 10:00:00 mx1 postfix/smtp[9]: 1A2B3C4D5E: to=<x@example.net>, relay=mx.example.net[192.0.2.9]:25, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.9] said: 550 5.1.1 \x1b]0;pwned\x07\x1b[2J\x1b[1;1H gone\x08\x08 (in reply to RCPT TO command))\n",
    );
    for args in [vec!["scan", "--format", "table"], vec!["report"], vec!["trace", "x@example.net"]] {
        let mut a = args.clone();
        a.push(p.to_str().unwrap());
        let out = output(bouncer().args(&a));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\x08'),
            "{args:?}: {text:?}"
        );
    }
}

#[test]
fn corrupt_mime_that_trips_the_mime_parser_costs_only_that_message() {
    // Found by fuzzing: a message/rfc822 part whose body is a second message/rfc822 inside a
    // boundary that never closes it. mail-parser asserts on it in debug builds (caught: the
    // message is unparsed) and recovers in release builds (no recipient: unparsed too).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corrupt.eml");
    write(
        &p,
        b"From: MAILER-DAEMON@example.jp\nSubject: Undeliverable mail\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"B\"\n\n---B\nContent-Type: message/rfc822\n\nX\n\
Content-Type: message/rfc822\n\nFrom: a@example.net\n\nHello.\n--B--\n",
    );
    let good = fixture("dsn/rfc3464.eml");
    let out = run(&["report", "--format", "json", p.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_accounted(&s);
    assert_eq!(s["inputs"]["messages"], 2, "{s}");
    assert_eq!(s["accounting"]["unparsed"], 1, "{s}");
    assert!(s["accounting"]["records"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn a_recipient_named_again_beside_another_on_one_line_reads() {
    // Found by fuzzing: a report whose notice names one recipient again between two mentions
    // of another on one line; looking for its command in the exchange before that line cut the
    // text backwards (a panic that stopped the batch).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("same-line.eml");
    write(
        &p,
        b"From: MAILER-DAEMON@example.jp\nSubject: Undelivered Mail\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\n\
Content-Type: text/plain\n\n<a@x.example>: 550 5.1.1 unknown\n<b@y.example>: 550 5.1.1 unknown\n\
Again: b@y.example a@x.example b@y.example\n\n--B\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns; mx.example.jp\n\nFinal-Recipient: rfc822; a@x.example\nAction: failed\n\
Status: 5.1.1\n\nFinal-Recipient: rfc822; b@y.example\nAction: failed\nStatus: 5.1.1\n\n--B--\n",
    );
    let out = run(&["scan", "--format", "jsonl", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let who: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["recipient"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(who, ["a@x.example", "b@y.example"]);
}
