//! Patterns tried in order, behind one literal prefilter: each pattern's matches must start (or
//! end) with one of a few literals (found by `regex-syntax`), and one Aho-Corasick pass over a
//! text finds which patterns can match at all. Only those are run, in order. Patterns with no
//! such literals (a wide class or an optional part at both ends) are always candidates. A
//! pattern whose matches start with its literals is told where they stand, so that it is run as
//! an anchored search from each of those places only.
//!
//! Used by the classifier's rules and by the bounce reader's host and command patterns: many
//! patterns over short, ever-different texts, where one `RegexSet` builds DFA states for nearly
//! every byte and a dozen separate searches scan the text a dozen times.

use aho_corasick::{AhoCorasick, AhoCorasickKind};

#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// The pattern each literal belongs to.
    owner: Vec<usize>,
    /// Patterns without such literals.
    always: Vec<usize>,
    /// Patterns whose matches start with one of their literals (not only end with or hold one).
    starts: Vec<bool>,
}

/// Where a text holds a candidate pattern's literals: for a pattern whose matches start with
/// one of them, the offsets they start at (a match can start nowhere else); else None (the
/// pattern is searched for in the whole text).
pub type Starts<'h> = Option<&'h [usize]>;

/// The searches that find a candidate pattern's leftmost match in `text`, to run in turn until
/// one matches: an anchored search from each place its literals start (a match can start
/// nowhere else), or one search over the whole text.
pub fn searches<'h>(text: &'h [u8], starts: Starts<'h>) -> impl Iterator<Item = regex_automata::Input<'h>> {
    use regex_automata::{Anchored, Input};
    let whole = starts.is_none().then(|| Input::new(text));
    let anchored = starts
        .unwrap_or_default()
        .iter()
        .map(move |&s| Input::new(text).range(s..).anchored(Anchored::Yes));
    whole.into_iter().chain(anchored)
}

impl Prefilter {
    /// A prefilter for `patterns` (regex syntax, matched ignoring ASCII case), quick to build:
    /// for patterns tried on few texts (the classifier remembers its answers).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Prefilter {
        Prefilter::build(patterns, AhoCorasickKind::ContiguousNFA)
    }

    /// A prefilter that is slower to build (a full DFA: one table lookup per byte) and faster
    /// to run: for patterns tried on every piece of every message. A contiguous NFA follows
    /// failure links at every byte of an overlapping search: 8 % of reading bounce emails.
    pub fn dense<S: AsRef<str>>(patterns: &[S]) -> Prefilter {
        Prefilter::build(patterns, AhoCorasickKind::DFA)
    }

    fn build<S: AsRef<str>>(patterns: &[S], kind: AhoCorasickKind) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        let mut starts = vec![false; patterns.len()];
        for (i, p) in patterns.iter().enumerate() {
            match literals_of(p.as_ref()) {
                Some((lits, prefixes)) => {
                    owner.extend(std::iter::repeat_n(i, lits.len()));
                    literals.extend(lits);
                    starts[i] = prefixes;
                }
                None => always.push(i),
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(kind))
            .build(&literals)
            .expect("literals of at most a few hundred bytes build");
        Prefilter {
            automaton,
            owner,
            always,
            starts,
        }
    }

    /// The patterns that may match `text`, in pattern order, each with where its matches may
    /// start ([`Starts`]), for `visit` to try in turn until it says stop (true): its answer.
    pub fn first(&self, text: &[u8], mut visit: impl FnMut(usize, Starts<'_>) -> bool) -> Option<usize> {
        // (pattern, start) of every literal found, overlapping: a pattern's starts together.
        let mut found: Vec<(usize, usize)> = self
            .automaton
            .find_overlapping_iter(text)
            .map(|m| (self.owner[m.pattern().as_usize()], m.start()))
            .collect();
        found.extend(self.always.iter().map(|&i| (i, usize::MAX)));
        found.sort_unstable();
        found.dedup();
        let mut offsets: Vec<usize> = Vec::new();
        for group in found.chunk_by(|a, b| a.0 == b.0) {
            let i = group[0].0;
            let stop = if self.starts[i] {
                offsets.clear();
                offsets.extend(group.iter().map(|f| f.1));
                visit(i, Some(&offsets))
            } else {
                visit(i, None)
            };
            if stop {
                return Some(i);
            }
        }
        None
    }
}

