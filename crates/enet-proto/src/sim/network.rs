//! [`Network`]: any number of endpoints addressed by [`SocketAddr`], one independently
//! configured and independently seeded link per ordered address pair, all delivering
//! through one queue in arrival order.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::link::{LinkConfig, LinkCore, LinkStats};
use super::queue::Queue;
use super::rng::mix64;

/// A datagram delivered by [`Network::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The sender's address.
    pub from: SocketAddr,
    /// The receiver's address.
    pub to: SocketAddr,
    /// The payload. Hand it back with [`Network::recycle`] to avoid allocations.
    pub data: Vec<u8>,
    /// When the datagram was due (at or before the `now` passed to `poll`).
    pub at: Instant,
}

/// Words identifying an address, for seeding.
pub(super) fn addr_words(addr: &SocketAddr) -> [u64; 3] {
    match addr {
        SocketAddr::V4(a) => [
            (4 << 48) | (u64::from(a.port()) << 32) | u64::from(u32::from(*a.ip())),
            0,
            0,
        ],
        SocketAddr::V6(a) => {
            let ip = u128::from(*a.ip());
            [
                (6 << 48) | (u64::from(a.port()) << 32) | u64::from(a.scope_id()),
                (ip >> 64) as u64,
                ip as u64,
            ]
        }
    }
}

/// The PRNG seed of the link `from -> to` in a network seeded with `seed`.
pub(super) fn link_seed(seed: u64, from: &SocketAddr, to: &SocketAddr) -> u64 {
    let mut h = mix64(seed ^ 0x6E65_7473_696D_6C6B);
    for word in addr_words(from).into_iter().chain(addr_words(to)) {
        h = mix64(h.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ word);
    }
    h
}

/// One directed link of a [`Network`].
#[derive(Debug)]
pub(super) struct NetLink {
    pub(super) from: SocketAddr,
    pub(super) to: SocketAddr,
    /// Configured with [`Network::set_link`], so it does not follow the default.
    pub(super) explicit: bool,
    pub(super) core: LinkCore,
}

/// A virtual network of endpoints addressed by [`SocketAddr`].
///
/// Each ordered pair `(from, to)` has its own [`LinkConfig`] and its own PRNG, seeded from
/// the network seed and the two addresses, so traffic on one link never perturbs another.
/// Links are created on first use with the default config. Delivery is globally ordered by
/// due time, ties broken by the order datagrams were scheduled.
///
/// Each link created keeps a small amount of memory for the lifetime of the network.
///
/// ```
/// use std::time::{Duration, Instant};
/// use enet_proto::sim::{LinkConfig, Network};
///
/// let t0 = Instant::now();
/// let a = "10.0.0.1:1000".parse().unwrap();
/// let b = "10.0.0.2:2000".parse().unwrap();
/// let mut net = Network::new(7);
/// net.set_default_link(LinkConfig::new().with_latency(Duration::from_millis(10), Duration::ZERO));
/// net.send(t0, a, b, b"ping");
/// let t1 = net.next_delivery().unwrap();
/// let d = net.poll(t1).unwrap();
/// assert_eq!((d.from, d.to, &d.data[..]), (a, b, &b"ping"[..]));
/// net.recycle(d.data);
/// ```
#[derive(Debug)]
pub struct Network {
    pub(super) seed: u64,
    pub(super) default: LinkConfig,
    pub(super) links: Vec<NetLink>,
    pub(super) index: BTreeMap<(SocketAddr, SocketAddr), usize>,
    pub(super) queue: Queue,
}

