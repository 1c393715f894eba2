//! One classifier for every format: a diagnostic text (and the codes beside it) in, a reason in
//! Sisimai's vocabulary and a suppress decision out.
//!
//! The rules are data (`rules.txt` beside this file, or a user's `--rules FILE` put first) and
//! are compiled once: one regex per rule, and one Aho-Corasick automaton over the literals each
//! rule's matches must start with. A text is scanned once by the automaton; only the rules whose
//! literals it holds (and the few rules with none) are run, in order; the first match wins.
//! (One `RegexSet` over all rules did the same in one pass, but its lazy DFA builds a new state
//! for nearly every byte of a text it has not seen: ~150 µs per new bounce text, half the time
//! of a folder of bounce emails.)

use crate::prefilter::Prefilter;
use crate::record::{Action, BounceType, Record};
use regex_automata::meta::{BuildError, Regex};
use std::collections::HashMap;
use std::path::Path;

/// The rules shipped with bouncer.
pub const BUILTIN_RULES: &str = include_str!("rules.txt");

/// Only the first KiB of a diagnostic is matched: the reason is said early, and a server's
/// endless multi-line reply (10 KB and more) would otherwise grow the lazy DFA without bound.
pub const CLASSIFY_BYTES: usize = 1024;

/// Reasons whose address is dead: a hard failure with one of these means "stop mailing it".
const DEAD_ADDRESS: [&str; 4] = ["userunknown", "hostunknown", "hasmoved", "notaccept"];

/// A problem in a rules file, with its line.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{origin}:{line}: {message}")]
    Syntax { origin: String, line: usize, message: String },
    #[error("{origin}: {0}", origin = .1)]
    Regex(Box<BuildError>, String),
    #[error("cannot read rules file {0}: {1}")]
    Io(String, std::io::Error),
}

#[derive(Debug)]
pub struct Classifier {
    /// Tells this classifier's memoised answers from another's (see `memo`).
    id: u64,
    /// The text rules, in rule order.
    rules: Vec<Rule>,
    /// Which rules can match a text at all (their required literals).
    prefilter: Prefilter,
    status: HashMap<String, String>,
}

/// The tags a text rule's reason may carry (`REASON:TAG`): what kind of cause the rule names,
/// for readers that weigh a reason by where it was said.
pub const TAGS: [&str; 1] = [
    // The client (its IP or its provider) is on a block list: a block at any SMTP command.
    LISTING,
];

/// The tag of the rules that name the client's listing on a block list.
pub const LISTING: &str = "listing";

/// What a text rule said about a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextMatch<'c> {
    pub reason: &'c str,
    /// The rule's tag, or "".
    pub tag: &'c str,
    /// Where the rule is written (`builtin:LINE` or `FILE:LINE`).
    pub origin: &'c str,
}

#[derive(Default)]
struct RuleSet {
    text: Vec<Rule>,
    status: Vec<(String, String)>,
}

fn parse_rules(src: &str, origin: &str, into: &mut RuleSet) -> Result<(), RulesError> {
    let mut section = "text";
    for (n, raw) in src.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = match &line[1..line.len() - 1] {
                "text" => "text",
                "status" => "status",
                other => {
                    return Err(RulesError::Syntax {
                        origin: origin.into(),
                        line: n + 1,
                        message: format!("unknown section [{other}] (known: [text], [status])"),
                    })
                }
            };
            continue;
        }
        let (first, rest) = match line.split_once(char::is_whitespace) {
            Some((a, b)) => (a.trim(), b.trim()),
            None => {
                return Err(RulesError::Syntax {
                    origin: origin.into(),
                    line: n + 1,
                    message: "a rule needs two columns".into(),
                })
            }
        };
        if section == "text" {
            let (reason, tag) = first.split_once(':').unwrap_or((first, ""));
            if !tag.is_empty() && !TAGS.contains(&tag) {
                return Err(RulesError::Syntax {
                    origin: origin.into(),
                    line: n + 1,
                    message: format!("unknown tag `{tag}` (known: {})", TAGS.join(", ")),
                });
            }
            into.text.push(Rule {
                reason: reason.to_string(),
                tag: tag.to_string(),
                origin: format!("{origin}:{}", n + 1),
                pattern: rest.to_string(),
                built: std::sync::OnceLock::new(),
            });
        } else {
            let ok = first.split('.').count() >= 2 && first.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(RulesError::Syntax {
                    origin: origin.into(),
                    line: n + 1,
                    message: format!("`{first}` is not a status code like 5.1.1 or 5.7"),
                });
            }
            into.status.push((first.to_string(), rest.to_string()));
        }
    }
    Ok(())
}

