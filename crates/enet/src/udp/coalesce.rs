//! Receive coalescing: the policy that decides whether [`super::UdpHost::service`], about
//! to sleep on an empty socket, first sleeps a short while without listening, so that the
//! datagrams of many peers arriving meanwhile are read, handled and answered as one batch.
//! Pure bookkeeping, no I/O: the sleep itself is in `service`.
//!
//! The network-card counterpart is interrupt moderation (`rx-usecs`). A server with
//! thousands of players, each sending a few dozen datagrams a second, receives a datagram
//! every few microseconds: woken for each, it pays a sleep, a wake-up, a read and a send
//! per datagram, about half of its CPU. Sleeping for up to [`DEFAULT_COALESCE_LIMIT`] first
//! lets tens of datagrams gather, read with one `recvmmsg` and answered with one `sendmmsg`,
//! at a cost of at most that much latency, which such a server's players (20–60 updates a
//! second) cannot notice. It applies only where it cannot slow anyone down: many connected
//! peers, a high total rate and a low rate per peer (open-loop traffic, where a peer does
//! not wait for our reply before sending again). One fast peer in a request-reply loop
//! (a transfer, a benchmark) never sees it, and a busy-polling host does not coalesce.

use std::time::{Duration, Instant};

/// Default longest receive-coalescing sleep (see [`super::UdpHost::set_coalesce_limit`]).
pub const DEFAULT_COALESCE_LIMIT: Duration = Duration::from_micros(200);

/// The receive-coalescing policy of one host.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(super) struct Coalesce {
    /// Longest coalescing sleep; zero disables coalescing.
    pub(super) limit: Duration,
    /// Start of the current measuring window and the datagram count then.
    window_start: Option<(Instant, u64)>,
    /// Datagrams per second received over the last complete window.
    rate: u64,
    /// Waits left without coalescing after a sleep overslept.
    backoff: u32,
}

#[cfg_attr(not(unix), allow(dead_code))]
impl Coalesce {
    /// Length of a measuring window of the receive rate.
    const WINDOW: Duration = Duration::from_millis(10);
    /// Coalescing needs at least this many connected peers: with fewer, a peer is likely
    /// to wait for our replies (a transfer, a request-reply loop), where every microsecond
    /// of delay costs it throughput.
    const MIN_PEERS: usize = 32;
    /// ... and at least this total rate, datagrams per second (one every 100 µs): below
    /// it, a sleep of the limit gathers too few datagrams to save much.
    const MIN_RATE: u64 = 10_000;
    /// ... and at most this rate per connected peer, datagrams per second: game clients
    /// send tens per second; a peer sending hundreds is in a hurry.
    const MAX_RATE_PER_PEER: u64 = 250;
    /// Datagrams a coalescing sleep aims to gather: the sleep is this many datagrams'
    /// worth of the measured rate (at most the limit).
    const TARGET_BATCH: u64 = 64;
    /// A coalescing sleep that lasts this much longer than asked for means the CPUs are
    /// contended (the scheduler ran others before waking us): then every voluntary sleep
    /// adds a scheduling delay on top, the socket's queue grows and the kernel drops.
    const OVERSLEPT: Duration = Duration::from_micros(500);
    /// Waits without coalescing after an oversleep; then it may resume.
    const OVERSLEPT_BACKOFF: u32 = 4096;

    pub(super) fn new(limit: Duration) -> Coalesce {
        Coalesce {
            limit,
            window_start: None,
            rate: 0,
            backoff: 0,
        }
    }

    /// Records the host's datagram count `received` (all read so far) at `now`; completes
    /// a measuring window when one has passed. O(1); called before every sleep.
    pub(super) fn observe(&mut self, now: Instant, received: u64) {
        match self.window_start {
            None => self.window_start = Some((now, received)),
            Some((start, count)) => {
                let elapsed = now.saturating_duration_since(start);
                if elapsed >= Self::WINDOW {
                    let micros = elapsed.as_micros().max(1) as u64;
                    self.rate = received.saturating_sub(count).saturating_mul(1_000_000) / micros;
                    self.window_start = Some((now, received));
                }
            }
        }
    }

    /// The datagram rate of the last measuring window (datagrams per second).
    #[cfg(test)]
    pub(super) fn rate(&self) -> u64 {
        self.rate
    }

    /// How long to sleep before waiting on the socket, given the connected peers: zero
    /// unless coalescing pays (see the module documentation).
    pub(super) fn delay(&mut self, connected_peers: usize) -> Duration {
        if self.backoff > 0 {
            self.backoff -= 1;
            return Duration::ZERO;
        }
        if self.limit.is_zero()
            || connected_peers < Self::MIN_PEERS
            || self.rate < Self::MIN_RATE
            || self.rate > Self::MAX_RATE_PER_PEER.saturating_mul(connected_peers as u64)
        {
            return Duration::ZERO;
        }
        let micros = Self::TARGET_BATCH.saturating_mul(1_000_000) / self.rate;
        self.limit.min(Duration::from_micros(micros))
    }

