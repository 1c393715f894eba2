//! The shell around the tool: completions, the manual page, the progress bar.

mod common;

use common::{bouncer, fixture, output, run, stderr, stdout};

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for sub in ["scan", "report", "trace", "merge"] {
            assert!(text.contains(sub), "{shell} completion names {sub}");
        }
        assert!(text.contains("--follow"), "{shell} completion knows --follow");
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bouncer.bash");
    std::fs::write(&p, run(&["completions", "bash"]).stdout).unwrap();
    if let Ok(st) = std::process::Command::new("bash").arg("-n").arg(&p).status() {
        assert!(st.success(), "bash -n accepts the completion script");
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash"), "names the shells known: {}", stderr(&out));
}

#[test]
fn man_pages() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(page.contains(".TH bouncer 1"), "{page}");
    assert!(page.contains("scan") && page.contains("report") && page.contains("trace"));
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in [
        "bouncer.1",
        "bouncer-scan.1",
        "bouncer-report.1",
        "bouncer-trace.1",
        "bouncer-merge.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".SH"), "{name}");
    }
    let scan = std::fs::read_to_string(dir.path().join("bouncer-scan.1")).unwrap();
    assert!(scan.contains("since") && scan.contains("follow"), "the scan page lists its options");
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let log = fixture("postfix/mail.log");
    // Not a terminal (the test's pipe): no bar, stderr stays empty.
    let out = output(
        bouncer()
            .env("BOUNCER_PROGRESS_MIN_BYTES", "1")
            .args(["report", "--year", "2026", log.to_str().unwrap()]),
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // On a terminal (util-linux `script` gives the command a pty): a bar that reaches the total.
    let cmd = format!("{} report --year 2026 {} > /dev/null", common::bin(), log.display());
    let Ok(out) = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("BOUNCER_PROGRESS_MIN_BYTES", "1")
        .output()
    else {
        eprintln!("skipped: `script` (util-linux) is not installed; no pty to show the bar on");
        return;
    };
    let tty = String::from_utf8_lossy(&out.stdout);
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(
        tty.contains(&format!("/{size} B")) || tty.contains("KiB"),
        "a bar with the total: {tty:?}"
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{cmd} --quiet"), "/dev/null"])
        .env("BOUNCER_PROGRESS_MIN_BYTES", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(" B/"), "--quiet: no bar");
}

#[test]
fn table_colours_only_on_a_terminal_and_never_with_no_color() {
    let log = fixture("postfix/mail.log");
    let p = log.to_str().unwrap();
    let table = |extra: &[&str]| stdout(&run(&[&["scan", "--format", "table", "--year", "2026"][..], extra, &[p]].concat()));
    // A pipe: plain text, aligned.
    let plain = table(&[]);
    assert!(!plain.contains('\x1b'), "{plain}");
    let head = plain.lines().next().unwrap();
    let row = plain.lines().nth(1).unwrap();
    assert!(head.starts_with("TIME ") && head.contains("REMOTE HOST"));
    assert_eq!(head.find("TYPE"), row.find("hard"), "columns line up:\n{head}\n{row}");
    // --color always: hard red, soft yellow, the head bold; --color never: plain.
    let coloured = table(&["--color", "always"]);
    assert!(coloured.contains("\x1b[31mhard\x1b[0m") && coloured.contains("\x1b[33msoft\x1b[0m"));
    assert!(coloured.contains("\x1b[1mTIME\x1b[0m"));
    assert_eq!(table(&["--color", "never"]), plain);
    // Colours do not shift the columns: without the escapes it is the plain table.
    let esc = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    assert_eq!(esc.replace_all(&coloured, ""), plain);
    // On a terminal (a pty from util-linux `script`): colour, unless NO_COLOR is set.
    let cmd = format!("{} scan --year 2026 {p}", common::bin());
    let pty = |no_color: Option<&str>| -> Option<String> {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env("TZ", "UTC").env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        c.output().ok().map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(tty) = pty(None) else {
        eprintln!("skipped: `script` (util-linux) is not installed; no pty for the colour check");
        return;
    };
    assert!(tty.contains("\x1b[31mhard"), "a terminal gets the table in colour: {tty:?}");
    let tty = pty(Some("1")).unwrap();
    assert!(
        tty.contains("REMOTE HOST") && !tty.contains("\x1b["),
        "NO_COLOR=1: no colour: {tty:?}"
    );
}

/// `scan --stats` accounts for every line and message as `report` does (scan keeps the
/// accounting without the summary's tables): logs, bounce emails, Exchange logs.
#[test]
fn scan_stats_give_the_accounting_report_gives() {
    for dir in ["postfix", "dsn", "exchange"] {
        let path = fixture(dir);
        let path = path.to_str().unwrap();
        let rep = run(&["report", "--format", "json", path]);
        let s: serde_json::Value = serde_json::from_str(&stdout(&rep)).expect("report JSON");
        let (a, i) = (&s["accounting"], &s["inputs"]);
        let want = format!(
            "bouncer: stats: {} inputs, {} lines + {} messages = {} with failures ({} records) + {} not failures + {} unparsed + {} filtered;",
            i["files"], i["lines"], i["messages"], a["failures"], a["records"], a["not_failures"], a["unparsed"], a["filtered"]
        );
        assert!(a["records"].as_u64().unwrap() > 0, "{dir}: {s}");
        let scan = run(&["scan", "--stats", "--format", "jsonl", path]);
        let rows = stdout(&scan).lines().count() as u64;
        assert_eq!(rows, a["records"].as_u64().unwrap(), "{dir}: one row per record");
        assert!(stderr(&scan).contains(&want), "{dir}: {}\nwant {want}", stderr(&scan));
    }
}