impl Classifier {
    /// The built-in rules alone.
    pub fn builtin() -> Classifier {
        Classifier::with_user_rules(None).expect("built-in rules compile")
    }

    /// The user's rules (if any) first, then the built-in ones.
    pub fn with_user_rules(user: Option<&Path>) -> Result<Classifier, RulesError> {
        let mut rules = RuleSet::default();
        if let Some(path) = user {
            let text = std::fs::read_to_string(path).map_err(|e| RulesError::Io(path.display().to_string(), e))?;
            parse_rules(&text, &path.display().to_string(), &mut rules)?;
        }
        parse_rules(BUILTIN_RULES, "builtin", &mut rules)?;
        Classifier::compile(rules)
    }

    fn compile(rules: RuleSet) -> Result<Classifier, RulesError> {
        for rule in &rules.text {
            if !rule.origin.starts_with("builtin:") {
                let re = build_rule(&rule.pattern).map_err(|e| RulesError::Regex(e, rule.origin.clone()))?;
                let _ = rule.built.set(re);
            }
        }
        let prefilter = Prefilter::new(&rules.text.iter().map(|r| r.pattern.as_str()).collect::<Vec<_>>());
        let mut status = HashMap::new();
        for (code, reason) in rules.status {
            status.entry(code).or_insert(reason);
        }
        Ok(Classifier {
            id: memo::next_id(),
            rules: rules.text,
            prefilter,
            status,
        })
    }

    /// The first text rule that matches a text: its reason, tag and origin.
    pub fn match_text(&self, text: &str) -> Option<TextMatch<'_>> {
        let b = text.as_bytes();
        let b = &b[..b.len().min(CLASSIFY_BYTES)];
        let first = memo::first_match(self.id, b, |b| match without_continuations(b) {
            Some(joined) => self.first_rule(&joined),
            None => self.first_rule(b),
        })?;
        let rule = &self.rules[first];
        Some(TextMatch {
            reason: &rule.reason,
            tag: &rule.tag,
            origin: &rule.origin,
        })
    }

    /// The first rule (in order) that matches: only the candidates the literal scan names, and
    /// a rule whose matches start with its literals only where they stand (an anchored search
    /// from each: the lazy DFA builds states for the few bytes a match would take, not for the
    /// whole text, most of the cost of a text not seen before).
    fn first_rule(&self, text: &[u8]) -> Option<usize> {
        self.prefilter.first(text, |i, starts| {
            let re = self.rules[i].regex();
            crate::prefilter::searches(text, starts).any(|input| re.is_match(input))
        })
    }

    /// The reason from the status table: exact `x.y.z`, then `x.y`.
    pub fn match_status(&self, status: &str) -> Option<&str> {
        if status.is_empty() {
            return None;
        }
        if let Some(r) = self.status.get(status) {
            return Some(r);
        }
        let mut parts = status.splitn(3, '.');
        let (a, b) = (parts.next()?, parts.next()?);
        self.status.get(&format!("{a}.{b}")).map(String::as_str)
    }

    /// The reason for a failure: `expired` for expired mail, else the first text rule that
    /// matches the diagnostic, else the status table, else `undefined`.
    pub fn reason(&self, action: Action, diagnostic: &str, status: &str) -> String {
        if action == Action::Expired {
            return "expired".into();
        }
        if let Some(m) = self.match_text(diagnostic) {
            return m.reason.to_string();
        }
        if let Some(reason) = self.match_status(status) {
            return reason.to_string();
        }
        "undefined".into()
    }

    /// Fill `reason` and `suppress` of a record (its `bounce_type` must be set first).
    pub fn classify(&self, rec: &mut Record) {
        if rec.reason.is_empty() {
            rec.reason = self.reason(rec.action, &rec.diagnostic, &rec.status);
        }
        if rec.reason == "undefined" && !rec.diagnostic.trim().is_empty() {
            // Sisimai's split: `onhold` when there is a text that no rule reads, `undefined`
            // when there is nothing to read at all.
            rec.reason = "onhold".into();
        }
        rec.suppress = suppress(&rec.reason, rec.bounce_type, &rec.reply_code, &rec.status);
    }
}

