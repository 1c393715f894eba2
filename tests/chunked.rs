//! A log cut into tiny chunks and parsed in parallel gives byte-identical records and an
//! identical summary to one serial pass: queue ids whose lines straddle chunk boundaries
//! (sender, message-id, deferrals before an expiry, the distinct-deferred count) are merged
//! back exactly.

mod common;

fn generate(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let corpus = common::corpus()?;
    let log = dir.join("mail.log");
    let st = common::output(
        std::process::Command::new("python3")
            .arg(common::tool(&corpus, "gen-maillog"))
            .args(["--messages", "6000", "--seed", "11", "--queue-lifetime", "2h", "--hosts", "2", "-o"])
            .arg(&log)
            .arg("--truth")
            .arg(dir.join("truth.json")),
    );
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    Some(log)
}

fn run(log: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = common::output(common::bouncer().args(args).args(["--year", "2026"]).arg(log));
    assert!(out.status.success(), "{}", common::stderr(&out));
    out.stdout
}

#[test]
fn tiny_parallel_chunks_equal_one_serial_pass() {
    let dir = tempfile::tempdir().unwrap();
    let Some(log) = generate(dir.path()) else { return };
    let serial = run(&log, &["scan", "--format", "jsonl", "-j", "1", "--chunk-size", "1G"]);
    for (threads, chunk) in [("2", "4K"), ("2", "64K"), ("1", "3K"), ("3", "1K")] {
        let chunked = run(&log, &["scan", "--format", "jsonl", "-j", threads, "--chunk-size", chunk]);
        assert!(serial == chunked, "scan output differs with -j {threads} --chunk-size {chunk}");
    }
    let recs = String::from_utf8(serial).unwrap();
    assert!(recs.lines().count() > 1000);
    assert!(recs.contains("\"action\":\"expired\""), "the log has expiries to merge");
    let serial = run(&log, &["report", "--format", "json", "-j", "1", "--chunk-size", "1G"]);
    let chunked = run(&log, &["report", "--format", "json", "-j", "2", "--chunk-size", "2K"]);
    assert_eq!(String::from_utf8(serial).unwrap(), String::from_utf8(chunked).unwrap());
}

/// Many small inputs (one chain each) read on several threads come out in the same order, with
/// the same bytes, as on one thread.
#[test]
fn many_small_files_in_parallel_keep_their_order() {
    let Some(corpus) = common::corpus() else { return };
    let dsn = corpus.join("dsn");
    let args = |j: &str| {
        let mut c = common::bouncer();
        c.args(["scan", "--format", "jsonl", "-j", j]).arg(&dsn);
        c
    };
    let one = common::output(&mut args("1"));
    assert!(one.status.success(), "{}", common::stderr(&one));
    assert!(common::jsonl(&one).len() > 300);
    for j in ["2", "5"] {
        let many = common::output(&mut args(j));
        assert!(one.stdout == many.stdout, "scan output differs with -j {j}");
    }
}
