//! Readers, one per format: pure parsing of bytes into events and records.
//!
//! Each reader takes a decompressed stream and hands every line or message it reads to a
//! [`crate::collect::Collector`] as exactly one of: failure (with records), not a failure,
//! unparsed, or filtered.

pub mod bytes;
pub mod dsn;
pub mod exchange;
pub mod postfix;
pub mod smtp;
pub mod syslog;

/// Default cap on open queue ids.
pub const DEFAULT_MAX_QUEUE_IDS: usize = 200_000;

/// Default chunk size: large enough that per-chunk work is noise, small enough that a few
/// chunks in flight per core stay well inside the memory budget.
pub const DEFAULT_CHUNK_BYTES: usize = 4 << 20;

/// Options every reader may use.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Lines longer than this are cut.
    pub max_line_bytes: usize,
    /// Email messages larger than this are read only up to it.
    pub max_message_bytes: usize,
    /// Open queue ids kept for correlation (Postfix).
    pub max_queue_ids: usize,
    /// The year of syslog stamps that have none (default: from the file's mtime).
    pub year: Option<i32>,
    /// Size of the chunks a log stream is cut into for parallel parsing.
    pub chunk_bytes: usize,
    /// Also give records for messages that are not bounces (auto-replies, abuse reports),
    /// with reason `vacation` / `feedback`.
    pub all: bool,
    /// Count records into the summary's tables (`Collector::tables`); off for `scan`.
    pub tables: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_line_bytes: 1 << 20,
            max_message_bytes: 64 << 20,
            max_queue_ids: DEFAULT_MAX_QUEUE_IDS,
            year: None,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            all: false,
            tables: true,
        }
    }
}