/// A text rule: its reason (and tag), where it is written, and its regex, built on first use (a
/// user's rules are built at once, so that an error names its line; the built-in ones are
/// tested).
#[derive(Debug)]
struct Rule {
    reason: String,
    /// The tag after the reason (`blocked:listing` → `listing`), or "".
    tag: String,
    /// `builtin:LINE` or `FILE:LINE`, for `explain`-style diagnostics.
    origin: String,
    pattern: String,
    built: std::sync::OnceLock<Regex>,
}

impl Rule {
    fn regex(&self) -> &Regex {
        // Only built-in rules are built here, and a test builds every one of them.
        self.built
            .get_or_init(|| build_rule(&self.pattern).expect("built-in rule compiles"))
    }
}

/// Bytes and ASCII-only case folding: the diagnostic texts are mostly ASCII, and Unicode-aware
/// case folding makes every automaton several times larger. Only the lazy DFA (and the PikeVM
/// behind it) is built: the literal prefilter in front of the rules already picks the texts a
/// rule may match, and a rule only says whether it matches (on texts it has not seen, the
/// answers are remembered), so regex's own prefilter, one-pass DFA, backtracker and full DFA
/// (built up front for a small rule) would add build time (most of it, over 100 rules) and no
/// speed.
fn build_rule(pattern: &str) -> Result<Regex, Box<BuildError>> {
    use regex_automata::{meta, util::syntax};
    Regex::builder()
        .syntax(syntax::Config::new().case_insensitive(true).unicode(false).utf8(false))
        .configure(meta::Config::new().auto_prefilter(false).onepass(false).backtrack(false).dfa(false))
        .build(pattern)
        .map_err(Box::new)
}

/// The address itself is dead: a hard failure whose reason is userunknown, hostunknown,
/// hasmoved or notaccept; notaccept (the domain takes no mail) only where no code says the
/// failure was temporary (a report that gave up on a `4.0.0` is not the domain's last word).
pub fn suppress(reason: &str, bounce_type: Option<BounceType>, reply_code: &str, status: &str) -> bool {
    let temporary = reply_code.starts_with('4') || status.starts_with('4');
    bounce_type == Some(BounceType::Hard) && DEAD_ADDRESS.contains(&reason) && !(reason == "notaccept" && temporary)
}

