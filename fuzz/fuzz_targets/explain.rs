//! `explain` on arbitrary text: a reply code is three digits from the start, a status is
//! class.subject.detail, and a failure always gets a bounce type and advice.
#![no_main]
use bouncer::classify::Classifier;
use bouncer::explain::explain;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let c = C.get_or_init(Classifier::builtin);
    let text = String::from_utf8_lossy(data);
    let e = explain(&text, c);
    assert!(e.reply_code.is_empty() || e.reply_code.len() == 3);
    assert!(e.status.is_empty() || e.status.split('.').count() == 3);
    assert!(!e.advice.is_empty());
});
