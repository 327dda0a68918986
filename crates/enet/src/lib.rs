//! enet crate (work in progress).
#![warn(missing_docs)]

pub mod compress;
pub use compress::CompressionMode;
