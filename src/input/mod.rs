//! Input: walk paths, decompress by magic bytes, sniff the format, split into chunks; follow a growing log.

pub mod chunks;
pub mod follow;
pub mod open;
pub mod state;
pub mod walk;

pub use open::{open, Kind, Opened};
pub use walk::{expand, Chain, Source};
