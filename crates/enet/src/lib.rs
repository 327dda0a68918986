//! enet crate (work in progress).
#![warn(missing_docs)]
