//! Deterministic network simulator and link conditioner.
//!
//! Everything here is sans-IO: no sockets, threads or clock reads. The caller passes the
//! current time as an [`Instant`] (tests typically use one fixed base `Instant` plus virtual
//! [`Duration`]s) and moves datagrams in and out. For the same seed and the same sequence of
//! calls the output is identical, bit for bit.
//!
//! * [`SimRng`] is a small seeded PRNG (xoshiro256** seeded through splitmix64).
//! * [`LinkConfig`] describes one direction of a path: loss, duplication, reordering,
//!   latency and jitter, an optional bandwidth limit and a bound on held datagrams.
//! * [`Link`] conditions a single direction; it is meant for a per-host link conditioner
//!   (one `Link` for outgoing and one for incoming traffic, or a [`Network`] when the
//!   destination address must travel with each datagram).
//! * [`Network`] connects any number of endpoints addressed by [`SocketAddr`], with one
//!   independently configured and independently seeded link per ordered address pair.
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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Largest accepted `latency`, `jitter` or `reorder_delay` (one hour).
///
/// [`LinkConfig::validate`] rejects larger values; links clamp them to this.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// At most this many idle buffers are kept in a pool; extra recycled buffers are freed.
const POOL_LIMIT: usize = 4096;

/// One step of splitmix64: advances `state` and returns the next output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// The splitmix64 output function (a strong 64-bit finalizer).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small, fast, seeded pseudo-random number generator (xoshiro256**).
///
/// The state is seeded from a single `u64` through splitmix64, so every seed (including 0)
/// gives a well-mixed state. Not cryptographically secure; meant for simulations only.
/// The output sequence for a given seed is fixed and will not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng {
    s: [u64; 4],
}

impl SimRng {
    /// Creates a generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            // The all-zero state is a fixed point of xoshiro; splitmix64 practically never
            // produces it, but make sure.
            s[0] = 1;
        }
        Self { s }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Returns a uniformly distributed `f64` in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns `true` with probability `p`.
    ///
    /// `p <= 0` (or NaN) is never true and `p >= 1` is always true. Always draws exactly one
    /// value, whatever `p` is.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Returns a uniformly distributed integer in the half-open range `[lo, hi)`.
    ///
    /// Unbiased (Lemire's multiply-and-reject method). If `hi <= lo`, returns `lo` without
    /// drawing.
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let range = hi - lo;
        let mut m = u128::from(self.next_u64()) * u128::from(range);
        if (m as u64) < range {
            let threshold = range.wrapping_neg() % range;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(range);
            }
        }
        lo + (m >> 64) as u64
    }
}

/// An invalid field in a [`LinkConfig`], reported by [`LinkConfig::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkConfigError {
    /// A probability is NaN or outside `[0, 1]`.
    #[error("{field} must be a probability in [0, 1], got {value}")]
    Probability {
        /// Name of the field (`"loss"`, `"duplicate"` or `"reorder"`).
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A delay is larger than [`MAX_DELAY`].
    #[error("{field} must be at most {max:?}, got {value:?}", max = MAX_DELAY)]
    DelayTooLarge {
        /// Name of the field (`"latency"`, `"jitter"` or `"reorder_delay"`).
        field: &'static str,
        /// The rejected value.
        value: Duration,
    },
    /// `bandwidth` is `Some(0)`; use `None` for an unlimited link.
    #[error("bandwidth must be positive (use None for unlimited)")]
    ZeroBandwidth,
}

/// Impairments of one direction of a simulated path.
///
/// The [`Default`] is a perfect link: no loss, duplication or reordering, zero latency,
/// unlimited bandwidth, at most 65,536 datagrams held.
///
/// Fields are public and may hold anything. [`LinkConfig::validate`] *rejects* out-of-range
/// values; [`Link`] and [`Network`] never reject a config and instead *clamp* it with
/// [`LinkConfig::sanitized`] (probabilities to `[0, 1]` with NaN as 0, delays to
/// [`MAX_DELAY`], `Some(0)` bandwidth to `None`).
///
/// ```
/// use std::time::Duration;
/// use enet_proto::sim::LinkConfig;
///
/// let config = LinkConfig::new()
///     .with_loss(0.2)
///     .with_duplicate(0.05)
///     .with_reorder(0.1, Duration::from_millis(20))
///     .with_latency(Duration::from_millis(50), Duration::from_millis(30));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LinkConfig {
    /// Probability in `[0, 1]` that a datagram is dropped.
    pub loss: f64,
    /// Probability in `[0, 1]` that a delivered datagram is delivered twice.
    pub duplicate: f64,
    /// Probability in `[0, 1]` that a datagram is held back an extra `reorder_delay`.
    pub reorder: f64,
    /// Base one-way delay.
    pub latency: Duration,
    /// Maximum deviation from `latency`; each copy gets a uniform offset in
    /// `[-jitter, +jitter]`, and the total delay is never negative.
    pub jitter: Duration,
    /// Extra delay for datagrams picked by `reorder`.
    pub reorder_delay: Duration,
    /// Optional throughput limit in payload bytes per second (serialization delay). `None`
    /// means unlimited.
    pub bandwidth: Option<u64>,
    /// Maximum number of datagrams held by the link; further datagrams are dropped and
    /// counted in [`LinkStats::dropped_queue`].
    pub max_queue: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder_delay: Duration::ZERO,
            bandwidth: None,
            max_queue: 65_536,
        }
    }
}