/// Hard or soft from the codes: the first digit of the reply code, else of the enhanced status.
pub fn bounce_type_of_codes(reply_code: &str, status: &str) -> Option<BounceType> {
    let first = reply_code.bytes().next().or_else(|| status.bytes().next())?;
    match first {
        b'5' => Some(BounceType::Hard),
        b'4' => Some(BounceType::Soft),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_and_first_match_wins() {
        let c = Classifier::builtin();
        for r in &c.rules {
            build_rule(&r.pattern).unwrap_or_else(|e| panic!("{}: {e}", r.pattern));
        }
        assert_eq!(
            c.reason(Action::Failed, "550 5.1.1 <a@b>: Recipient address rejected: User unknown", "5.1.1"),
            "userunknown"
        );
        // "blocked" appears, but the authentication rule comes first.
        assert_eq!(
            c.reason(
                Action::Failed,
                "550 5.7.26 This mail has been blocked because the sender is unauthenticated.",
                ""
            ),
            "authfailure"
        );
        assert_eq!(
            c.reason(Action::Delayed, "connect to mx.example.net[192.0.2.1]:25: Connection timed out", ""),
            "networkerror"
        );
        assert_eq!(c.reason(Action::Expired, "anything at all", "5.1.1"), "expired");
        // Providers' own codes say more than the words around them.
        assert_eq!(
            c.reason(Action::Failed, "550 5.1.0 <a@b> sender rejected. AUP#In-1310", ""),
            "toomanyconn"
        );
        assert_eq!(
            c.reason(Action::Failed, "550 5.1.0 <a@b> sender rejected. AUP#CDRBL", ""),
            "blocked"
        );
        // Vague words are no reason.
        assert_eq!(c.reason(Action::Failed, "450 4.0.0 Temporary failure", ""), "undefined");
    }

    #[test]
    fn status_table_is_the_fallback() {
        let c = Classifier::builtin();
        assert_eq!(c.reason(Action::Failed, "550 go away", "5.1.1"), "userunknown");
        assert_eq!(c.reason(Action::Failed, "550 go away", "5.7.99"), "securityerror");
        assert_eq!(c.reason(Action::Failed, "550 go away", ""), "undefined");
    }

    #[test]
    fn the_prefilter_never_changes_the_first_matching_rule() {
        let c = Classifier::builtin();
        let brute = |t: &[u8]| (0..c.rules.len()).find(|&i| c.rules[i].regex().is_match(t));
        // Every rule's own required literals in a sentence, and texts that hit several rules.
        let mut texts: Vec<String> = BUILTIN_RULES
            .lines()
            .filter_map(|l| l.split_once(char::is_whitespace).map(|(_, p)| p.trim()))
            .filter_map(crate::prefilter::required_literals)
            .flatten()
            .map(|l| {
                format!(
                    "550 5.7.1 <a@example.com>: {} (see RCPT)",
                    String::from_utf8_lossy(&l).to_uppercase()
                )
            })
            .collect();
        texts.extend(
            [
                "X-Unix; 77",
                "550 5.1.1 <a@b>: Recipient address rejected: User unknown in virtual mailbox table",
                "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints",
                "554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                "sorry, that domain isn't in my list of allowed rcpthosts / account disabled and mailbox full",
                "Name service error for name=example.com type=MX: Host not found, try again",
                "   550 transaction failed   ",
                "",
                // A rule's phrase more than once, the first time not where a match starts.
                "550 5.1.1 xuser unknownx; mailbox unavailable: user unknown",
                "421 deferred; 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred",
            ]
            .map(String::from),
        );
        for t in &texts {
            let b = t.as_bytes();
            assert_eq!(c.first_rule(b), brute(b), "{t}");
        }
    }

    /// Every built-in text rule's literals come from the build script's table: none is parsed
    /// again at start-up.
    #[test]
    fn every_builtin_rule_is_in_the_compiled_literal_table() {
        for r in &Classifier::builtin().rules {
            assert!(crate::prefilter::builtin_entry(&r.pattern).is_some(), "{}", r.pattern);
        }
    }

    /// Every built-in text rule is keyed in the prefilter on words of its own (3 bytes at least),
    /// so it is run only on the texts that hold them: a rule without such literals would run its
    /// regex on every diagnostic.
    #[test]
    fn every_builtin_rule_is_keyed_on_its_words() {
        let section = BUILTIN_RULES.split("[status]").next().unwrap();
        let weak: Vec<&str> = section
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.starts_with('['))
            .filter_map(|l| l.split_once(char::is_whitespace).map(|(_, p)| p.trim()))
            .filter(|p| crate::prefilter::required_literals(p).is_none_or(|ls| ls.iter().any(|l| l.len() < 3)))
            .collect();
        assert!(weak.is_empty(), "rules with no literal of 3 bytes or more: {weak:#?}");
    }

    #[test]
    fn a_multi_line_reply_is_read_as_one_text() {
        let joined = |t: &str| without_continuations(t.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            joined("550-5.1.1 The email account 550-5.1.1 does not exist 550 5.1.1 here").as_deref(),
            Some("550-5.1.1 The email account does not exist here")
        );
        assert_eq!(
            joined("said: 550-The account 550-or domain may not exist").as_deref(),
            Some("said: 550-The account or domain may not exist")
        );
        // One line, or a code that is not repeated: nothing to join.
        assert_eq!(joined("550 5.1.1 user unknown, 550 times"), None);
        assert_eq!(joined("550-5.7.1 rejected, see 421 below"), None);
    }

    #[test]
    fn a_text_no_rule_reads_is_onhold_and_no_text_is_undefined() {
        let c = Classifier::builtin();
        let mut r = Record::new(
            crate::record::Format::Postfix,
            crate::record::Direction::Outbound,
            Action::Failed,
            "t".into(),
            1,
        );
        r.bounce_type = Some(BounceType::Hard);
        r.diagnostic = "550 computer says no".into();
        c.classify(&mut r);
        assert_eq!(r.reason, "onhold");
        r.reason.clear();
        r.diagnostic = "  ".into();
        c.classify(&mut r);
        assert_eq!(r.reason, "undefined");
    }

    #[test]
    fn suppress_only_for_dead_addresses_on_hard_failures() {
        let hard = Some(BounceType::Hard);
        assert!(suppress("userunknown", hard, "550", "5.1.1"));
        assert!(suppress("notaccept", hard, "556", "5.1.10"));
        assert!(suppress("notaccept", hard, "", ""));
        // Given up after a temporary answer: the domain's null MX may be a passing state.
        assert!(!suppress("notaccept", hard, "", "4.0.0"));
        assert!(!suppress("hostunknown", Some(BounceType::Soft), "450", "4.1.2"));
        assert!(!suppress("mailboxfull", hard, "552", "5.2.2"));
    }

    #[test]
    fn user_rules_come_first_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my.rules");
        std::fs::write(&file, "[text]\nfiltered   user unknown\n").unwrap();
        let c = Classifier::with_user_rules(Some(&file)).unwrap();
        assert_eq!(c.reason(Action::Failed, "550 User unknown", ""), "filtered");
        std::fs::write(&file, "[text]\nfiltered   (unclosed\n").unwrap();
        let err = Classifier::with_user_rules(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("my.rules:2"), "{err}");
        std::fs::write(&file, "[status]\nfive userunknown\n").unwrap();
        let err = Classifier::with_user_rules(Some(&file)).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }

    #[test]
    fn a_rule_may_tag_its_reason() {
        let c = Classifier::builtin();
        let listed = c
            .match_text("554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org")
            .unwrap();
        assert_eq!((listed.reason, listed.tag), ("blocked", LISTING));
        assert!(listed.origin.starts_with("builtin:"), "{}", listed.origin);
        let plain = c.match_text("550 5.7.1 Client host rejected: cannot find your hostname").unwrap();
        assert_eq!(plain.tag, "");
        let grey = c.match_text("450 4.2.0 Recipient address rejected: Greylisted").unwrap();
        assert_eq!((grey.reason, grey.tag), ("blocked", ""));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tagged.rules");
        std::fs::write(&file, "[text]\nblocked:listing   on our naughty list\n").unwrap();
        let mine = Classifier::with_user_rules(Some(&file)).unwrap();
        let m = mine.match_text("550 you are on our naughty list").unwrap();
        assert_eq!((m.reason, m.tag), ("blocked", LISTING));
        std::fs::write(&file, "[text]\nblocked:famous   go away\n").unwrap();
        let err = Classifier::with_user_rules(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("tagged.rules:2") && err.contains("unknown tag `famous`"), "{err}");
    }

    #[test]
    fn remembered_answers_belong_to_their_classifier() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my.rules");
        std::fs::write(&file, "[text]\nfiltered   user unknown\n").unwrap();
        let mine = Classifier::with_user_rules(Some(&file)).unwrap();
        let builtin = Classifier::builtin();
        for _ in 0..3 {
            assert_eq!(builtin.reason(Action::Failed, "550 User unknown", ""), "userunknown");
            assert_eq!(mine.reason(Action::Failed, "550 User unknown", ""), "filtered");
        }
        // Past the table's capacity answers stay right.
        for i in 0..10_000 {
            let t = format!("550 5.1.1 <u{i}@example.com>: User unknown");
            assert_eq!(builtin.reason(Action::Failed, &t, ""), "userunknown");
        }
    }

    /// Everyday server wordings, beyond the corpus: each must land on its reason.
    #[test]
    fn everyday_wordings_get_their_reason() {
        let c = Classifier::builtin();
        let status = regex::Regex::new(r"\b[245]\.\d{1,3}\.\d{1,3}\b").unwrap();
        let table = include_str!("../../fixtures/classify/phrases.tsv");
        let mut wrong = Vec::new();
        let mut n = 0;
        for line in table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (want, text) = line.split_once('\t').expect("REASON<TAB>TEXT");
            let code = status.find(text).map_or("", |m| m.as_str());
            let got = c.reason(Action::Failed, text, code);
            if got != want {
                wrong.push(format!("{text:?}: want {want}, got {got}"));
            }
            n += 1;
        }
        assert!(n >= 100, "the table has {n} lines");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

