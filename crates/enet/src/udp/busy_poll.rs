//! Adaptive busy polling: the policy that decides whether [`super::UdpHost::service`] spins
//! on the socket for a short while before it sleeps on it. Pure bookkeeping, no I/O: the
//! spin itself is in `service`.

use std::time::Duration;

/// Adaptive busy polling: before [`super::UdpHost::service`] sleeps on the socket, it may poll it
/// without sleeping for a short while, as long as such spins keep finding datagrams.
///
/// Putting a process to sleep and waking it again costs both ends several microseconds of
/// scheduler work (and the sender an inter-processor wake-up); under dense traffic, where the
/// next datagram usually arrives within microseconds, spinning for it is cheaper and faster.
/// Spins that come back empty turn spinning off; an idle host then only probes with one spin
/// every [`BusyPoll::PROBE_EVERY`] sleeps, so sparse traffic costs next to nothing. A spin
/// that the scheduler interrupts (the CPU is wanted by another thread) stops spinning for a
/// long while: spinning only pays on a CPU the host has to itself.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(super) struct BusyPoll {
    /// Longest spin; zero disables busy polling.
    pub(super) limit: Duration,
    /// Moving average of spin outcomes, 0 (all empty) to 256 (all found a datagram). A new
    /// host starts as after a useful probe, so that a short burst of traffic (a transfer of
    /// a few milliseconds) benefits too; two empty spins stop it.
    score: u32,
    /// Sleeps since the last spin.
    since_spin: u32,
    /// Sleeps left before spinning may resume after a spin was preempted.
    backoff: u32,
    /// Events handed to the caller since the last spin (what that spin led to).
    events_since_spin: u32,
    /// Moving average (weight 1/8) of events per spin, in sixteenths.
    events_per_spin: u32,
}

#[cfg_attr(not(unix), allow(dead_code))]
impl BusyPoll {
    /// Spinning continues while the score stays at or above this (75 % of spins useful).
    const KEEP: u32 = 192;
    /// A probe that finds a datagram restarts spinning with this score (87.5 %): a couple of
    /// empty spins in a row stop it again.
    const RESTART: u32 = 224;
    /// While not spinning, one probe spin every this many sleeps.
    const PROBE_EVERY: u32 = 256;
    /// Sleeps without any spin after a spin was preempted.
    const PREEMPTED_BACKOFF: u32 = 4096;
    /// A gap this long between two probes of one spin means the scheduler took the CPU
    /// away in between (a probe takes a microsecond or two).
    pub(super) const PREEMPTION_GAP: Duration = Duration::from_micros(200);
    /// A spin that finds a datagram counts as useful only while spins lead to at least two
    /// events on average (in sixteenths): one message per spin (many sparse clients whose
    /// datagrams trickle in microseconds apart) costs more CPU than the sleep it saves and
    /// takes batching away, while a ping-pong of batches gains from it.
    const MIN_EVENTS_PER_SPIN: u32 = 2 * 16;

    pub(super) fn new(limit: Duration) -> BusyPoll {
        BusyPoll {
            limit,
            score: Self::RESTART,
            since_spin: 0,
            backoff: 0,
            events_since_spin: 0,
            // A new host starts as if spins were paying (four events each).
            events_per_spin: 4 * 16,
        }
    }

    /// Records an event handed to the caller.
    pub(super) fn record_event(&mut self) {
        self.events_since_spin = self.events_since_spin.saturating_add(1);
    }

    /// How long to spin before sleeping this time.
    pub(super) fn budget(&self) -> Duration {
        if !self.limit.is_zero()
            && self.backoff == 0
            && (self.score >= Self::KEEP || self.since_spin >= Self::PROBE_EVERY)
        {
            self.limit
        } else {
            Duration::ZERO
        }
    }

    /// Records a spin's outcome: whether it found a datagram. It counts as useful only while
    /// spins lead to enough events ([`BusyPoll::MIN_EVENTS_PER_SPIN`]); the events since the
    /// previous spin are what that one led to.
    pub(super) fn record_spin(&mut self, found: bool) {
        let events = std::mem::take(&mut self.events_since_spin).min(1 << 16);
        self.events_per_spin = self.events_per_spin - self.events_per_spin / 8 + events * 2;
        let found = found && self.events_per_spin >= Self::MIN_EVENTS_PER_SPIN;
        let probing = self.score < Self::KEEP;
        self.since_spin = 0;
        // Exponential moving average with weight 1/8.
        self.score = self.score - self.score / 8 + if found { 32 } else { 0 };
        if probing && found {
            self.score = self.score.max(Self::RESTART);
        }
    }

    /// Records a sleep that was not preceded by a spin.
    pub(super) fn record_sleep(&mut self) {
        self.since_spin = self.since_spin.saturating_add(1);
        self.backoff = self.backoff.saturating_sub(1);
    }