impl LinkConfig {
    /// A perfect link; same as [`LinkConfig::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the loss probability.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets the duplication probability.
    pub fn with_duplicate(mut self, duplicate: f64) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Sets the reordering probability and the extra delay of reordered datagrams.
    pub fn with_reorder(mut self, reorder: f64, reorder_delay: Duration) -> Self {
        self.reorder = reorder;
        self.reorder_delay = reorder_delay;
        self
    }

    /// Sets the base latency and the jitter around it.
    pub fn with_latency(mut self, latency: Duration, jitter: Duration) -> Self {
        self.latency = latency;
        self.jitter = jitter;
        self
    }

    /// Limits throughput to `bytes_per_second` payload bytes per second.
    pub fn with_bandwidth(mut self, bytes_per_second: u64) -> Self {
        self.bandwidth = Some(bytes_per_second);
        self
    }

    /// Sets the maximum number of datagrams held by the link.
    pub fn with_max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// Checks that probabilities are in `[0, 1]`, delays are at most [`MAX_DELAY`] and the
    /// bandwidth, if set, is positive. Reports the first offending field.
    pub fn validate(&self) -> Result<(), LinkConfigError> {
        for (field, value) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(LinkConfigError::Probability { field, value });
            }
        }
        for (field, value) in [
            ("latency", self.latency),
            ("jitter", self.jitter),
            ("reorder_delay", self.reorder_delay),
        ] {
            if value > MAX_DELAY {
                return Err(LinkConfigError::DelayTooLarge { field, value });
            }
        }
        if self.bandwidth == Some(0) {
            return Err(LinkConfigError::ZeroBandwidth);
        }
        Ok(())
    }

    /// Returns a copy with every field forced into range: probabilities clamped to
    /// `[0, 1]` (NaN becomes 0), delays clamped to [`MAX_DELAY`], `Some(0)` bandwidth
    /// replaced by `None`. The result always passes [`LinkConfig::validate`].
    pub fn sanitized(&self) -> Self {
        fn prob(p: f64) -> f64 {
            if p.is_nan() {
                0.0
            } else {
                p.clamp(0.0, 1.0)
            }
        }
        Self {
            loss: prob(self.loss),
            duplicate: prob(self.duplicate),
            reorder: prob(self.reorder),
            latency: self.latency.min(MAX_DELAY),
            jitter: self.jitter.min(MAX_DELAY),
            reorder_delay: self.reorder_delay.min(MAX_DELAY),
            bandwidth: self.bandwidth.filter(|&b| b > 0),
            max_queue: self.max_queue,
        }
    }
}

/// Counters of one link (or, from [`Network::total_stats`], the sum over links).
///
/// Invariant: `sent + duplicated == delivered + dropped_loss + dropped_queue + queued`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Datagrams handed to `send`.
    pub sent: u64,
    /// Datagrams (including duplicate copies) returned by `poll`.
    pub delivered: u64,
    /// Datagrams dropped by random loss.
    pub dropped_loss: u64,
    /// Datagrams (including duplicate copies) dropped because the link held `max_queue`.
    pub dropped_queue: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Copies held back by `reorder_delay`.
    pub reordered: u64,
    /// Datagrams currently held, waiting for delivery (a gauge, not a counter).
    pub queued: u64,
}

impl LinkStats {
    /// `dropped_loss + dropped_queue`.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_queue
    }

    /// Whether `sent + duplicated == delivered + dropped + queued` holds.
    pub fn is_balanced(&self) -> bool {
        self.sent + self.duplicated == self.delivered + self.dropped() + self.queued
    }

    fn add(&mut self, other: &LinkStats) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.dropped_loss += other.dropped_loss;
        self.dropped_queue += other.dropped_queue;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.queued += other.queued;
    }
}

