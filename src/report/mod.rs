//! Consumers of records and summaries: CSV, JSONL, terminal table, and the summary report.

pub mod records;
pub mod summary;
pub mod text;
pub mod trace;