    /// Records how long a coalescing sleep of `asked` actually took: one that overslept
    /// by [`Coalesce::OVERSLEPT`] stops coalescing for [`Coalesce::OVERSLEPT_BACKOFF`]
    /// waits (the host shares busy CPUs, where waking for each datagram loses less).
    /// Returns whether it overslept.
    pub(super) fn record_sleep(&mut self, asked: Duration, took: Duration) -> bool {
        let overslept = took > asked + Self::OVERSLEPT;
        if overslept {
            self.backoff = Self::OVERSLEPT_BACKOFF;
        }
        overslept
    }
}

#[cfg(test)]
mod tests {
    use super::{Coalesce, DEFAULT_COALESCE_LIMIT};
    use std::time::{Duration, Instant};

    /// Feeds `c` a steady `rate` (datagrams per second) for `ms` milliseconds of virtual
    /// time from `t0`, one observation per millisecond.
    fn feed(c: &mut Coalesce, t0: Instant, rate: u64, ms: u64) {
        for k in 0..=ms {
            c.observe(t0 + Duration::from_millis(k), rate * k / 1000);
        }
    }

    #[test]
    fn many_sparse_peers_coalesce_for_about_a_batch() {
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        let t0 = Instant::now();
        assert_eq!(c.delay(4000), Duration::ZERO, "no rate measured yet");
        // 4,000 clients × 20 Hz, each message and its acknowledgement: 160k datagrams/s.
        feed(&mut c, t0, 160_000, 30);
        assert!((150_000..=170_000).contains(&c.rate()), "{}", c.rate());
        let d = c.delay(4000);
        // 64 datagrams' worth (400 µs), capped at the limit.
        assert!(
            d > Duration::from_micros(150) && d <= DEFAULT_COALESCE_LIMIT,
            "{d:?}"
        );
        // Denser traffic sleeps shorter: the batch is reached sooner.
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        feed(&mut c, t0, 640_000, 30);
        assert!(c.delay(4000) < d, "{:?} vs {d:?}", c.delay(4000));
        // Sparser traffic sleeps at most the limit.
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        feed(&mut c, t0, 20_000, 30);
        assert_eq!(c.delay(500), DEFAULT_COALESCE_LIMIT);
    }

    #[test]
    fn few_peers_fast_peers_or_a_slow_rate_never_coalesce() {
        let t0 = Instant::now();
        // One fast peer (a transfer, a request-reply loop): every microsecond counts.
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        feed(&mut c, t0, 1_000_000, 30);
        assert_eq!(c.delay(1), Duration::ZERO);
        assert_eq!(c.delay(31), Duration::ZERO);
        // 100 peers at 1,000 datagrams/s each: in a hurry.
        feed(&mut c, t0 + Duration::from_millis(40), 100_000, 30);
        assert_eq!(c.delay(100), Duration::ZERO);
        // A slow total rate: a sleep would gather little.
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        feed(&mut c, t0, 5_000, 30);
        assert_eq!(c.delay(1000), Duration::ZERO);
        // Turned off.
        let mut c = Coalesce::new(Duration::ZERO);
        feed(&mut c, t0, 160_000, 30);
        assert_eq!(c.delay(4000), Duration::ZERO);
    }

    #[test]
    fn the_rate_follows_the_traffic() {
        let t0 = Instant::now();
        let mut c = Coalesce::new(DEFAULT_COALESCE_LIMIT);
        feed(&mut c, t0, 160_000, 30);
        assert!(!c.delay(4000).is_zero());
        // A sleep on time changes nothing; one the scheduler delayed stops coalescing for
        // a long while, then it resumes.
        let d = c.delay(4000);
        assert!(!c.record_sleep(d, d + Duration::from_micros(60)));
        assert_eq!(c.delay(4000), d);
        assert!(c.record_sleep(d, d + Duration::from_millis(2)));
        for _ in 0..Coalesce::OVERSLEPT_BACKOFF {
            assert_eq!(c.delay(4000), Duration::ZERO);
        }
        assert_eq!(c.delay(4000), d);
        // The traffic stops: the next window measures nothing and coalescing ends.
        let base = 160_000 * 30 / 1000;
        for k in 31..=60 {
            c.observe(t0 + Duration::from_millis(k), base);
        }
        assert_eq!(c.rate(), 0);
        assert_eq!(c.delay(4000), Duration::ZERO);
    }
}
