//! Helpers shared by the integration tests: the binary, the shared corpus and tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bouncer")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// bouncer with a fixed time zone, so that stamps without an offset read the same everywhere.
pub fn bouncer() -> Command {
    let mut c = Command::new(bin());
    c.env("TZ", "UTC").env_remove("NO_COLOR").stdin(Stdio::null());
    c
}

pub fn run(args: &[&str]) -> Output {
    output(bouncer().args(args))
}

/// Run a command to its end, capturing its output; a run that takes longer than
/// `BOUNCER_TEST_TIMEOUT` seconds (default 300) is killed and fails the test, so that a hang
/// shows as a failure naming the command, not as a stuck CI job.
pub fn output(cmd: &mut Command) -> Output {
    use std::io::Read;
    let limit = std::env::var("BOUNCER_TEST_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u64);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start command");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed().as_secs() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit} s (BOUNCER_TEST_TIMEOUT)");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The shared corpus (`BOUNCER_CORPUS`, default `../shared/corpus`). None (with a message) when
/// it is absent, unless `BOUNCER_REQUIRE_CORPUS=1`, which makes its absence a failure.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("BOUNCER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared").join("corpus"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("BOUNCER_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("corpus not found at {} and BOUNCER_REQUIRE_CORPUS=1", dir.display());
    }
    eprintln!("skipped: corpus not found at {} (set BOUNCER_CORPUS)", dir.display());
    None
}

/// The shared tools folder beside the corpus.
pub fn tool(corpus: &Path, name: &str) -> PathBuf {
    corpus.parent().unwrap_or(corpus).join("tools").join(name)
}

/// Copy folder `from` to `to` with every email changed as tests/perturb.py's `mode` changes it
/// (wrap, forward, html, qp); fails the test when the script does.
pub fn perturb(mode: &str, from: &Path, to: &Path) {
    let out = output(
        Command::new("python3")
            .arg(root().join("tests/perturb.py"))
            .arg(mode)
            .arg(from)
            .arg(to),
    );
    assert!(out.status.success(), "perturb.py {mode}: {}", stderr(&out));
}
