//! One classifier for every format: a diagnostic text (and the codes beside it) in, a reason in
//! Sisimai's vocabulary and a suppress decision out.
//!
//! The rules are data (`rules.txt` beside this file, or a user's `--rules FILE` put first) and
//! are compiled once into a single `RegexSet`; the first matching rule wins.

use crate::record::{Action, BounceType, Record};
use regex::bytes::RegexSet;
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
    Regex(regex::Error, String),
    #[error("cannot read rules file {0}: {1}")]
    Io(String, std::io::Error),
}

#[derive(Debug)]
pub struct Classifier {
    /// Tells this classifier's memoised answers from another's (see `memo`).
    id: u64,
    set: RegexSet,
    reasons: Vec<String>,
    /// (origin, line) of every text rule, for `explain`-style diagnostics.
    origins: Vec<String>,
    status: HashMap<String, String>,
}

#[derive(Default)]
struct RuleSet {
    text: Vec<(String, String, String)>,
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
            into.text.push((first.to_string(), rest.to_string(), format!("{origin}:{}", n + 1)));
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
        // Bytes and ASCII-only case folding: the diagnostic texts are mostly ASCII, and a
        // Unicode-aware case-insensitive DFA over all rules is several times larger.
        let set = regex::bytes::RegexSetBuilder::new(rules.text.iter().map(|(_, p, _)| p))
            .case_insensitive(true)
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .map_err(|e| {
                // Only when the set fails is each pattern compiled alone, so the error names its line.
                for (_, pattern, origin) in &rules.text {
                    if let Err(e) = regex::bytes::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .unicode(false)
                        .build()
                    {
                        return RulesError::Regex(e, origin.clone());
                    }
                }
                RulesError::Regex(e, "rules".into())
            })?;
        let mut status = HashMap::new();
        for (code, reason) in rules.status {
            status.entry(code).or_insert(reason);
        }
        Ok(Classifier {
            id: memo::next_id(),
            set,
            reasons: rules.text.iter().map(|(r, _, _)| r.clone()).collect(),
            origins: rules.text.into_iter().map(|(_, _, o)| o).collect(),
            status,
        })
    }

    /// The reason for a text alone (first matching text rule), with the rule's origin.
    pub fn match_text(&self, text: &str) -> Option<(&str, &str)> {
        let b = text.as_bytes();
        let b = &b[..b.len().min(CLASSIFY_BYTES)];
        let first = memo::first_match(self.id, b, |b| self.set.matches(b).into_iter().next())?;
        Some((&self.reasons[first], &self.origins[first]))
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
        if let Some((reason, _)) = self.match_text(diagnostic) {
            return reason.to_string();
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
        rec.suppress = suppress(&rec.reason, rec.bounce_type);
    }
}

/// The address itself is dead: a hard failure whose reason is userunknown, hostunknown,
/// hasmoved or notaccept.
pub fn suppress(reason: &str, bounce_type: Option<BounceType>) -> bool {
    bounce_type == Some(BounceType::Hard) && DEAD_ADDRESS.contains(&reason)
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
        assert!(suppress("userunknown", Some(BounceType::Hard)));
        assert!(suppress("notaccept", Some(BounceType::Hard)));
        assert!(!suppress("hostunknown", Some(BounceType::Soft)));
        assert!(!suppress("mailboxfull", Some(BounceType::Hard)));
    }

    #[test]
    fn user_rules_come_first_and_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("bouncer-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("my.rules");
        std::fs::write(&file, "[text]\nfiltered   user unknown\n").unwrap();
        let c = Classifier::with_user_rules(Some(&file)).unwrap();
        assert_eq!(c.reason(Action::Failed, "550 User unknown", ""), "filtered");
        std::fs::write(&file, "[text]\nfiltered   (unclosed\n").unwrap();
        let err = Classifier::with_user_rules(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("my.rules:2"), "{err}");
        std::fs::write(&file, "[status]\nfive userunknown\n").unwrap();
        let err = Classifier::with_user_rules(Some(&file)).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
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
