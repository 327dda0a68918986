//! ENet over UDP.
//!
//! [`udp::UdpHost`] drives the sans-IO protocol engine of [`enet_proto`] with a
//! [`std::net::UdpSocket`]. The engine's main types are re-exported here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod udp;

pub use enet_proto::{
    Compressor, DisconnectReason, Error, Event, Host, HostConfig, Packet, PacketFlags, PeerId,
    PeerInfo, PeerState, RangeCoder,
};
pub use udp::UdpHost;
