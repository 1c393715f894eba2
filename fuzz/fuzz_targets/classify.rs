//! The classifier and the sniffer on arbitrary text: a reason from the vocabulary, a bounce
//! type consistent with the codes, a kind for any first bytes.
#![no_main]
use bouncer::classify::{bounce_type_of_codes, Classifier};
use bouncer::input::open::sniff;
use bouncer::record::Action;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let c = C.get_or_init(Classifier::builtin);
    let _ = sniff(data);
    let text = String::from_utf8_lossy(data);
    let (status, diag) = text.split_at(text.char_indices().nth(5).map_or(text.len(), |(i, _)| i));
    for action in [Action::Failed, Action::Delayed, Action::Expired, Action::Rejected] {
        let reason = c.reason(action, diag, status);
        assert!(!reason.is_empty());
    }
    let code = diag.get(..3).unwrap_or("");
    let _ = bounce_type_of_codes(code, status);
});