/// A multi-line reply as one text, without the reply code (and enhanced status) that starts
/// each of its lines again ("550-5.1.1 The account 550-5.1.1 does not exist"): a phrase broken
/// across two lines reads whole ("account or domain may not exist"). None when the text holds
/// no multi-line reply (a code and a hyphen: "550-") or does not repeat its code.
fn without_continuations(b: &[u8]) -> Option<Vec<u8>> {
    let first = memchr::memchr_iter(b'-', b)
        .find(|&h| h >= 3 && b[h - 3..h].iter().all(u8::is_ascii_digit) && (h == 3 || matches!(b[h - 4], b' ' | b'\t' | b':' | b'(')))?;
    let code = &b[first - 3..first];
    let mut out: Vec<u8> = Vec::new();
    let mut from = 0;
    for at in memchr::memmem::find_iter(&b[first + 1..], code).map(|i| i + first + 1) {
        if at < from || !b[at - 1].is_ascii_whitespace() || !matches!(b.get(at + 3), Some(b'-' | b' ')) {
            continue;
        }
        // The status after it ("550-5.1.1 "), when the text's first line has one too.
        let mut end = at + 4;
        let status_len = b[end..].iter().take_while(|c| c.is_ascii_digit() || **c == b'.').count();
        if status_len >= 5 && b[end..end + status_len].iter().filter(|c| **c == b'.').count() == 2 {
            end += status_len;
            end += usize::from(matches!(b.get(end), Some(b' ' | b'-')));
        }
        out.extend_from_slice(&b[from..at]);
        from = end;
    }
    if out.is_empty() {
        return None;
    }
    out.extend_from_slice(&b[from..]);
    Some(out)
}

