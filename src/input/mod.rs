//! Input: walk paths, decompress by magic bytes, sniff the format, split into lines.

pub mod chunks;
pub mod lines;
pub mod open;
pub mod walk;

pub use open::{open, Kind, Opened};
pub use walk::{expand, Chain, Source};
