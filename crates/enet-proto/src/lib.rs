//! Sans-IO ENet 1.3 protocol engine.
//!
//! No sockets, clocks or threads: time and datagrams are passed in, datagrams to send and
//! events come out. The engine is deterministic for a given sequence of inputs.
//!
//! The entry point is [`Host`]: feed it with [`Host::handle_datagram`] and
//! [`Host::handle_timeout`], drain it with [`Host::poll_transmit`] and [`Host::poll_event`],
//! and ask [`Host::poll_timeout`] when to wake up next. [`sim`] provides a deterministic
//! lossy network for driving several hosts in tests.
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
pub use event::{DisconnectReason, DropReason, DropStats, Error, Event, PeerId};
pub use host::{Host, HostConfig, HostTotals, PeerInfo};
pub use packet::{Packet, PacketFlags};
pub use peer::{PeerCounters, PeerState};
pub use range_coder::RangeCoder;
