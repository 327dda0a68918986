//! Sans-IO ENet 1.3 protocol engine.
//!
//! No sockets, clocks or threads: time and datagrams are passed in, datagrams to send and
//! events come out. The engine is deterministic for a given sequence of inputs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compress;
pub use compress::Compressor;
pub mod range_coder;
pub use range_coder::RangeCoder;
