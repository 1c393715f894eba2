//! `--follow`: a log written to by the test while bouncer reads it, rotated by rename and by
//! copytruncate, ended with Ctrl-C (SIGINT) or SIGTERM; rows come as the lines do, and the end
//! prints the final summary.
#![cfg(unix)]

mod common;

use common::{bin, fixture};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

fn fixture_lines(rel: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(rel))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect()
}

fn append(p: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(p).unwrap();
    f.write_all(lines.concat().as_bytes()).unwrap();
}

struct Live {
    child: Child,
    lines: Receiver<String>,
    got: Vec<String>,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = Command::new(bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines: rx,
            got: Vec::new(),
        }
    }

    /// Wait until the output holds `n` lines that satisfy `pred` (at most 30 s).
    fn wait_for(&mut self, n: usize, pred: impl Fn(&str) -> bool) {
        let end = Instant::now() + Duration::from_secs(30);
        while self.got.iter().filter(|l| pred(l)).count() < n {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.got.push(l),
                Err(_) => panic!("waited 30 s for {n} lines; have:\n{}", self.got.join("\n")),
            }
        }
    }

    /// Send `signal`, wait for the exit; the rest of stdout and all of stderr.
    fn stop(mut self, signal: &str) -> (Option<i32>, Vec<String>, String) {
        let ok = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
        let end = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("bouncer did not end on {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.got.push(l);
        }
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (status.code(), self.got, err)
    }
}

/// A JSONL row's field, as JSON text (`"news@example.org"`, `9`).
fn field(line: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[key].to_string()
}

#[test]
fn scan_follows_across_rename_and_copytruncate_and_ends_on_ctrl_c() {
    let trace = fixture_lines("trace/mail.log");
    let other = fixture_lines("postfix/mail.log");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, &trace[..9]); // up to the first deferral
    let log_s = log.to_str().unwrap();
    let mut live = Live::start(&["scan", "--follow", "--poll-ms", "20", "--format", "jsonl", "--year", "2026", log_s]);
    live.wait_for(1, |l| l.contains("\"action\":\"delayed\""));
    assert_eq!(field(&live.got[0], "line"), "9");

    // Lines written later come as they are written (the reject and the second deferral).
    append(&log, &trace[9..12]);
    live.wait_for(2, |l| l.contains("\"action\":\"delayed\""));
    assert!(live.got.iter().any(|l| l.contains("\"action\":\"rejected\"")));

    // logrotate's rename: the old file moves away, a new one is created; the queue id's state
    // carries over, so the bounce still gets its sender and Message-ID.
    std::fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    append(&log, &trace[12..]);
    live.wait_for(1, |l| l.contains("\"action\":\"failed\""));
    let bounced = live.got.iter().find(|l| l.contains("\"action\":\"failed\"")).unwrap().clone();
    assert_eq!(field(&bounced, "line"), "1", "line numbers start again in the new file");
    assert_eq!(field(&bounced, "sender"), "\"news@example.org\"");
    assert_eq!(field(&bounced, "message_id"), "\"weekly-9@example.org\"");

    // copytruncate: the file is emptied in place and written again from its start.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    append(&log, &other);
    live.wait_for(1, |l| l.contains("dave@example.com") && l.contains("\"action\":\"expired\""));

    let (code, rows, err) = live.stop("-INT");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("rotated (a new file)"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    let last = err.lines().last().unwrap();
    assert!(last.starts_with(&format!("bouncer: followed {log_s}: ")), "{err}");
    assert!(last.contains(&format!("{} records", rows.len())), "{last} vs {} rows", rows.len());
    // The same records a plain scan finds in the three pieces.
    let plain = |p: &Path| {
        let o = common::run(&["scan", "--format", "jsonl", "--year", "2026", p.to_str().unwrap()]);
        String::from_utf8(o.stdout).unwrap().lines().count()
    };
    assert_eq!(rows.len(), plain(&fixture("trace/mail.log")) + plain(&fixture("postfix/mail.log")));
}

#[test]
fn report_refreshes_every_interval_and_prints_the_final_summary_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, &fixture_lines("trace/mail.log"));
    let mut live = Live::start(&[
        "report",
        "--follow",
        "--every",
        "1s",
        "--poll-ms",
        "20",
        "--year",
        "2026",
        log.to_str().unwrap(),
    ]);
    live.wait_for(1, |l| l.starts_with("--- bouncer report at "));
    live.wait_for(1, |l| l.trim() == "1  bounced");
    append(&log, &fixture_lines("postfix/mail.log"));
    // A later refresh counts the new lines too.
    live.wait_for(1, |l| l.trim() == "5  bounced");
    let (code, out, err) = live.stop("-TERM");
    assert_eq!(code, Some(0), "{err}");
    // The final summary comes after the last refresh, without the refresh header.
    let last_header = out.iter().rposition(|l| l.starts_with("--- bouncer report at ")).unwrap();
    let finals: Vec<_> = out[last_header + 1..]
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("bouncer report: "))
        .collect();
    assert_eq!(finals.len(), 2, "the last refresh and the final summary:\n{}", out.join("\n"));
    let final_part = &out[last_header + 1 + finals[1].0..];
    assert!(final_part.iter().any(|l| l.trim() == "5  bounced"), "{}", final_part.join("\n"));
}

#[test]
fn follow_takes_one_file_and_no_table() {
    let o = common::run(&[
        "scan",
        "--follow",
        fixture("trace").to_str().unwrap(),
        fixture("postfix").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("--follow reads exactly one log file"));
    let o = common::run(&["scan", "--follow", "--format", "table", fixture("trace/mail.log").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = common::run(&["report", "--every", "5s", fixture("trace/mail.log").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "--every needs --follow");
    let o = common::run(&["scan", "--follow", "/nonexistent/mail.log"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(common::stderr(&o).contains("/nonexistent/mail.log"));
}
