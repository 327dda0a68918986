//! Sans-IO ENet 1.3 protocol engine.
//!
//! No sockets, clocks or threads: time and datagrams are passed in, datagrams to send and
//! events come out. The engine is deterministic for a given sequence of inputs.
//!
//! The entry point is [`Host`]: feed it with [`Host::handle_datagram`] and
//! [`Host::handle_timeout`], drain it with [`Host::poll_transmit`] and [`Host::poll_event`],
//! and ask [`Host::poll_timeout`] when to wake up next. [`sim`] provides a deterministic
//! lossy network for driving several hosts in tests, and [`testbed`] a virtual-time harness
//! on it. Both are ordinary public modules, compiled without any feature, so the crate's
//! integration tests (and other crates' tests) use them without `required-features`, and
//! `cargo test --workspace` runs every test.
//!
//! The engine lives in [`host`], one file per concern: `config` (the configuration and its
//! one validation), `timers` (clock and deadline queue), `connection` (the state machine),
//! `send` (queueing and fragmenting), `assembly` (building datagrams), `reliability` (acks,
//! RTT, retransmission, timeouts), `throttle` (packet throttle and bandwidth), `receive`
//! (datagram intake and command dispatch), `fragments` and `incoming_queue` (reassembly and
//! in-order delivery, on the structures of [`incoming`]). Per-peer state is in [`peer`].
//!
//! Two deliberate differences from the C library change when a sender sends, never what
//! it sends, so every ENet receiver copes: early retransmission of reliable commands that
//! later acknowledgements show lost ([`HostConfig::early_retransmit`]), and an adaptive
//! reliable window on paths without bandwidth limits, which starts at ENet's 64 KiB, widens
//! while acknowledgements come back and narrows on timeouts and congestion-scale losses, up
//! to [`HostConfig::transit_window`] (65,536 keeps C's window exactly).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compress;
pub mod event;
pub mod host;
pub mod incoming;
pub mod packet;
pub mod peer;
pub mod protocol;
pub mod range_coder;
pub mod sim;
pub mod testbed;
pub mod time;

pub use compress::Compressor;
pub use event::{ConfigError, DisconnectReason, DropReason, DropStats, Error, Event, PeerId};
pub use host::{
    Host, HostConfig, HostTotals, PeerInfo, DEFAULT_TRANSIT_WINDOW, MAXIMUM_TRANSIT_WINDOW,
};
pub use packet::{Packet, PacketFlags};
pub use peer::{
    Bandwidth, LossStats, PeerCounters, PeerState, RttEstimator, Throttle, Timeouts,
    MAX_REORDER_SCALE, REORDER_DECAY,
};
pub use range_coder::RangeCoder;
