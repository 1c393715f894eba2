//! The Exchange readers: the same bytes as a tracking log and as a CSV export.
#![no_main]
use bouncer::classify::Classifier;
use bouncer::collect::{Collector, Filter};
use bouncer::parse::exchange::{read_stream, Layout};
use bouncer::parse::Settings;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fuzz_target!(|data: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let classifier = C.get_or_init(Classifier::builtin);
    let filter = Filter::default();
    let settings = Settings::default();
    let name: Arc<str> = "fuzz".into();
    for layout in [Layout::TrackingLog, Layout::Csv] {
        let mut out = Collector::new(&filter, classifier, true);
        let mut r = data;
        let _ = read_stream(layout, &mut r, &name, &settings, &mut out);
        let (i, a) = (&out.summary.inputs, &out.summary.accounting);
        assert_eq!(i.lines, a.failures + a.not_failures + a.unparsed + a.filtered);
    }
});