impl Network {
    /// Creates an empty network whose links are seeded from `seed` and default to a
    /// perfect link.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            default: LinkConfig::default(),
            links: Vec::new(),
            index: BTreeMap::new(),
            queue: Queue::default(),
        }
    }

    /// The (sanitized) config used by links not configured with [`Network::set_link`].
    pub fn default_link(&self) -> &LinkConfig {
        &self.default
    }

    /// Sets the default config (clamped with [`LinkConfig::sanitized`]).
    ///
    /// Applies to links created later and to existing links not configured with
    /// [`Network::set_link`], for datagrams sent from now on.
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default = config.sanitized();
        for link in self.links.iter_mut().filter(|l| !l.explicit) {
            link.core.config = self.default.clone();
        }
    }

    /// Configures the single direction `from -> to` (clamped with
    /// [`LinkConfig::sanitized`]), for datagrams sent from now on.
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, config: LinkConfig) {
        let i = self.link_index(from, to);
        let link = &mut self.links[i];
        link.explicit = true;
        link.core.config = config.sanitized();
    }

    /// Configures both directions between `a` and `b` with the same config.
    pub fn set_link_pair(&mut self, a: SocketAddr, b: SocketAddr, config: LinkConfig) {
        self.set_link(a, b, config.clone());
        self.set_link(b, a, config);
    }

    /// Makes `from -> to` follow the default config again.
    pub fn reset_link(&mut self, from: SocketAddr, to: SocketAddr) {
        if let Some(&i) = self.index.get(&(from, to)) {
            let link = &mut self.links[i];
            link.explicit = false;
            link.core.config = self.default.clone();
        }
    }

    /// The (sanitized) config of `from -> to`, which is the default for links not
    /// configured with [`Network::set_link`].
    pub fn link_config(&self, from: SocketAddr, to: SocketAddr) -> &LinkConfig {
        match self.index.get(&(from, to)) {
            Some(&i) => &self.links[i].core.config,
            None => &self.default,
        }
    }

    pub(super) fn link_index(&mut self, from: SocketAddr, to: SocketAddr) -> usize {
        if let Some(&i) = self.index.get(&(from, to)) {
            return i;
        }
        let i = self.links.len();
        self.links.push(NetLink {
            from,
            to,
            explicit: false,
            core: LinkCore::new(&self.default, link_seed(self.seed, &from, &to)),
        });
        self.index.insert((from, to), i);
        i
    }

    /// Sends a datagram from `from` to `to` at time `now`; the payload is copied.
    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, datagram: &[u8]) {
        let i = self.link_index(from, to);
        let schedule = self.links[i].core.schedule(now, datagram.len());
        self.queue.push_scheduled(schedule, i, datagram);
    }

    /// Removes and returns the globally earliest datagram due at or before `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Delivery> {
        let entry = self.queue.pop_due(now)?;
        let link = &mut self.links[entry.link];
        link.core.delivered();
        Some(Delivery {
            from: link.from,
            to: link.to,
            data: entry.data,
            at: entry.at,
        })
    }

    /// Like [`Network::poll`], but swaps the payload into `out` (replacing its contents),
    /// keeps `out`'s previous buffer for reuse and returns `(from, to)`. `out` is
    /// untouched if nothing is due.
    pub fn poll_into(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let entry = self.queue.pop_due(now)?;
        let link = &mut self.links[entry.link];
        link.core.delivered();
        let addrs = (link.from, link.to);
        self.queue.swap_out(entry, out);
        Some(addrs)
    }

    /// Returns a buffer (for example [`Delivery::data`]) to the pool.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.queue.recycle(buf);
    }

    /// When the earliest held datagram is due, or `None` if nothing is held.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.next_delivery()
    }

    /// Number of datagrams currently held, over all links.
    pub fn queued(&self) -> usize {
        self.queue.heap.len()
    }

    /// Counters of the link `from -> to`, or `None` if it has never been used or configured.
    pub fn link_stats(&self, from: SocketAddr, to: SocketAddr) -> Option<LinkStats> {
        self.index
            .get(&(from, to))
            .map(|&i| self.links[i].core.stats)
    }

    /// `(from, to, stats)` of every link, in the order the links were created.
    pub fn links(&self) -> impl Iterator<Item = (SocketAddr, SocketAddr, LinkStats)> + '_ {
        self.links.iter().map(|l| (l.from, l.to, l.core.stats))
    }

    /// The sum of the counters of all links.
    pub fn total_stats(&self) -> LinkStats {
        let mut total = LinkStats::default();
        for link in &self.links {
            total.add(&link.core.stats);
        }
        total
    }
}
