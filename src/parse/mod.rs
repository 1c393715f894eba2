//! Readers, one per format: pure parsing of bytes into events and records.

pub mod bytes;
pub mod postfix;
pub mod smtp;
pub mod syslog;
