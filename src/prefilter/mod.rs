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

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

mod literals;

/// What the build script found of a pattern: its literals, and whether every match starts with
/// one of them (None: it has no short list and is always a candidate).
type Known = Option<(&'static [&'static [u8]], bool)>;

/// The built-in classifier rules' literals, worked out by the build script (`build.rs`).
mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_literals.rs"));
}

#[derive(Debug)]
pub struct Prefilter {
    /// Over every pattern's literals, ignoring ASCII case.
    automaton: Automaton,
    /// The pattern each literal belongs to.
    owner: Vec<usize>,
    /// Patterns without such literals.
    always: Vec<usize>,
    /// Patterns whose matches start with one of their literals (not only end with or hold one).
    starts: Vec<bool>,
}

/// An Aho-Corasick automaton that starts as a contiguous NFA (quick to build) and, where it is
/// run on every piece of every message, becomes a full DFA at its [`DFA_AFTER`]th use: one
/// table lookup per byte, where the NFA follows failure links (8 % of reading bounce emails in
/// an overlapping search), but a build that costs as much as a whole one-message run (a
/// `.forward` pipe), which never gets that far. Both give the same matches.
#[derive(Debug)]
pub struct Automaton {
    nfa: AhoCorasick,
    late: Option<Late>,
}

#[derive(Debug)]
struct Late {
    builder: AhoCorasickBuilder,
    patterns: Vec<Vec<u8>>,
    uses: AtomicUsize,
    dfa: OnceLock<AhoCorasick>,
}

/// Uses of an automaton before its DFA is built (a few hundred messages).
const DFA_AFTER: usize = 2000;

impl Automaton {
    /// `builder`'s automaton of `patterns`: a contiguous NFA, and with `late_dfa` a full DFA
    /// once it has been used [`DFA_AFTER`] times.
    pub fn new<P: AsRef<[u8]>>(builder: &AhoCorasickBuilder, patterns: &[P], late_dfa: bool) -> Automaton {
        let with = |kind| {
            builder
                .clone()
                .kind(Some(kind))
                .build(patterns)
                .expect("literals of at most a few hundred bytes build")
        };
        Automaton {
            nfa: with(AhoCorasickKind::ContiguousNFA),
            late: late_dfa.then(|| Late {
                builder: builder.clone(),
                patterns: patterns.iter().map(|p| p.as_ref().to_vec()).collect(),
                uses: AtomicUsize::new(0),
                dfa: OnceLock::new(),
            }),
        }
    }

    /// The automaton to search with now.
    pub fn get(&self) -> &AhoCorasick {
        let Some(late) = &self.late else { return &self.nfa };
        if let Some(dfa) = late.dfa.get() {
            return dfa;
        }
        if late.uses.fetch_add(1, Ordering::Relaxed) < DFA_AFTER {
            return &self.nfa;
        }
        late.dfa.get_or_init(|| {
            late.builder
                .clone()
                .kind(Some(AhoCorasickKind::DFA))
                .build(&late.patterns)
                .expect("the same literals build")
        })
    }
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
        Prefilter::build(patterns, false)
    }

    /// A prefilter for patterns tried on every piece of every message: its automaton becomes a
    /// full DFA once it has been used enough ([`Automaton`]).
    pub fn dense<S: AsRef<str>>(patterns: &[S]) -> Prefilter {
        Prefilter::build(patterns, true)
    }

    fn build<S: AsRef<str>>(patterns: &[S], dense: bool) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        let mut starts = vec![false; patterns.len()];
        for (i, p) in patterns.iter().enumerate() {
            match known_literals(p.as_ref()) {
                Some((lits, prefixes)) => {
                    owner.extend(std::iter::repeat_n(i, lits.len()));
                    literals.extend(lits);
                    starts[i] = prefixes;
                }
                None => always.push(i),
            }
        }
        let mut builder = AhoCorasick::builder();
        builder.ascii_case_insensitive(true);
        Prefilter {
            automaton: Automaton::new(&builder, &literals, dense),
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
            .get()
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
    literals::literals_of(pattern).map(|(lits, _)| lits)
}

/// [`literals::literals_of`], from the build script's table for a built-in rule.
fn known_literals(pattern: &str) -> Option<(Vec<Vec<u8>>, bool)> {
    match builtin_entry(pattern) {
        Some(entry) => entry.map(|(lits, starts)| (lits.iter().map(|l| l.to_vec()).collect(), starts)),
        None => literals::literals_of(pattern),
    }
}

/// The build script's table entry of `pattern`, if it is a built-in rule's.
pub(crate) fn builtin_entry(pattern: &str) -> Option<Known> {
    let table = builtin::BUILTIN;
    table.binary_search_by(|(p, _)| (*p).cmp(pattern)).ok().map(|i| table[i].1)
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

    /// The build script's table says of each pattern what the extraction says at run time.
    #[test]
    fn the_compiled_table_agrees_with_the_extraction() {
        assert!(builtin::BUILTIN.len() > 100);
        assert!(builtin::BUILTIN.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no repeats");
        for (p, entry) in builtin::BUILTIN {
            let table = entry.map(|(lits, starts)| (lits.iter().map(|l| l.to_vec()).collect::<Vec<_>>(), starts));
            assert_eq!(table, literals::literals_of(p), "{p}");
        }
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

    /// A dense prefilter names the same candidates, with the same starts, before and after it
    /// switches to its DFA.
    #[test]
    fn a_dense_prefilter_answers_the_same_on_either_automaton() {
        let patterns = [r"(?i)host\s+(\S+) said", r"\bno such user\b", r"remote[- ]mta:", r"\w+ \w+", "user"];
        let p = Prefilter::dense(&patterns);
        let texts: [&[u8]; 3] = [b"host mx.example.net said: 550 No such user", b"Remote-MTA: dns; x", b"nothing"];
        let all = |p: &Prefilter, text: &[u8]| {
            let mut seen = Vec::new();
            p.first(text, |i, starts| {
                seen.push((i, starts.map(<[usize]>::to_vec)));
                false
            });
            seen
        };
        let before: Vec<_> = texts.iter().map(|t| all(&p, t)).collect();
        assert!(p.automaton.late.as_ref().unwrap().dfa.get().is_none());
        for _ in 0..DFA_AFTER {
            all(&p, texts[2]);
        }
        assert!(p.automaton.late.as_ref().unwrap().dfa.get().is_some());
        let after: Vec<_> = texts.iter().map(|t| all(&p, t)).collect();
        assert_eq!(before, after);
        assert_eq!(before[0].iter().map(|c| c.0).collect::<Vec<_>>(), [0, 1, 3, 4]);
    }
}