/// `t + d`, or `t` in the (practically unreachable) case the result is not representable.
fn add_time(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

/// Arrival times decided for one datagram (and its duplicate, if any).
#[derive(Debug, Clone, Copy, Default)]
struct Schedule {
    first: Option<Instant>,
    second: Option<Instant>,
}

/// Config, randomness and counters of one direction; shared by [`Link`] and [`Network`].
#[derive(Debug, Clone)]
struct LinkCore {
    config: LinkConfig,
    rng: SimRng,
    stats: LinkStats,
    /// When the (bandwidth-limited) link finishes serializing the last accepted datagram.
    busy_until: Option<Instant>,
}

impl LinkCore {
    fn new(config: &LinkConfig, seed: u64) -> Self {
        Self {
            config: config.sanitized(),
            rng: SimRng::new(seed),
            stats: LinkStats::default(),
            busy_until: None,
        }
    }

    fn has_room(&self) -> bool {
        self.stats.queued < self.config.max_queue as u64
    }

    /// Decides the fate of a datagram of `len` bytes sent at `now` and updates counters.
    /// The caller must enqueue one copy per returned time.
    fn schedule(&mut self, now: Instant, len: usize) -> Schedule {
        self.stats.sent += 1;
        if !self.has_room() {
            self.stats.dropped_queue += 1;
            return Schedule::default();
        }
        if self.rng.chance(self.config.loss) {
            self.stats.dropped_loss += 1;
            return Schedule::default();
        }
        let depart = self.serialize(now, len);
        let first = add_time(depart, self.sample_delay());
        self.stats.queued += 1;
        let mut second = None;
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            if self.has_room() {
                second = Some(add_time(depart, self.sample_delay()));
                self.stats.queued += 1;
            } else {
                self.stats.dropped_queue += 1;
            }
        }
        Schedule {
            first: Some(first),
            second,
        }
    }

    /// Departure time of a datagram of `len` bytes handed over at `now`.
    fn serialize(&mut self, now: Instant, len: usize) -> Instant {
        let Some(bandwidth) = self.config.bandwidth else {
            return now;
        };
        let start = self.busy_until.map_or(now, |busy| busy.max(now));
        let nanos = (len as u128 * 1_000_000_000).div_ceil(u128::from(bandwidth));
        let end = add_time(
            start,
            Duration::from_nanos(nanos.min(u64::MAX as u128) as u64),
        );
        self.busy_until = Some(end);
        end
    }

    /// Propagation delay of one copy: latency ± jitter, plus maybe `reorder_delay`.
    fn sample_delay(&mut self) -> Duration {
        // Both are at most MAX_DELAY (3.6e12 ns) after sanitizing, so no overflow.
        let latency = self.config.latency.as_nanos() as u64;
        let jitter = self.config.jitter.as_nanos() as u64;
        let mut nanos = latency;
        if jitter > 0 {
            let offset = self.rng.range_u64(0, 2 * jitter + 1);
            nanos = (latency + offset).saturating_sub(jitter);
        }
        let mut delay = Duration::from_nanos(nanos);
        if self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            delay += self.config.reorder_delay;
        }
        delay
    }

    fn delivered(&mut self) {
        self.stats.queued -= 1;
        self.stats.delivered += 1;
    }
}

/// A datagram waiting in a heap, ordered so that `BinaryHeap` pops the earliest
/// `(at, seq)` first.
#[derive(Debug)]
struct Entry {
    at: Instant,
    seq: u64,
    link: usize,
    data: Vec<u8>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the earliest time, then the lowest sequence number, is the maximum.
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

/// Datagrams scheduled for delivery plus a pool of spare buffers.
#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Entry>,
    pool: Vec<Vec<u8>>,
    next_seq: u64,
}

impl Queue {
    fn push(&mut self, at: Instant, link: usize, data: &[u8]) {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            at,
            seq,
            link,
            data: buf,
        });
    }

    fn push_scheduled(&mut self, schedule: Schedule, link: usize, data: &[u8]) {
        for at in [schedule.first, schedule.second].into_iter().flatten() {
            self.push(at, link, data);
        }
    }

    fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        if self.heap.peek()?.at <= now {
            self.heap.pop()
        } else {
            None
        }
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > 0 && self.pool.len() < POOL_LIMIT {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// Moves `entry`'s payload into `out` and keeps `out`'s old buffer.
    fn swap_out(&mut self, mut entry: Entry, out: &mut Vec<u8>) {
        std::mem::swap(out, &mut entry.data);
        self.recycle(entry.data);
    }
}

/// One direction of a simulated path: a link conditioner for a stream of datagrams.
///
/// ```
/// use std::time::{Duration, Instant};
/// use enet_proto::sim::{Link, LinkConfig};
///
/// let t0 = Instant::now();
/// let config = LinkConfig::new().with_latency(Duration::from_millis(50), Duration::ZERO);
/// let mut link = Link::new(config, 42);
/// link.send(t0, b"hello");
/// assert_eq!(link.next_delivery(), Some(t0 + Duration::from_millis(50)));
/// assert_eq!(link.poll(t0), None);
/// let mut buf = Vec::new();
/// assert!(link.poll_into(t0 + Duration::from_millis(50), &mut buf));
/// assert_eq!(buf, b"hello");
/// ```
#[derive(Debug)]
pub struct Link {
    core: LinkCore,
    queue: Queue,
}

