//! Interop test support against the C ENet library.
