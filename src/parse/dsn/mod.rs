//! Bounce emails: RFC 3464 delivery status notifications and the non-standard bounces MTAs send,
//! in single files, mbox files and maildirs.

use super::Settings;
use crate::collect::Collector;
use std::io::{self, BufRead};
use std::sync::Arc;

/// Read one stream holding one email or an mbox of several; every message is one unit.
pub fn read_stream(reader: &mut dyn BufRead, source: &Arc<str>, settings: &Settings, out: &mut Collector<'_>) -> io::Result<()> {
    let _ = (reader, settings);
    out.summary.inputs.skipped += 1;
    out.warning(format!("{source}: skipped: bounce emails are not read yet"));
    Ok(())
}
