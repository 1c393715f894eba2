//! The literals one of which every match of a pattern contains, found with `regex-syntax`: what
//! the prefilter's automaton looks for. Pure (patterns in, literals out), so that the build
//! script works them out for the built-in classifier rules once, at compile time
//! (`builtin_literals`), and a run does not parse those patterns again.

/// The literals of `pattern` (see `super::required_literals`), and whether they are the ones
/// every match starts with.
pub fn literals_of(pattern: &str) -> Option<(Vec<Vec<u8>>, bool)> {
    use regex_syntax::hir::literal::ExtractKind;
    // Inline flags are cleared: case is handled by the automaton, Unicode does not change the
    // literals of ASCII text.
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(&strip_flags(pattern))
        .ok()?;
    // The list whose shortest literal is longest: prefixes, then suffixes, then a literal
    // inside, on a tie (`@[a-z.]+:\s*\[ip\],` starts with "@", in every text with an address,
    // but always holds "],").
    let shortest = |l: &Vec<Vec<u8>>| l.iter().map(Vec::len).min().unwrap_or(0);
    [
        literals(&hir, ExtractKind::Prefix).map(|l| (l, true)),
        literals(&hir, ExtractKind::Suffix).map(|l| (l, false)),
        inner_literal(&hir).map(|l| (vec![l], false)),
    ]
    .into_iter()
    .flatten()
    .reduce(|best, l| if shortest(&l.0) > shortest(&best.0) { l } else { best })
}

/// The longest literal that stands on its own in the pattern's top-level sequence: every match
/// contains it, wherever it starts and ends (`^[ \t]*x[ \t]*\[ip\]:[ \t]*$` is wide at both
/// ends, but every match holds "]:"). Two bytes at least, or one punctuation mark (`#`): a lone
/// letter or blank is in nearly every text.
fn inner_literal(hir: &regex_syntax::hir::Hir) -> Option<Vec<u8>> {
    use regex_syntax::hir::HirKind;
    let HirKind::Concat(parts) = hir.kind() else { return None };
    parts
        .iter()
        .filter_map(|h| match h.kind() {
            HirKind::Literal(l) if l.0.len() >= 2 || l.0.first().is_some_and(u8::is_ascii_punctuation) => Some(l.0.to_ascii_lowercase()),
            _ => None,
        })
        .max_by_key(Vec::len)
}

fn literals(hir: &regex_syntax::hir::Hir, kind: regex_syntax::hir::literal::ExtractKind) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    let mut seq = regex_syntax::hir::literal::Extractor::new()
        .kind(kind.clone())
        .limit_total(200)
        .extract(hir);
    // Shrunk the way the regex crate shrinks its own prefilters: variants cut to what they
    // share ("generating server\t:", "generating server :" ... become "generating server"),
    // and a list of poor literals (a lone blank) dropped.
    match kind {
        ExtractKind::Suffix => seq.optimize_for_suffix_by_preference(),
        _ => seq.optimize_for_prefix_by_preference(),
    }
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.is_empty()) {
        return None;
    }
    let mut out: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_ascii_lowercase()).collect();
    out.sort();
    out.dedup();
    Some(out)
}

/// A leading `(?i)`, `(?im-u)`, ... removed (the flags are the caller's business); a pattern
/// with flags elsewhere is read as written.
fn strip_flags(pattern: &str) -> String {
    if let Some(rest) = pattern.strip_prefix("(?") {
        if let Some(end) = rest.find(')') {
            let flags = &rest[..end];
            if !flags.is_empty() && flags.bytes().all(|b| matches!(b, b'i' | b'm' | b's' | b'u' | b'x' | b'-')) {
                // Keep multi-line: `^` inside a text must stay a line start, not become "the
                // start of the text" with literals it does not have.
                let m = if flags.split('-').next().unwrap_or("").contains('m') {
                    "(?m)"
                } else {
                    ""
                };
                return format!("{m}{}", &rest[end + 1..]);
            }
        }
    }
    pattern.to_string()
}
