//! The PySpark job (contrib/spark/bounce_report.py) in Spark local mode over a generated
//! multi-host, multi-day log set: its merged report equals one `bouncer report` over the same
//! files. Needs pyspark and Java: `BOUNCER_PYTHON` names the Python that has pyspark (default
//! python3); without them the test says so and passes, unless `BOUNCER_REQUIRE_SPARK=1` (CI).

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    std::env::var_os("BOUNCER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into())
}

/// spark-submit beside the Python that has pyspark, else on PATH.
fn spark_submit() -> Option<PathBuf> {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    let found = if ok {
        let beside = py.parent().map(|d| d.join("spark-submit")).filter(|p| p.is_file());
        beside.or_else(|| {
            Command::new("spark-submit")
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| "spark-submit".into())
        })
    } else {
        None
    };
    if found.is_none() {
        if std::env::var("BOUNCER_REQUIRE_SPARK").as_deref() == Ok("1") {
            panic!(
                "pyspark, java or spark-submit not found (BOUNCER_PYTHON={}) and BOUNCER_REQUIRE_SPARK=1",
                py.display()
            );
        }
        eprintln!("skipped: pyspark/java not found (set BOUNCER_PYTHON to a Python with pyspark)");
    }
    found
}

fn generate(corpus: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut hosts = Vec::new();
    for (host, seed) in [("mx1", "31"), ("mx2", "32"), ("mx3", "33")] {
        let d = dir.join(host);
        let st = common::output(
            Command::new("python3")
                .arg(common::tool(corpus, "gen-maillog"))
                .args(["--messages", "1200", "--seed", seed, "--days", "3", "--split-days", "-o"])
                .arg(&d)
                .arg("--truth")
                .arg(dir.join(format!("{host}.truth.json"))),
        );
        assert!(st.status.success(), "gen-maillog: {}", common::stderr(&st));
        hosts.push(d);
    }
    hosts
}

fn job(submit: &Path, dir: &Path, hosts: &[PathBuf], extra: &[&str], out: &Path) {
    let script = common::root().join("contrib/spark/bounce_report.py");
    let mut c = Command::new(submit);
    c.env("PYSPARK_PYTHON", python())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .current_dir(dir)
        .args(["--master", "local[2]", "--conf", "spark.ui.enabled=false"])
        .arg(script)
        .args(["--bouncer", common::bin(), "--year", "2026", "--output"])
        .arg(out)
        .args(extra)
        .args(hosts);
    let o = common::output(&mut c);
    assert!(
        o.status.success(),
        "spark job failed:\n{}\n{}",
        common::stdout(&o),
        common::stderr(&o)
    );
}

#[test]
fn spark_job_equals_one_run() {
    let Some(corpus) = common::corpus() else { return };
    let Some(submit) = spark_submit() else { return };
    let dir = tempfile::tempdir().unwrap();
    let hosts = generate(&corpus, dir.path());
    let single = common::output(
        common::bouncer()
            .args(["report", "--format", "json", "--year", "2026"])
            .args(&hosts),
    );
    assert!(single.status.success());
    let single: Value = serde_json::from_slice(&single.stdout).unwrap();

    let out = dir.path().join("spark.json");
    let records = dir.path().join("records");
    job(&submit, dir.path(), &hosts, &["--records", records.to_str().unwrap()], &out);
    let merged: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(merged, single, "one task per chain gives the single run's summary");
    let files: usize = hosts.iter().map(|h| std::fs::read_dir(h).unwrap().count()).sum();
    assert!(files >= 9, "three days of three hosts");
    assert_eq!(merged["inputs"]["files"], files);
    // The records written by the job: as many as the single run has, with the record contract.
    let mut n = 0;
    for part in std::fs::read_dir(&records).unwrap() {
        let p = part.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("part-") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let r: Value = serde_json::from_str(line).unwrap();
                assert!(r["source"].as_str().unwrap().contains("/mx"), "{r}");
                assert!(r["recipient"].is_string() && r["bounce_type"].is_string());
                n += 1;
            }
        }
    }
    assert_eq!(n, single["accounting"]["records"].as_u64().unwrap());

    // One task per file: all but the distinct-deferred count still add up.
    let per_file = dir.path().join("per-file.json");
    job(&submit, dir.path(), &hosts, &["--per-file"], &per_file);
    let mut pf: Value = serde_json::from_slice(&std::fs::read(&per_file).unwrap()).unwrap();
    assert!(pf["postfix"]["deferred"].as_u64() >= single["postfix"]["deferred"].as_u64());
    pf["postfix"]["deferred"] = single["postfix"]["deferred"].clone();
    assert_eq!(pf, single);
}
