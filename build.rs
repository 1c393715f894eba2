//! Works out, once at compile time, the prefilter literals of the built-in classifier rules
//! (`src/classify/rules.txt`, its `[text]` section) and of the bounce reader's host and command
//! patterns (`src/parse/dsn/patterns.rs`), so that a run does not parse those ~220 patterns with
//! `regex-syntax` before it reads its first line: that was most of the start-up of a
//! one-message run (a `.forward` pipe). The table is keyed by pattern; a pattern not in it
//! (a user's rule) has its literals worked out at run time, the same way (`prefilter/literals.rs`
//! is the one implementation, compiled into both).

use std::fmt::Write as _;

#[allow(dead_code)]
#[path = "src/prefilter/literals.rs"]
mod literals;

#[allow(dead_code)]
#[path = "src/parse/dsn/patterns.rs"]
mod patterns;

fn main() {
    println!("cargo:rerun-if-changed=src/classify/rules.txt");
    println!("cargo:rerun-if-changed=src/prefilter/literals.rs");
    println!("cargo:rerun-if-changed=src/parse/dsn/patterns.rs");
    let rules = std::fs::read_to_string("src/classify/rules.txt").expect("src/classify/rules.txt");
    // The [text] section's patterns: the second column of each rule line (as classify reads it).
    let mut all: Vec<&str> = Vec::new();
    let mut text = true;
    for line in rules.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            text = line == "[text]";
            continue;
        }
        if let (true, Some((_, pattern))) = (text, line.split_once(char::is_whitespace)) {
            all.push(pattern.trim());
        }
    }
    // And the bounce reader's host and command patterns.
    all.extend(patterns::HOST_PATTERNS);
    all.extend(patterns::COMMAND_PATTERNS.iter().map(|(p, _)| *p));
    all.sort_unstable();
    all.dedup();
    let mut out = String::from("/// (pattern, its literals and whether every match starts with one), sorted by pattern.\n");
    out.push_str("pub static BUILTIN: &[(&str, super::Known)] = &[\n");
    for p in all {
        match literals::literals_of(p) {
            Some((lits, starts)) => {
                let lits: Vec<String> = lits.iter().map(|l| format!("&{l:?}")).collect();
                writeln!(out, "    ({p:?}, Some((&[{}], {starts}))),", lits.join(", ")).unwrap();
            }
            None => writeln!(out, "    ({p:?}, None),").unwrap(),
        }
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_literals.rs");
    std::fs::write(dest, out).expect("write builtin_literals.rs");
}
