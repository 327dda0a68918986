//! One direction of a simulated path: [`LinkConfig`] and its validation, [`LinkStats`], the
//! arrival model (`LinkCore`: loss, bandwidth, latency and jitter, reordering,
//! duplication), and [`Link`], a single conditioned direction with its own queue.

use std::time::{Duration, Instant};

use super::queue::Queue;
use super::rng::SimRng;
use super::MAX_DELAY;

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
/// values; [`Link`] and [`Network`](super::Network) never reject a config and instead
/// *clamp* it with [`LinkConfig::sanitized`] (probabilities to `[0, 1]` with NaN as 0, delays to
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

/// Counters of one link (or, from [`Network::total_stats`](super::Network::total_stats), the
/// sum over links).
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

    pub(super) fn add(&mut self, other: &LinkStats) {
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
pub(super) fn add_time(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(t)
}

/// Arrival times decided for one datagram (and its duplicate, if any).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Schedule {
    pub(super) first: Option<Instant>,
    pub(super) second: Option<Instant>,
}

/// Config, randomness and counters of one direction; shared by [`Link`] and [`Network`].
#[derive(Debug, Clone)]
pub(super) struct LinkCore {
    pub(super) config: LinkConfig,
    pub(super) rng: SimRng,
    pub(super) stats: LinkStats,
    /// When the (bandwidth-limited) link finishes serializing the last accepted datagram.
    pub(super) busy_until: Option<Instant>,
}

impl LinkCore {
    pub(super) fn new(config: &LinkConfig, seed: u64) -> Self {
        Self {
            config: config.sanitized(),
            rng: SimRng::new(seed),
            stats: LinkStats::default(),
            busy_until: None,
        }
    }

    pub(super) fn has_room(&self) -> bool {
        self.stats.queued < self.config.max_queue as u64
    }

    /// Decides the fate of a datagram of `len` bytes sent at `now` and updates counters.
    /// The caller must enqueue one copy per returned time.
    pub(super) fn schedule(&mut self, now: Instant, len: usize) -> Schedule {
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
    pub(super) fn serialize(&mut self, now: Instant, len: usize) -> Instant {
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
    pub(super) fn sample_delay(&mut self) -> Duration {
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

    pub(super) fn delivered(&mut self) {
        self.stats.queued -= 1;
        self.stats.delivered += 1;
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
    pub(super) core: LinkCore,
    pub(super) queue: Queue,
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