    /// Records that a spin was preempted: another runnable thread wants this CPU (the
    /// process shares its cores, with the load generator of a benchmark, say), so spinning
    /// takes time from it rather than saving any. No spin for the next
    /// [`BusyPoll::PREEMPTED_BACKOFF`] sleeps, then the probes decide again.
    pub(super) fn record_preempted(&mut self) {
        self.backoff = Self::PREEMPTED_BACKOFF;
        self.score = 0;
        self.since_spin = 0;
    }
}

/// Default longest busy-poll spin (see [`super::UdpHost::set_busy_poll_limit`]).
pub const DEFAULT_BUSY_POLL_LIMIT: Duration = Duration::from_micros(50);

#[cfg(test)]
mod tests {
    use super::BusyPoll;
    use std::time::Duration;

    #[test]
    fn a_new_host_sleeps_and_probes_now_and_then() {
        let mut b = BusyPoll::new(Duration::from_micros(50));
        let mut spins = 0;
        for _ in 0..10 * BusyPoll::PROBE_EVERY {
            if b.budget().is_zero() {
                b.record_sleep();
            } else {
                spins += 1;
                b.record_spin(false);
            }
        }
        // Two spins at the start, then empty probes never turn spinning on: one probe per
        // PROBE_EVERY sleeps.
        assert!((11..=12).contains(&spins), "{spins} spins");
    }

    #[test]
    fn useful_spins_keep_spinning_and_empty_ones_stop_it() {
        let mut b = BusyPoll::new(Duration::from_micros(50));
        assert!(!b.budget().is_zero(), "a new host tries spinning");
        b.record_spin(true);
        for _ in 0..100 {
            assert_eq!(b.budget(), Duration::from_micros(50), "dense traffic spins");
            // Each spin leads to a batch of events.
            for _ in 0..5 {
                b.record_event();
            }
            b.record_spin(true);
        }
        // One empty spin in a while is tolerated...
        b.record_spin(false);
        assert!(!b.budget().is_zero());
        // ...a run of them is not.
        let mut empty = 1;
        while !b.budget().is_zero() {
            b.record_spin(false);
            empty += 1;
            assert!(empty < 10, "spinning never stopped");
        }
        // Half-empty spins (sparse traffic) do not keep it going either: beyond the probes
        // and the few spins after a useful probe, the host sleeps.
        let mut spins = 0;
        let mut useful = false;
        for _ in 0..10_000 {
            if b.budget().is_zero() {
                b.record_sleep();
            } else {
                spins += 1;
                useful = !useful;
                b.record_spin(useful);
            }
        }
        assert!(spins < 400, "{spins} spins in 10000 waits");
    }

    #[test]
    fn a_preempted_spin_stops_spinning_for_a_long_while() {
        let mut b = BusyPoll::new(Duration::from_micros(50));
        for _ in 0..10 {
            for _ in 0..5 {
                b.record_event();
            }
            b.record_spin(true);
        }
        assert!(!b.budget().is_zero());
        b.record_preempted();
        for _ in 0..BusyPoll::PREEMPTED_BACKOFF {
            assert!(
                b.budget().is_zero(),
                "no spin, not even a probe, while backing off"
            );
            b.record_sleep();
        }
        // Then a probe, and useful spins bring spinning back.
        assert!(!b.budget().is_zero(), "probing again after the back-off");
        for _ in 0..5 {
            b.record_event();
        }
        b.record_spin(true);
        assert!(!b.budget().is_zero());
    }

    #[test]
    fn spins_that_lead_to_one_event_each_stop_and_batches_keep_spinning() {
        // Every spin finds a datagram, but each leads to a single event (sparse clients
        // whose datagrams trickle in): spinning stops.
        let mut b = BusyPoll::new(Duration::from_micros(50));
        let mut spins = 0;
        for _ in 0..10_000 {
            if b.budget().is_zero() {
                b.record_sleep();
            } else {
                spins += 1;
                b.record_spin(true);
            }
            b.record_event();
        }
        assert!(
            spins < 2_000,
            "{spins} spins in 10000 waits at one event each"
        );
        // Spins alternately leading to no event (a datagram of acknowledgements) and to a
        // batch of five keep spinning: the average counts.
        let mut b = BusyPoll::new(Duration::from_micros(50));
        for k in 0..1_000 {
            assert!(!b.budget().is_zero(), "stopped at spin {k}");
            if k % 2 == 1 {
                for _ in 0..5 {
                    b.record_event();
                }
            }
            b.record_spin(true);
        }
    }

    #[test]
    fn a_zero_limit_never_spins() {
        let mut b = BusyPoll::new(Duration::ZERO);
        for _ in 0..4 * BusyPoll::PROBE_EVERY {
            assert!(b.budget().is_zero());
            b.record_sleep();
        }
    }
}