impl Link {
    /// Creates a link with `config` (clamped with [`LinkConfig::sanitized`]) and a PRNG
    /// seeded with `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            core: LinkCore::new(&config, seed),
            queue: Queue::default(),
        }
    }

    /// The current (sanitized) configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.core.config
    }

    /// Replaces the configuration (clamped with [`LinkConfig::sanitized`]).
    ///
    /// Applies to datagrams sent from now on; datagrams already held keep their delivery
    /// times, even if the new `max_queue` is smaller than the number held.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.core.config = config.sanitized();
    }

    /// Hands a datagram to the link at time `now`; the payload is copied.
    ///
    /// `now` should not decrease between calls (FIFO ordering relies on it), but a
    /// decreasing `now` is not an error.
    pub fn send(&mut self, now: Instant, datagram: &[u8]) {
        let schedule = self.core.schedule(now, datagram.len());
        self.queue.push_scheduled(schedule, 0, datagram);
    }

    /// Removes and returns the earliest datagram due at or before `now`, if any.
    ///
    /// Hand the buffer back with [`Link::recycle`] to avoid allocations, or use
    /// [`Link::poll_into`].
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        let entry = self.queue.pop_due(now)?;
        self.core.delivered();
        Some(entry.data)
    }

    /// Like [`Link::poll`], but swaps the payload into `out` (replacing its contents) and
    /// keeps `out`'s previous buffer for reuse. Returns whether a datagram was delivered;
    /// `out` is untouched otherwise.
    pub fn poll_into(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        match self.queue.pop_due(now) {
            Some(entry) => {
                self.core.delivered();
                self.queue.swap_out(entry, out);
                true
            }
            None => false,
        }
    }

    /// Returns a buffer (for example one from [`Link::poll`]) to the pool.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.queue.recycle(buf);
    }

    /// When the earliest held datagram is due, or `None` if nothing is held.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.next_delivery()
    }

    /// Number of datagrams currently held.
    pub fn queued(&self) -> usize {
        self.queue.heap.len()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> LinkStats {
        self.core.stats
    }
}

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
fn addr_words(addr: &SocketAddr) -> [u64; 3] {
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
fn link_seed(seed: u64, from: &SocketAddr, to: &SocketAddr) -> u64 {
    let mut h = mix64(seed ^ 0x6E65_7473_696D_6C6B);
    for word in addr_words(from).into_iter().chain(addr_words(to)) {
        h = mix64(h.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ word);
    }
    h
}

/// One directed link of a [`Network`].
#[derive(Debug)]
struct NetLink {
    from: SocketAddr,
    to: SocketAddr,
    /// Configured with [`Network::set_link`], so it does not follow the default.
    explicit: bool,
    core: LinkCore,
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
    seed: u64,
    default: LinkConfig,
    links: Vec<NetLink>,
    index: BTreeMap<(SocketAddr, SocketAddr), usize>,
    queue: Queue,
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

    fn link_index(&mut self, from: SocketAddr, to: SocketAddr) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    fn base() -> Instant {
        // One fixed base per test; only offsets from it are compared.
        Instant::now()
    }

    fn payload(id: u64) -> [u8; 8] {
        id.to_le_bytes()
    }

    fn id_of(data: &[u8]) -> u64 {
        u64::from_le_bytes(data[..8].try_into().unwrap())
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Sends `n` datagrams one per `gap` and drains the link, returning
    /// `(id, send offset, delivery offset)` for every delivery, in delivery order.
    fn run_link(link: &mut Link, n: u64, gap: Duration) -> Vec<(u64, Duration, Duration)> {
        let t0 = base();
        let mut trace = Vec::new();
        let mut sent_at = Vec::new();
        let mut buf = Vec::new();
        let mut drain = |link: &mut Link, now: Instant, sent_at: &Vec<Duration>| {
            while link.poll_into(now, &mut buf) {
                let id = id_of(&buf);
                trace.push((id, sent_at[id as usize], now - t0));
            }
        };
        for id in 0..n {
            let now = t0 + gap * id as u32;
            // Deliver everything due before this send.
            while let Some(t) = link.next_delivery().filter(|&t| t <= now) {
                drain(link, t, &sent_at);
            }
            sent_at.push(now - t0);
            link.send(now, &payload(id));
        }
        while let Some(t) = link.next_delivery() {
            drain(link, t, &sent_at);
        }
        trace
    }

    fn lossy() -> LinkConfig {
        LinkConfig::new()
            .with_loss(0.2)
            .with_duplicate(0.05)
            .with_reorder(0.1, 25 * MS)
            .with_latency(50 * MS, 30 * MS)
    }

    #[test]
    fn rng_is_deterministic_and_seed_sensitive() {
        let a: Vec<u64> = {
            let mut r = SimRng::new(1);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SimRng::new(1);
            (0..100).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = SimRng::new(2);
            (0..100).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Seed 0 is fine too.
        let mut z = SimRng::new(0);
        assert_ne!(z.next_u64(), z.next_u64());
    }

    #[test]
    fn rng_known_answer() {
        // splitmix64's first output for state 0 is a well-known constant.
        let mut sm = 0u64;
        assert_eq!(splitmix64(&mut sm), 0xE220_A839_7B1D_CDAF);
        // xoshiro256** reference vector for state [1, 2, 3, 4].
        let mut r = SimRng { s: [1, 2, 3, 4] };
        let expected: [u64; 10] = [
            11520,
            0,
            1509978240,
            1215971899390074240,
            1216172134540287360,
            607988272756665600,
            16172922978634559625,
            8476171486693032832,
            10595114339597558777,
            2904607092377533576,
        ];
        for e in expected {
            assert_eq!(r.next_u64(), e);
        }
    }

    #[test]
    fn rng_ranges() {
        let mut r = SimRng::new(99);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        assert!((sum / 10_000.0 - 0.5).abs() < 0.02);
        let mut hist = [0u32; 7];
        for _ in 0..70_000 {
            let v = r.range_u64(10, 17);
            assert!((10..17).contains(&v));
            hist[(v - 10) as usize] += 1;
        }
        for count in hist {
            assert!((9_000..11_000).contains(&count), "{hist:?}");
        }
        assert_eq!(r.range_u64(5, 5), 5);
        assert_eq!(r.range_u64(6, 5), 6);
        assert!(r.range_u64(0, u64::MAX) < u64::MAX);
        for _ in 0..1000 {
            assert!(!r.chance(0.0));
            assert!(!r.chance(-1.0));
            assert!(!r.chance(f64::NAN));
            assert!(r.chance(1.0));
            assert!(r.chance(2.0));
        }
    }

    #[test]
    fn config_validate_and_sanitize() {
        assert_eq!(LinkConfig::default().validate(), Ok(()));
        assert_eq!(lossy().validate(), Ok(()));
        assert!(matches!(
            LinkConfig::new().with_loss(1.5).validate(),
            Err(LinkConfigError::Probability { field: "loss", .. })
        ));
        assert!(matches!(
            LinkConfig::new().with_duplicate(f64::NAN).validate(),
            Err(LinkConfigError::Probability {
                field: "duplicate",
                ..
            })
        ));
        assert!(matches!(
            LinkConfig::new().with_reorder(-0.1, MS).validate(),
            Err(LinkConfigError::Probability {
                field: "reorder",
                ..
            })
        ));
        assert!(matches!(
            LinkConfig::new()
                .with_latency(MAX_DELAY + MS, Duration::ZERO)
                .validate(),
            Err(LinkConfigError::DelayTooLarge {
                field: "latency",
                ..
            })
        ));
        assert_eq!(
            LinkConfig::new().with_bandwidth(0).validate(),
            Err(LinkConfigError::ZeroBandwidth)
        );

        let wild = LinkConfig {
            loss: 7.0,
            duplicate: f64::NAN,
            reorder: -3.0,
            latency: Duration::from_secs(1 << 40),
            jitter: Duration::MAX,
            reorder_delay: MAX_DELAY * 2,
            bandwidth: Some(0),
            max_queue: 3,
        };
        let s = wild.sanitized();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!((s.loss, s.duplicate, s.reorder), (1.0, 0.0, 0.0));
        assert_eq!(
            (s.latency, s.jitter, s.reorder_delay),
            (MAX_DELAY, MAX_DELAY, MAX_DELAY)
        );
        assert_eq!((s.bandwidth, s.max_queue), (None, 3));
        let link = Link::new(wild, 1);
        assert_eq!(link.config(), &s);
    }

    #[test]
    fn perfect_link_delivers_immediately_in_order() {
        let mut link = Link::new(LinkConfig::default(), 5);
        let t0 = base();
        for id in 0..100 {
            link.send(t0, &payload(id));
        }
        assert_eq!(link.next_delivery(), Some(t0));
        for id in 0..100 {
            assert_eq!(id_of(&link.poll(t0).unwrap()), id);
        }
        assert_eq!(link.poll(t0), None);
        let s = link.stats();
        assert_eq!((s.sent, s.delivered, s.queued), (100, 100, 0));
        assert!(s.is_balanced());
    }

    #[test]
    fn same_seed_same_trace_different_seed_different_trace() {
        let a = run_link(&mut Link::new(lossy(), 11), 2_000, MS);
        let b = run_link(&mut Link::new(lossy(), 11), 2_000, MS);
        let c = run_link(&mut Link::new(lossy(), 12), 2_000, MS);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn loss_rate_is_close_to_configured() {
        let mut link = Link::new(LinkConfig::new().with_loss(0.3), 3);
        let trace = run_link(&mut link, 10_000, MS);
        let s = link.stats();
        let rate = s.dropped_loss as f64 / 10_000.0;
        assert!((0.25..=0.35).contains(&rate), "loss rate {rate}");
        assert_eq!(trace.len() as u64, s.delivered);
        assert_eq!(s.delivered + s.dropped_loss, 10_000);
        assert!(s.is_balanced());
    }

    #[test]
    fn duplication_rate_is_close_to_configured() {
        let mut link = Link::new(LinkConfig::new().with_duplicate(0.1), 4);
        let trace = run_link(&mut link, 10_000, MS);
        let s = link.stats();
        let rate = s.duplicated as f64 / 10_000.0;
        assert!((0.08..=0.12).contains(&rate), "duplication rate {rate}");
        assert_eq!(s.delivered, 10_000 + s.duplicated);
        assert_eq!(trace.len() as u64, s.delivered);
        // Every id arrives once or twice.
        let mut seen = vec![0u8; 10_000];
        for (id, _, _) in trace {
            seen[id as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n == 1 || n == 2));
        assert_eq!(
            seen.iter().filter(|&&n| n == 2).count() as u64,
            s.duplicated
        );
    }

    #[test]
    fn latency_and_jitter_bounds_are_respected() {
        let config = LinkConfig::new()
            .with_latency(50 * MS, 30 * MS)
            .with_reorder(0.1, 40 * MS)
            .with_duplicate(0.05);
        let mut link = Link::new(config, 8);
        let trace = run_link(&mut link, 5_000, MS);
        let (mut min, mut max) = (Duration::MAX, Duration::ZERO);
        for &(_, sent, delivered) in &trace {
            let delay = delivered - sent;
            assert!(delay >= 20 * MS, "{delay:?}");
            assert!(delay <= 120 * MS, "{delay:?}");
            min = min.min(delay);
            max = max.max(delay);
        }
        // The whole range is used.
        assert!(min < 22 * MS, "{min:?}");
        assert!(max > 110 * MS, "{max:?}");
        assert!(link.stats().reordered > 0);
    }

    #[test]
    fn jitter_larger_than_latency_never_goes_negative() {
        let config = LinkConfig::new().with_latency(5 * MS, 20 * MS);
        let mut link = Link::new(config, 9);
        let trace = run_link(&mut link, 2_000, MS);
        let mut zero = 0;
        for &(_, sent, delivered) in &trace {
            assert!(delivered >= sent);
            assert!(delivered - sent <= 25 * MS);
            zero += usize::from(delivered == sent);
        }
        assert!(zero > 0);
    }

    #[test]
    fn fifo_without_jitter_or_reorder() {
        let config = LinkConfig::new()
            .with_loss(0.2)
            .with_duplicate(0.1)
            .with_latency(50 * MS, Duration::ZERO);
        let mut link = Link::new(config, 10);
        // Several datagrams per millisecond, including equal send times.
        let t0 = base();
        let mut last = None;
        let mut now = t0;
        for id in 0..5_000u64 {
            if id % 3 == 0 {
                now += MS;
            }
            link.send(now, &payload(id));
            while let Some(d) = link.poll(now) {
                let id = id_of(&d);
                assert!(last.is_none_or(|l| id >= l), "{id} after {last:?}");
                last = Some(id);
                link.recycle(d);
            }
        }
        while let Some(t) = link.next_delivery() {
            let d = link.poll(t).unwrap();
            let id = id_of(&d);
            assert!(last.is_none_or(|l| id >= l));
            last = Some(id);
        }
        assert_eq!(link.stats().reordered, 0);
    }

    #[test]
    fn reordering_is_observed() {
        let config = LinkConfig::new()
            .with_latency(10 * MS, Duration::ZERO)
            .with_reorder(0.1, 20 * MS);
        let mut link = Link::new(config, 13);
        let trace = run_link(&mut link, 2_000, MS);
        let inversions = trace.windows(2).filter(|w| w[1].0 < w[0].0).count();
        assert!(inversions > 50, "{inversions}");
        let s = link.stats();
        assert!((150..=250).contains(&s.reordered), "{}", s.reordered);
        assert_eq!(s.delivered, 2_000);
    }

    #[test]
    fn queue_bound_drops_are_counted() {
        let config = LinkConfig::new()
            .with_latency(100 * MS, Duration::ZERO)
            .with_max_queue(10);
        let mut link = Link::new(config, 14);
        let t0 = base();
        for id in 0..25 {
            link.send(t0, &payload(id));
        }
        let s = link.stats();
        assert_eq!((s.sent, s.queued, s.dropped_queue), (25, 10, 15));
        assert_eq!(link.queued(), 10);
        assert!(s.is_balanced());
        let t1 = t0 + 100 * MS;
        let mut ids = Vec::new();
        while let Some(d) = link.poll(t1) {
            ids.push(id_of(&d));
        }
        assert_eq!(ids, (0..10).collect::<Vec<_>>());
        // Room again.
        link.send(t1, &payload(99));
        assert_eq!(link.stats().dropped_queue, 15);
        assert_eq!(link.queued(), 1);

        // A duplicate copy needs room too.
        let mut link = Link::new(LinkConfig::new().with_duplicate(1.0).with_max_queue(3), 15);
        link.send(t0, b"a");
        link.send(t0, b"b");
        let s = link.stats();
        assert_eq!(
            (s.sent, s.duplicated, s.queued, s.dropped_queue),
            (2, 2, 3, 1)
        );
        assert!(s.is_balanced());

        let mut link = Link::new(LinkConfig::new().with_max_queue(0), 15);
        link.send(t0, b"a");
        assert_eq!(link.stats().dropped_queue, 1);
        assert_eq!(link.next_delivery(), None);
    }

    #[test]
    fn nothing_is_delivered_early() {
        let config = lossy().with_latency(30 * MS, 20 * MS);
        let mut link = Link::new(config, 16);
        let t0 = base();
        let mut sent_at = Vec::new();
        let mut buf = Vec::new();
        let mut delivered = 0;
        // Step virtual time in 1 ms ticks, polling at every tick.
        for tick in 0..3_000u32 {
            let now = t0 + MS * tick;
            if tick < 2_000 {
                sent_at.push(now);
                link.send(now, &payload(u64::from(tick)));
            }
            while link.poll_into(now, &mut buf) {
                let sent = sent_at[id_of(&buf) as usize];
                assert!(now - sent >= 10 * MS, "early: {:?}", now - sent);
                delivered += 1;
            }
            if let Some(next) = link.next_delivery() {
                assert!(next > now);
            }
        }
        assert_eq!(link.stats().delivered, delivered);
        assert_eq!(link.queued(), 0);
    }

    #[test]
    fn bandwidth_adds_serialization_delay() {
        // 1000 bytes at 100 kB/s take 10 ms each.
        let config = LinkConfig::new()
            .with_latency(5 * MS, Duration::ZERO)
            .with_bandwidth(100_000);
        let mut link = Link::new(config, 17);
        let t0 = base();
        let data = [0u8; 1000];
        for _ in 0..3 {
            link.send(t0, &data);
        }
        let mut times = Vec::new();
        while let Some(t) = link.next_delivery() {
            assert!(link.poll(t).is_some());
            times.push(t - t0);
        }
        assert_eq!(times, vec![15 * MS, 25 * MS, 35 * MS]);
        // After the link went idle, serialization starts at `now` again.
        let t1 = t0 + Duration::from_secs(1);
        link.send(t1, &data);
        assert_eq!(link.next_delivery(), Some(t1 + 15 * MS));
    }

    #[test]
    fn buffers_are_recycled() {
        let mut link = Link::new(LinkConfig::default(), 18);
        let t0 = base();
        let mut out = Vec::with_capacity(64);
        let ptr = out.as_ptr();
        link.send(t0, b"one");
        assert!(link.poll_into(t0, &mut out));
        // `out`'s old allocation went to the pool and is used by the next send.
        link.send(t0, b"two");
        let two = link.poll(t0).unwrap();
        assert_eq!(two, b"two");
        assert_eq!(two.as_ptr(), ptr);
        let ptr2 = two.as_ptr();
        link.recycle(two);
        link.send(t0, b"three");
        let three = link.poll(t0).unwrap();
        assert_eq!(three.as_ptr(), ptr2);
        assert_eq!(out, b"one");
    }

    #[test]
    fn set_config_applies_to_later_datagrams() {
        let mut link = Link::new(LinkConfig::new().with_latency(100 * MS, Duration::ZERO), 19);
        let t0 = base();
        link.send(t0, b"slow");
        link.set_config(LinkConfig::new().with_latency(10 * MS, Duration::ZERO));
        link.send(t0, b"fast");
        assert_eq!(link.poll(t0 + 10 * MS).unwrap(), b"fast");
        assert_eq!(link.poll(t0 + 99 * MS), None);
        assert_eq!(link.poll(t0 + 100 * MS).unwrap(), b"slow");
        link.set_config(LinkConfig::new().with_loss(1.0));
        link.send(t0, b"lost");
        assert_eq!(link.stats().dropped_loss, 1);
    }

    #[test]
    fn network_routes_to_destination() {
        let a = addr("10.0.0.1:1");
        let b = addr("10.0.0.2:2");
        let c = addr("[::1]:3");
        let mut net = Network::new(20);
        net.set_default_link(LinkConfig::new().with_latency(5 * MS, 2 * MS));
        let t0 = base();
        let pairs = [(a, b), (b, a), (a, c), (c, b), (b, c)];
        for (k, &(from, to)) in pairs.iter().enumerate().cycle().take(500) {
            net.send(t0 + MS * k as u32, from, to, &payload(k as u64));
        }
        let mut n = 0;
        while let Some(t) = net.next_delivery() {
            let d = net.poll(t).unwrap();
            assert_eq!(d.at, t);
            let k = id_of(&d.data) as usize;
            assert_eq!((d.from, d.to), pairs[k]);
            net.recycle(d.data);
            n += 1;
        }
        assert_eq!(n, 500);
        for &(from, to) in &pairs {
            let s = net.link_stats(from, to).unwrap();
            assert_eq!((s.sent, s.delivered), (100, 100));
        }
        assert_eq!(net.link_stats(c, a), None);
        assert_eq!(net.total_stats().delivered, 500);
        assert_eq!(net.links().count(), 5);
    }

    #[test]
    fn network_respects_per_direction_config() {
        let a = addr("10.0.0.1:1");
        let b = addr("10.0.0.2:2");
        let c = addr("10.0.0.3:3");
        let mut net = Network::new(21);
        net.set_link(a, b, LinkConfig::new().with_loss(1.0));
        net.set_link(b, a, LinkConfig::new().with_latency(7 * MS, Duration::ZERO));
        let t0 = base();
        for k in 0..100 {
            net.send(t0, a, b, &payload(k));
            net.send(t0, b, a, &payload(k));
            net.send(t0, a, c, &payload(k));
        }
        let mut got = Vec::new();
        while let Some(t) = net.next_delivery() {
            let d = net.poll(t).unwrap();
            got.push((d.from, d.to, d.at - t0));
        }
        assert_eq!(got.iter().filter(|g| g.1 == b).count(), 0);
        assert!(got.iter().filter(|g| g.1 == a).all(|g| g.2 == 7 * MS));
        assert!(got
            .iter()
            .filter(|g| g.1 == c)
            .all(|g| g.2 == Duration::ZERO));
        assert_eq!(got.len(), 200);
        assert_eq!(net.link_stats(a, b).unwrap().dropped_loss, 100);
        // Default changes reach links not set explicitly, but not explicit ones.
        net.set_default_link(LinkConfig::new().with_loss(0.5));
        assert_eq!(net.link_config(a, c).loss, 0.5);
        assert_eq!(net.link_config(c, a).loss, 0.5);
        assert_eq!(net.link_config(a, b).loss, 1.0);
        net.reset_link(a, b);
        assert_eq!(net.link_config(a, b).loss, 0.5);
        net.set_link_pair(a, c, LinkConfig::new().with_duplicate(1.0));
        assert_eq!(net.link_config(c, a).duplicate, 1.0);
        assert_eq!(net.default_link().duplicate, 0.0);
    }

    #[test]
    fn network_links_are_independent_and_deterministic() {
        let a = addr("10.0.0.1:1");
        let b = addr("10.0.0.2:2");
        let c = addr("10.0.0.3:3");
        let d = addr("10.0.0.4:4");
        let trace = |extra: bool, seed: u64| {
            let mut net = Network::new(seed);
            net.set_default_link(lossy());
            let t0 = base();
            let mut out = Vec::new();
            for k in 0..1_000u64 {
                let now = t0 + MS * k as u32;
                if extra {
                    net.send(now, c, d, &payload(k));
                    net.send(now, c, d, &payload(k));
                }
                net.send(now, a, b, &payload(k));
                while let Some(del) = net.poll(now) {
                    if del.from == a {
                        out.push((id_of(&del.data), del.at - t0));
                    }
                    net.recycle(del.data);
                }
            }
            while let Some(t) = net.next_delivery() {
                let del = net.poll(t).unwrap();
                if del.from == a {
                    out.push((id_of(&del.data), del.at - t0));
                }
            }
            out
        };
        let plain = trace(false, 1);
        assert_eq!(plain, trace(false, 1));
        assert_eq!(plain, trace(true, 1));
        assert_ne!(plain, trace(false, 2));
        // Direction matters for the seed.
        assert_ne!(link_seed(1, &a, &b), link_seed(1, &b, &a));
    }

    #[test]
    fn network_delivers_in_global_time_order_with_stable_ties() {
        let a = addr("10.0.0.1:1");
        let b = addr("10.0.0.2:2");
        let c = addr("10.0.0.3:3");
        let mut net = Network::new(22);
        net.set_link(
            a,
            b,
            LinkConfig::new().with_latency(10 * MS, Duration::ZERO),
        );
        net.set_link(c, b, LinkConfig::new().with_latency(5 * MS, Duration::ZERO));
        let t0 = base();
        net.send(t0, a, b, b"a0"); // due 10
        net.send(t0 + 5 * MS, c, b, b"c0"); // due 10, scheduled later
        net.send(t0 + MS, c, b, b"c1"); // due 6
        let mut buf = Vec::new();
        let t = t0 + 20 * MS;
        let mut order = Vec::new();
        while let Some((from, to)) = net.poll_into(t, &mut buf) {
            assert_eq!(to, b);
            order.push((from, buf.clone()));
        }
        assert_eq!(
            order,
            vec![
                (c, b"c1".to_vec()),
                (a, b"a0".to_vec()),
                (c, b"c0".to_vec())
            ]
        );
        assert_eq!(net.queued(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Send { advance_us: u32, len: usize },
        Poll { advance_us: u32 },
        Reconfigure(LinkConfig),
    }

    fn prob() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64, -1.0..2.0f64]
    }

    fn config() -> impl Strategy<Value = LinkConfig> {
        (
            (prob(), prob(), prob()),
            (0u64..200_000, 0u64..200_000, 0u64..100_000),
            proptest::option::of(0u64..10_000_000),
            0usize..40,
        )
            .prop_map(
                |((loss, duplicate, reorder), (lat, jit, rd), bandwidth, max_queue)| LinkConfig {
                    loss,
                    duplicate,
                    reorder,
                    latency: Duration::from_micros(lat),
                    jitter: Duration::from_micros(jit),
                    reorder_delay: Duration::from_micros(rd),
                    bandwidth,
                    max_queue,
                },
            )
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u32..5_000, 0usize..1500).prop_map(|(advance_us, len)| Op::Send { advance_us, len }),
            3 => (0u32..50_000).prop_map(|advance_us| Op::Poll { advance_us }),
            1 => config().prop_map(Op::Reconfigure),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn prop_link_accounting_balances(
            initial in config(),
            seed in any::<u64>(),
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let t0 = base();
            let mut now = t0;
            let mut link = Link::new(initial, seed);
            let mut buf = Vec::new();
            for op in ops {
                match op {
                    Op::Send { advance_us, len } => {
                        now += Duration::from_micros(u64::from(advance_us));
                        let data = vec![0xA5; len];
                        link.send(now, &data);
                    }
                    Op::Poll { advance_us } => {
                        now += Duration::from_micros(u64::from(advance_us));
                        while link.poll_into(now, &mut buf) {}
                        prop_assert!(link.next_delivery().is_none_or(|t| t > now));
                    }
                    Op::Reconfigure(config) => link.set_config(config),
                }
                let s = link.stats();
                prop_assert!(s.is_balanced(), "{:?}", s);
                prop_assert_eq!(s.queued, link.queued() as u64);
            }
            while let Some(t) = link.next_delivery() {
                prop_assert!(link.poll(t).is_some());
            }
            let s = link.stats();
            prop_assert!(s.is_balanced(), "{:?}", s);
            prop_assert_eq!(s.queued, 0);
            prop_assert_eq!(s.sent + s.duplicated, s.delivered + s.dropped());
        }

        #[test]
        fn prop_network_accounting_balances(
            default in config(),
            special in config(),
            seed in any::<u64>(),
            sends in proptest::collection::vec((0usize..4, 0usize..4, 0u32..5_000, 0usize..600), 0..200),
        ) {
            let addrs = [
                addr("10.0.0.1:1"),
                addr("10.0.0.2:2"),
                addr("[::1]:3"),
                addr("[::2]:4"),
            ];
            let mut net = Network::new(seed);
            net.set_default_link(default);
            net.set_link(addrs[0], addrs[1], special);
            let t0 = base();
            let mut now = t0;
            let mut last_at = t0;
            for (from, to, advance_us, len) in sends {
                now += Duration::from_micros(u64::from(advance_us));
                net.send(now, addrs[from], addrs[to], &vec![1; len]);
                while let Some(d) = net.poll(now) {
                    prop_assert!(d.at <= now);
                    prop_assert!(d.at >= last_at);
                    last_at = d.at;
                    net.recycle(d.data);
                }
                let total = net.total_stats();
                prop_assert!(total.is_balanced(), "{:?}", total);
                prop_assert_eq!(total.queued, net.queued() as u64);
            }
            while let Some(t) = net.next_delivery() {
                let d = net.poll(t).unwrap();
                prop_assert!(d.at >= last_at);
                last_at = d.at;
            }
            for (_, _, s) in net.links() {
                prop_assert!(s.is_balanced(), "{:?}", s);
                prop_assert_eq!(s.queued, 0);
            }
        }
    }
}
