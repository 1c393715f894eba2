//! Subcommands, one file each, and the options they share.

pub mod common;
pub mod report;
pub mod scan;
