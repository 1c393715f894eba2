//! bouncer: reads mail server logs and bounce messages and reports every failed delivery —
//! who bounced, which server said no, with which reply code and enhanced status, why, and
//! whether it was a hard or a soft bounce.
//!
//! Data flows one way: [`input`] (walk, decompress, sniff, split) → [`parse`] (one reader per
//! format) → [`classify`] (one rule set for all) → [`report`] (writers and the summary).
//! [`engine`] drives the flow over files in parallel; [`collect`] is where readers hand over.

pub mod classify;
pub mod collect;
pub mod engine;
pub mod explain;
pub mod input;
pub mod parse;
pub mod prefilter;
pub mod record;
pub mod report;
pub mod trace;
pub mod when;

pub use record::Record;
