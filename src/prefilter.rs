//! Patterns tried in order, behind one literal prefilter: each pattern's matches must start
//! with one of a few literals (found by `regex-syntax`), and one Aho-Corasick pass over a text
//! finds which patterns can match at all. Only those are run, in order. Patterns with no such
//! literals (a wide class or an optional part first) are always candidates.
//!
//! Used by the classifier's rules and by the bounce reader's host and command patterns: many
//! patterns over short, ever-different texts, where one `RegexSet` builds DFA states for nearly
//! every byte and a dozen separate searches scan the text a dozen times.

use aho_corasick::AhoCorasick;

#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// The pattern each literal belongs to.
    owner: Vec<usize>,
    /// Patterns without start literals.
    always: Vec<usize>,
    patterns: usize,
}

impl Prefilter {
    /// A prefilter for `patterns` (regex syntax, matched ignoring ASCII case).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            match start_literals(p.as_ref()) {
                Some(lits) => {
                    owner.extend(std::iter::repeat_n(i, lits.len()));
                    literals.extend(lits);
                }
                None => always.push(i),
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&literals)
            .expect("literals of at most a few hundred bytes build");
        Prefilter {
            automaton,
            owner,
            always,
            patterns: patterns.len(),
        }
    }

    /// The patterns that may match `text`, in pattern order.
    pub fn candidates(&self, text: &[u8]) -> impl Iterator<Item = usize> {
        let mut hit = vec![false; self.patterns];
        for m in self.automaton.find_overlapping_iter(text) {
            hit[self.owner[m.pattern().as_usize()]] = true;
        }
        for &i in &self.always {
            hit[i] = true;
        }
        hit.into_iter().enumerate().filter(|&(_, h)| h).map(|(i, _)| i)
    }
}

/// The literals every match of `pattern` starts with (lower-cased; the automaton ignores ASCII
/// case), or None when there is no such short list (a class too wide, an optional start, a
/// pattern regex-syntax does not read the same way) and the pattern must always be run.
pub fn start_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    // Inline flags are cleared: case is handled by the automaton, Unicode does not change the
    // literals of ASCII text.
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(&strip_flags(pattern))
        .ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).limit_total(200).extract(&hir);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_candidates() {
        assert_eq!(
            start_literals("(?i)remote[- ]mta:").unwrap(),
            [b"remote mta:".to_vec(), b"remote-mta:".to_vec()]
        );
        assert_eq!(start_literals(r"\bdmarc\b.*fail").unwrap(), [b"dmarc".to_vec()]);
        assert!(start_literals(r"(^|[\s:])([a-z0-9-]+\.)+[a-z]{2,} does not exist").is_none());
        // Optional blanks first: a match starts with a blank or with the word.
        let lits = start_literals(r"(?im)^\s*x does not like").unwrap();
        assert!(
            lits.contains(&b"x does not like".to_vec()) && lits.contains(&b" ".to_vec()),
            "{lits:?}"
        );
        let p = Prefilter::new(&["(?i)host said", "user unknown", r"\d+ apples"]);
        assert_eq!(p.candidates(b"the HOST SAID: 550 User Unknown").collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(p.candidates(b"3 apples").collect::<Vec<_>>(), [2]);
        assert_eq!(p.candidates(b"mailbox full").count(), 0);
        // A pattern with no start literals is always a candidate.
        let p = Prefilter::new(&[r"[a-z]+ said", "user unknown"]);
        assert_eq!(p.candidates(b"mailbox full").collect::<Vec<_>>(), [0]);
    }
}
