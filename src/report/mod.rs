//! Consumers of records and summaries: CSV, JSONL, terminal table, the summary report (text, Markdown, HTML) and trace stories.

pub mod html;
pub mod records;
pub mod summary;
pub mod text;
pub mod trace;
