//! A mailbox stream (mbox splitting on `From ` lines, or one message): the accounting holds.
#![no_main]
use bouncer::classify::Classifier;
use bouncer::collect::{Collector, Filter};
use bouncer::parse::dsn::read_stream;
use bouncer::parse::Settings;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fuzz_target!(|data: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let classifier = C.get_or_init(Classifier::builtin);
    let filter = Filter::default();
    let settings = Settings { max_message_bytes: 64 << 10, ..Settings::default() };
    let name: Arc<str> = "fuzz".into();
    let mut out = Collector::new(&filter, classifier, true);
    let mut r = data;
    let _ = read_stream(&mut r, &name, &settings, &mut out);
    let (i, a) = (&out.summary.inputs, &out.summary.accounting);
    assert_eq!(i.messages, a.failures + a.not_failures + a.unparsed + a.filtered);
});
