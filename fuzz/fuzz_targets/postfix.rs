//! The Postfix reader: a chunk of syslog lines (the fuzzer's bytes, cut into two chunks at a
//! line end so the carried correlation state is exercised too), then the accounting must hold.
#![no_main]
use bouncer::classify::Classifier;
use bouncer::collect::{Collector, Filter};
use bouncer::parse::postfix::queue::{parse_chunk, Carried};
use bouncer::parse::Settings;
use bouncer::when::YearRule;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fuzz_target!(|data: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let classifier = C.get_or_init(Classifier::builtin);
    let filter = Filter::default();
    let settings = Settings { max_line_bytes: 4096, max_queue_ids: 8, ..Settings::default() };
    let rule = YearRule::new(std::time::UNIX_EPOCH, None);
    let name: Arc<str> = "fuzz".into();
    let mut data = data.to_vec();
    if data.last() != Some(&b'\n') {
        data.push(b'\n');
    }
    let cut = memchr_mid(&data);
    let mut out = Collector::new(&filter, classifier, true);
    let mut carried = Carried::new(settings.max_queue_ids);
    carried.new_stream();
    for part in [&data[..cut], &data[cut..]] {
        if part.is_empty() {
            continue;
        }
        let o = parse_chunk(part, &name, &rule, &settings, &filter, classifier, true);
        carried.absorb(o, &mut out);
    }
    let (i, a) = (&out.summary.inputs, &out.summary.accounting);
    assert_eq!(i.lines, a.failures + a.not_failures + a.unparsed + a.filtered);
    assert_eq!(a.records as usize, out.records.len());
});

/// A line end near the middle (or the end).
fn memchr_mid(d: &[u8]) -> usize {
    let mid = d.len() / 2;
    d[mid..].iter().position(|&b| b == b'\n').map_or(d.len(), |p| mid + p + 1)
}