/// Literals one of which every match of `pattern` contains (lower-cased; the automaton ignores
/// ASCII case): the ones its matches start with, or those they end with when that list is
/// better (its shortest literal longer: `^\s*x does not like` starts with a blank or an `x`, but
/// always ends with "x does not like"). None when neither gives a short list (a class too wide,
/// an optional part at both ends, a pattern regex-syntax does not read the same way) and the
/// pattern must always be run.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    literals_of(pattern).map(|(lits, _)| lits)
}

/// [`required_literals`], and whether they are the ones every match starts with.
fn literals_of(pattern: &str) -> Option<(Vec<Vec<u8>>, bool)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern `first` offers for a text, in order.
    fn candidates(p: &Prefilter, text: &[u8]) -> Vec<usize> {
        let mut all = Vec::new();
        p.first(text, |i, _| {
            all.push(i);
            false
        });
        all
    }

    #[test]
    fn literals_and_candidates() {
        assert_eq!(
            required_literals("(?i)remote[- ]mta:").unwrap(),
            [b"remote mta:".to_vec(), b"remote-mta:".to_vec()]
        );
        assert_eq!(required_literals(r"\bdmarc\b.*fail").unwrap(), [b"dmarc".to_vec()]);
        // A wide class first: every match ends with the phrase.
        assert_eq!(
            required_literals(r"(^|[\s:])([a-z0-9-]+\.)+[a-z]{2,} does not exist").unwrap(),
            [b" does not exist".to_vec()]
        );
        // Optional blanks first: a match starts with a blank or with the word, and always ends
        // with the phrase, the better list.
        assert_eq!(
            required_literals(r"(?im)^\s*x does not like").unwrap(),
            [b"x does not like".to_vec()]
        );
        // Wide at both ends: no list, unless a literal of its own stands between.
        assert!(required_literals(r"\w+ \w+").is_none());
        assert_eq!(required_literals(r"(?m)^\s*\w+\s*\[\d+\]:\s*$").unwrap(), [b"]:".to_vec()]);
        // A longer literal inside beats a one-byte prefix.
        assert_eq!(required_literals(r"@\w+:\s*\[\d+\],\s*\d").unwrap(), [b"],".to_vec()]);
        let p = Prefilter::new(&["(?i)host said", "user unknown", r"\d+ apples"]);
        // Case is ignored; "\d+ apples" needs " apples", which is not there.
        assert_eq!(candidates(&p, b"the HOST SAID: 550 User Unknown"), [0, 1]);
        assert_eq!(candidates(&p, b"3 apples"), [2]);
        assert!(candidates(&p, b"mailbox full").is_empty());
        // A pattern with no required literals is always a candidate; one whose matches end
        // with a literal is a candidate only where the literal is.
        let p = Prefilter::new(&[r"\w+ \w+", "user unknown", r"[a-z]+ said"]);
        assert_eq!(candidates(&p, b"mailbox full"), [0]);
    }

    #[test]
    fn first_names_where_a_match_may_start() {
        let p = Prefilter::new(&[r"\bno such user\b", r"[a-z]+ said", r"\w+ \w+"]);
        let text = b"xno such user, host mx said: No Such User";
        let mut seen = Vec::new();
        let got = p.first(text, |i, starts| {
            seen.push((i, starts.map(<[usize]>::to_vec)));
            i == 1
        });
        assert_eq!(got, Some(1));
        // Every place the phrase starts, in either case; a pattern that only ends with its
        // literal ("said") is searched for in the whole text, and so is one with none.
        assert_eq!(seen, [(0, Some(vec![1, 29])), (1, None)]);
        let mut all = Vec::new();
        assert_eq!(
            p.first(b"nothing here", |i, s| {
                all.push((i, s.is_some()));
                false
            }),
            None
        );
        assert_eq!(all, [(2, false)]);
    }
}
