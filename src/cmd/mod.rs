//! Subcommands, one file each, and the options they share.

pub mod common;
pub mod completions;
pub mod explain;
pub mod man;
pub mod merge;
pub mod report;
pub mod scan;
pub mod trace;