/// Remembered answers of the rule set, per thread: mail logs repeat the same diagnostic texts
/// over and over (a timed-out host, a full mailbox), and one lookup is far cheaper than running
/// every rule over the text again. Bounded: the table is emptied when it fills up.
mod memo {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};

    const CAPACITY: usize = 8192;
    /// Texts longer than this are not remembered (rarely repeated, costly to keep).
    const LONGEST: usize = 512;

    static IDS: AtomicU64 = AtomicU64::new(1);

    pub fn next_id() -> u64 {
        IDS.fetch_add(1, Ordering::Relaxed)
    }

    type Table = HashMap<Box<[u8]>, Option<usize>, foldhash::fast::RandomState>;

    thread_local! {
        static TABLE: RefCell<(u64, Table)> = RefCell::new((0, Table::default()));
    }

    /// The first matching rule for `text`, from the table or from `run`.
    pub fn first_match(owner: u64, text: &[u8], run: impl FnOnce(&[u8]) -> Option<usize>) -> Option<usize> {
        if text.len() > LONGEST {
            return run(text);
        }
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            if t.0 != owner {
                *t = (owner, Table::default());
            }
            if let Some(&hit) = t.1.get(text) {
                return hit;
            }
            let found = run(text);
            if t.1.len() >= CAPACITY {
                t.1.clear();
            }
            t.1.insert(text.into(), found);
            found
        })
    }
}
