//! Deterministic network simulator and link conditioner.
//!
//! Everything here is sans-IO: no sockets, threads or clock reads. The caller passes the
//! current time as an [`Instant`](std::time::Instant) (tests typically use one fixed base
//! `Instant` plus virtual [`Duration`]s) and moves datagrams in and out. For the same seed
//! and the same sequence of calls the output is identical, bit for bit.
//!
//! * [`SimRng`] is a small seeded PRNG (xoshiro256** seeded through splitmix64).
//! * [`LinkConfig`] describes one direction of a path: loss, duplication, reordering,
//!   latency and jitter, an optional bandwidth limit and a bound on held datagrams.
//! * [`Link`] conditions a single direction; it is meant for a per-host link conditioner
//!   (one `Link` for outgoing and one for incoming traffic, or a [`Network`] when the
//!   destination address must travel with each datagram).
//! * [`Network`] connects any number of endpoints addressed by
//!   [`SocketAddr`](std::net::SocketAddr), with one independently configured and
//!   independently seeded link per ordered address pair.
//!
//! # Model
//!
//! For every datagram handed to a link, in this order:
//!
//! 1. If the link already holds [`LinkConfig::max_queue`] datagrams, it is dropped and
//!    counted in [`LinkStats::dropped_queue`].
//! 2. With probability [`LinkConfig::loss`] it is dropped ([`LinkStats::dropped_loss`]).
//!    Lost datagrams do not occupy the bandwidth.
//! 3. If [`LinkConfig::bandwidth`] is set, it is serialized after the datagrams before it:
//!    it departs `len / bandwidth` seconds after the link became free (or after `now`).
//! 4. It arrives after `latency` plus a uniform offset in `[-jitter, +jitter]`, never
//!    earlier than its departure. With probability [`LinkConfig::reorder`] it is held back
//!    a further `reorder_delay`, so later datagrams overtake it
//!    ([`LinkStats::reordered`]).
//! 5. With probability [`LinkConfig::duplicate`] a second copy departs with it and gets
//!    its own independent delay (step 4) ([`LinkStats::duplicated`]). The copy needs room
//!    in the queue too; if there is none it is counted in `dropped_queue`.
//!
//! Datagrams are delivered in order of arrival time; equal arrival times are delivered in
//! the order they were scheduled. Consequently, with zero jitter, no reordering and a
//! non-decreasing `now`, a link is FIFO. Jitter alone can reorder datagrams, as on a real
//! network.
//!
//! At any time, for every link:
//! `sent + duplicated == delivered + dropped_loss + dropped_queue + queued`.
//!
//! # Allocation
//!
//! Datagram payloads are copied into pooled buffers. Buffers come back to the pool through
//! [`Link::recycle`] / [`Network::recycle`], or automatically with [`Link::poll_into`] /
//! [`Network::poll_into`], which swap the payload into the caller's buffer and keep the
//! caller's old buffer. Once warmed up, sending and delivering do not allocate.
//!
//! The module is split by concern: `rng` (the PRNG), `link` (a link's configuration,
//! statistics and arrival model, and [`Link`]), `queue` (held datagrams in delivery order and
//! the buffer pool) and `network` ([`Network`]).

use std::time::Duration;

mod link;
mod network;
mod queue;
mod rng;
#[cfg(test)]
mod tests;

pub use link::{Link, LinkConfig, LinkConfigError, LinkStats};
pub use network::{Delivery, Network};
pub use rng::SimRng;

/// Largest accepted `latency`, `jitter` or `reorder_delay` (one hour).
///
/// [`LinkConfig::validate`] rejects larger values; links clamp them to this.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// At most this many idle buffers are kept in a pool; extra recycled buffers are freed.
pub(crate) const POOL_LIMIT: usize = 4096;
