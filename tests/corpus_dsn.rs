//! The bounce emails of the shared corpus, scored by the shared scorer against Sisimai's labels,
//! as they are, with every file converted to CRLF and to CR-only line ends, and changed the way
//! real mail changes (tests/perturb.py), each copy in a temp dir.
//!
//! The floors asserted here are the figures reached so far (docs/ACCURACY.md says where they
//! fall short of the issue's goals and why); line ends must not change any figure.

mod common;

use serde_json::Value;
use std::path::Path;

fn score(corpus_dir: &Path, labels: &Path) -> Value {
    let corpus = common::corpus().expect("corpus");
    let out = common::output(
        std::process::Command::new("python3")
            .arg(common::tool(&corpus, "score-dsn"))
            .args(["--json", "--show", "3", "--bin", common::bin(), "--corpus"])
            .arg(corpus_dir)
            .arg("--labels")
            .arg(labels),
    );
    let text = common::stdout(&out);
    assert!(out.status.success(), "score-dsn failed: {text}\n{}", common::stderr(&out));
    println!("{text}");
    serde_json::from_str(text.lines().last().expect("figures")).expect("JSON figures")
}

/// Copy the corpus's emails with their line ends rewritten (`\r\n` and lone `\r` first made `\n`).
fn convert(from: &Path, to: &Path, end: &[u8]) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "eml") {
            let b = std::fs::read(&p).unwrap();
            let mut lf = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'\r' {
                    lf.push(b'\n');
                    if b.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                } else {
                    lf.push(b[i]);
                }
                i += 1;
            }
            let mut out = Vec::with_capacity(lf.len() + lf.len() / 20);
            for &c in &lf {
                if c == b'\n' {
                    out.extend_from_slice(end);
                } else {
                    out.push(c);
                }
            }
            std::fs::write(to.join(p.file_name().unwrap()), out).unwrap();
        }
    }
}

#[test]
fn dsn_corpus_scores_the_same_whatever_the_line_ends() {
    let Some(corpus) = common::corpus() else { return };
    let dsn = corpus.join("dsn");
    let labels = dsn.join("expected.tsv");
    let fig = score(&dsn, &labels);
    let floor = |k: &str, min: f64| {
        let v = fig[k].as_f64().unwrap_or(-1.0);
        assert!(v >= min, "{k} {v} below {min}: {fig}");
    };
    floor("recall", 99.5);
    floor("status", 98.0);
    floor("reply_code", 98.0);
    floor("reason", 92.0);
    floor("suppress", 98.0);
    floor("remote_host", 75.0);
    assert!(fig["extra"].as_u64().unwrap() <= 2, "{fig}");

    let dir = tempfile::tempdir().unwrap();
    for (name, end) in [("crlf", &b"\r\n"[..]), ("cr", b"\r"), ("lf", b"\n")] {
        let d = dir.path().join(name);
        convert(&dsn, &d, end);
        let mut got = score(&d, &labels);
        let mut want = fig.clone();
        for f in [&mut got, &mut want] {
            f.as_object_mut().unwrap().remove("seconds");
        }
        assert_eq!(got, want, "figures with {name} line ends");
    }
}

/// The corpus changed the way real mail changes (tests/perturb.py: notices re-wrapped at 50
/// columns, each email forwarded as an attachment, notices as HTML, notices quoted-printable,
/// status parts labelled text/plain, header fields reordered with status fields lower-cased and
/// folded and boundaries renamed) scores exactly as the corpus itself: the readers go by what a
/// notice says, not by how this copy of it happens to be laid out.
#[test]
fn dsn_corpus_scores_the_same_rewrapped_forwarded_as_html_or_quoted_printable() {
    let Some(corpus) = common::corpus() else { return };
    let dsn = corpus.join("dsn");
    let labels = dsn.join("expected.tsv");
    let without_time = |mut f: Value| {
        f.as_object_mut().unwrap().remove("seconds");
        f
    };
    let want = without_time(score(&dsn, &labels));
    let dir = tempfile::tempdir().unwrap();
    for mode in ["wrap", "forward", "html", "qp", "textstatus", "shapes"] {
        let d = dir.path().join(mode);
        common::perturb(mode, &dsn, &d);
        assert_eq!(without_time(score(&d, &labels)), want, "figures with the corpus {mode}");
    }
}

/// Without the `X-Failed-Recipients` fields (Exim's, Gmail's, Google Groups'), which a
/// gateway may drop, the readers find the failed recipients in the notices themselves: the
/// corpus still meets the issue's bars (one Google Workspace notice names none but its poster).
#[test]
fn dsn_corpus_meets_the_bars_without_x_failed_recipients() {
    let Some(corpus) = common::corpus() else { return };
    let dsn = corpus.join("dsn");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("nofailed");
    common::perturb("nofailed", &dsn, &d);
    let fig = score(&d, &dsn.join("expected.tsv"));
    for (k, min) in [
        ("recall", 99.5),
        ("status", 98.0),
        ("reply_code", 98.0),
        ("reason", 92.0),
        ("suppress", 98.0),
    ] {
        let v = fig[k].as_f64().unwrap_or(-1.0);
        assert!(v >= min, "{k} {v} below {min}: {fig}");
    }
    assert!(fig["extra"].as_u64().unwrap() <= 2, "{fig}");
}

/// The SMTP command each record names agrees with the labels where they name one (the scorer
/// does not score it; the record contract has it).
#[test]
fn dsn_corpus_names_the_smtp_command() {
    let Some(corpus) = common::corpus() else { return };
    let dsn = corpus.join("dsn");
    let mut want = std::collections::HashMap::new();
    let labels = std::fs::read_to_string(dsn.join("expected.tsv")).unwrap();
    let mut lines = labels.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (file, rcpt, cmd) = (col("file"), col("recipient"), col("smtpcommand"));
    for l in lines {
        let c: Vec<&str> = l.split('\t').collect();
        if !c[cmd].is_empty() {
            want.insert((c[file].to_string(), c[rcpt].to_ascii_lowercase()), c[cmd].to_string());
        }
    }
    let out = common::run(&["scan", "--format", "jsonl", dsn.to_str().unwrap()]);
    let (mut seen, mut agree) = (0, 0);
    for r in common::jsonl(&out) {
        let name = Path::new(r["source"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if let Some(w) = want.get(&(name, r["recipient"].as_str().unwrap().to_string())) {
            seen += 1;
            agree += usize::from(r["smtp_command"] == w.as_str());
        }
    }
    assert_eq!(seen, want.len(), "every labelled command's record is there");
    assert!(agree * 100 >= seen * 94, "smtp_command {agree} / {seen}");
}
