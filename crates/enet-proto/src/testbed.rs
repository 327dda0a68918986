//! A deterministic testbed: several [`Host`]s joined by a simulated [`Network`], driven in
//! virtual time.
//!
//! No method panics on any argument. Hosts are named by an opaque [`HostIndex`] that only
//! [`Testbed::add_host`] hands out; a [`Testbed`] never removes a host, so an index is valid
//! for the testbed that made it, for ever. Every method taking an index returns
//! `Result<_, TestbedError>` and refuses an index made by another testbed with
//! [`TestbedError::UnknownHost`] (a `Result` rather than an `Option` so that all the
//! testbed's refusals, an invalid [`HostConfig`] included, are one typed error that `?`
//! carries). Times saturate: the clock stops at [`MAX_ELAPSED`] after the testbed's
//! creation, and runs asked to go further end there (so no host's deadline can fall beyond
//! the [`Instant`]s the platform represents).
//!
//! ```
//! use enet_proto::testbed::{Testbed, TestbedError};
//! use enet_proto::{Event, HostConfig, Packet};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut tb = Testbed::new(7);
//! let server = tb.add_host(HostConfig::default())?;
//! let client = tb.add_host(HostConfig::default())?;
//! let addr = tb.addr(server)?;
//! let now = tb.now();
//! let peer = tb.host_mut(client)?.connect(now, addr, 2, 42)?;
//! tb.run_for(Duration::from_millis(100));
//! assert!(tb.events(server)?.iter().any(|e| matches!(e, Event::Connect { data: 42, .. })));
//! tb.host_mut(client)?.send(peer, 0, Packet::reliable(&b"hi"[..]))?;
//! tb.run_for(Duration::from_millis(100));
//! assert!(tb.events(server)?.iter().any(|e| matches!(e, Event::Receive { .. })));
//!
//! // An index from another testbed, and an invalid configuration, are typed errors.
//! let other = Testbed::new(7);
//! assert_eq!(other.addr(server), Err(TestbedError::UnknownHost(server)));
//! let bad = HostConfig::default().with_peer_count(0);
//! assert!(matches!(tb.add_host(bad), Err(TestbedError::InvalidConfig(_))));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::event::{Error, Event};
use crate::host::{Host, HostConfig};
use crate::sim::{LinkConfig, Network};

/// Most hosts one testbed holds: each gets its own address in `10.0.0.0/16`.
pub const MAX_HOSTS: usize = 250 * 256;

/// How far the virtual clock may run from the testbed's creation (100 years).
pub const MAX_ELAPSED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Identity of the next testbed, so an index can tell which testbed made it.
static NEXT_TESTBED: AtomicU64 = AtomicU64::new(0);

/// Opaque name of a host in a [`Testbed`], handed out by [`Testbed::add_host`].
///
/// It is valid for the testbed that made it (hosts are never removed); any other testbed
/// refuses it with [`TestbedError::UnknownHost`]. It prints as `host N`, N counting from 0
/// in the order the hosts were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HostIndex {
    testbed: u64,
    slot: u32,
}

impl fmt::Display for HostIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host {}", self.slot)
    }
}

/// Why a [`Testbed`] refused a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TestbedError {
    /// [`Testbed::add_host`] got a configuration [`Host::new`] refuses.
    #[error("invalid host configuration: {0}")]
    InvalidConfig(#[source] Error),
    /// The index was made by another testbed.
    #[error("{0} does not belong to this testbed")]
    UnknownHost(HostIndex),
    /// The testbed already holds [`MAX_HOSTS`] hosts.
    #[error("the testbed already holds its maximum of {MAX_HOSTS} hosts")]
    Full,
}

/// One host of the testbed with what the testbed keeps beside it.
struct Slot {
    addr: SocketAddr,
    host: Host,
    /// Events the host produced so far (drained from the host as they occur).
    events: Vec<Event>,
    /// Stopped receiving and sending (its datagrams are discarded both ways).
    silent: bool,
}

/// Hosts on a simulated network, driven in virtual time.
pub struct Testbed {
    /// This testbed's identity, carried by the indices it hands out.
    id: u64,
    network: Network,
    slots: Vec<Slot>,
    base: Instant,
    now: Instant,
    /// The clock never passes this: `base + MAX_ELAPSED`, or the latest representable
    /// instant before it.
    end: Instant,
    buf: Vec<u8>,
    seed: u64,
    /// Slot by address, so delivering a datagram does not scan all hosts.
    by_addr: HashMap<SocketAddr, usize>,
}

impl Testbed {
    /// A testbed whose network is seeded with `seed`; links start perfect.
    pub fn new(seed: u64) -> Testbed {
        let base = Instant::now();
        Testbed {
            id: NEXT_TESTBED.fetch_add(1, Ordering::Relaxed),
            network: Network::new(seed),
            slots: Vec::new(),
            base,
            now: base,
            end: saturating_add(base, MAX_ELAPSED),
            buf: Vec::with_capacity(4096),
            seed,
            by_addr: HashMap::new(),
        }
    }

    /// Adds a host at address `10.0.<n / 250>.<n % 250 + 1>:7777` for the `n`th host
    /// (virtual; no socket exists). Its `config.seed` is replaced by one derived from the
    /// testbed seed, for reproducibility.
    ///
    /// Refuses a configuration [`Host::new`] refuses ([`TestbedError::InvalidConfig`]) and
    /// a host beyond [`MAX_HOSTS`] ([`TestbedError::Full`]); the testbed is unchanged then.
    pub fn add_host(&mut self, config: HostConfig) -> Result<HostIndex, TestbedError> {
        let n = self.slots.len();
        if n >= MAX_HOSTS {
            return Err(TestbedError::Full);
        }
        // n < 64,000: both octets fit, the last is 1..=250.
        let (third, fourth) = ((n / 250) as u8, (n % 250) as u8 + 1);
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, third, fourth)), 7777);
        // Deterministic, distinct connection ids per host.
        let mut config = config;
        config.seed = self.seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let host = Host::new(config, self.now).map_err(TestbedError::InvalidConfig)?;
        self.by_addr.insert(addr, n);
        self.slots.push(Slot {
            addr,
            host,
            events: Vec::new(),
            silent: false,
        });
        Ok(HostIndex {
            testbed: self.id,
            slot: n as u32,
        })
    }

    /// The slot an index names, if this testbed made it.
    fn slot(&self, h: HostIndex) -> Result<&Slot, TestbedError> {
        if h.testbed != self.id {
            return Err(TestbedError::UnknownHost(h));
        }
        self.slots
            .get(h.slot as usize)
            .ok_or(TestbedError::UnknownHost(h))
    }

    /// The slot an index names, mutably, if this testbed made it.
    fn slot_mut(&mut self, h: HostIndex) -> Result<&mut Slot, TestbedError> {
        if h.testbed != self.id {
            return Err(TestbedError::UnknownHost(h));
        }
        self.slots
            .get_mut(h.slot as usize)
            .ok_or(TestbedError::UnknownHost(h))
    }

    /// The hosts, in the order they were added.
    pub fn hosts(&self) -> impl Iterator<Item = HostIndex> + '_ {
        (0..self.slots.len() as u32).map(|slot| HostIndex {
            testbed: self.id,
            slot,
        })
    }

    /// How many hosts the testbed holds.
    pub fn host_count(&self) -> usize {
        self.slots.len()
    }

    /// The virtual address of a host.
    pub fn addr(&self, h: HostIndex) -> Result<SocketAddr, TestbedError> {
        Ok(self.slot(h)?.addr)
    }

    /// The host itself.
    pub fn host(&self, h: HostIndex) -> Result<&Host, TestbedError> {
        Ok(&self.slot(h)?.host)
    }

    /// The host itself, mutably (to connect, send, disconnect…).
    pub fn host_mut(&mut self, h: HostIndex) -> Result<&mut Host, TestbedError> {
        Ok(&mut self.slot_mut(h)?.host)
    }

    /// Events a host produced so far (drained from the host as they occur).
    pub fn events(&self, h: HostIndex) -> Result<&[Event], TestbedError> {
        Ok(&self.slot(h)?.events)
    }

    /// Takes the collected events of a host.
    pub fn take_events(&mut self, h: HostIndex) -> Result<Vec<Event>, TestbedError> {
        Ok(std::mem::take(&mut self.slot_mut(h)?.events))
    }

    /// The network, for link configuration and statistics.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// Sets the link condition in both directions between two hosts (`a == b` sets a
    /// host's link to itself).
    pub fn set_link(
        &mut self,
        a: HostIndex,
        b: HostIndex,
        config: LinkConfig,
    ) -> Result<(), TestbedError> {
        let (aa, ba) = (self.addr(a)?, self.addr(b)?);
        self.network.set_link_pair(aa, ba, config);
        Ok(())
    }

    /// Makes a host deaf and mute (simulates a crashed or unplugged machine), or lets it
    /// hear and speak again.
    pub fn set_silent(&mut self, h: HostIndex, silent: bool) -> Result<(), TestbedError> {
        self.slot_mut(h)?.silent = silent;
        Ok(())
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time elapsed since the testbed was created.
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.base)
    }

    fn flush(&mut self) {
        for slot in &mut self.slots {
            while let Some(to) = slot.host.poll_transmit(self.now, &mut self.buf) {
                if !slot.silent {
                    self.network.send(self.now, slot.addr, to, &self.buf);
                }
            }
            while let Some(e) = slot.host.poll_event() {
                slot.events.push(e);
            }
        }
    }

    /// Runs until nothing is scheduled before `deadline` (or `deadline` is reached) and then
    /// sets the clock to `deadline`. A deadline in the past leaves the clock where it is; one
    /// beyond [`MAX_ELAPSED`] runs to that limit.
    pub fn run_until(&mut self, deadline: Instant) {
        self.run_until_cond(deadline, |_| false);
    }

    /// Runs for `d` of virtual time, or up to [`MAX_ELAPSED`] if that comes first.
    pub fn run_for(&mut self, d: Duration) {
        let deadline = saturating_add(self.now, d);
        self.run_until(deadline);
    }

    /// Runs until `cond` holds (checked after every step) or `deadline`; returns whether
    /// `cond` held. A deadline beyond [`MAX_ELAPSED`] runs to that limit.
    pub fn run_until_cond(
        &mut self,
        deadline: Instant,
        mut cond: impl FnMut(&mut Testbed) -> bool,
    ) -> bool {
        let deadline = deadline.min(self.end);
        loop {
            self.flush();
            if cond(self) {
                return true;
            }
            let mut next = self.network.next_delivery();
            for slot in &mut self.slots {
                if let Some(t) = slot.host.poll_timeout() {
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
            let next = match next {
                Some(t) if t <= deadline => t.max(self.now),
                _ => {
                    self.now = self.now.max(deadline);
                    self.step_time();
                    self.flush();
                    return cond(self);
                }
            };
            self.now = next;
            self.step_time();
        }
    }

    /// Delivers due datagrams and runs due timers at the current time.
    fn step_time(&mut self) {
        let now = self.now;
        while let Some(d) = self.network.poll(now) {
            if let Some(slot) = self.by_addr.get(&d.to).and_then(|&i| self.slots.get_mut(i)) {
                if !slot.silent {
                    slot.host.handle_datagram(now, d.from, &d.data);
                }
            }
            self.network.recycle(d.data);
        }
        for slot in &mut self.slots {
            if slot.host.poll_timeout().is_some_and(|t| t <= now) {
                slot.host.handle_timeout(now);
            }
        }
    }
}

/// `t + d`, or the latest instant that can be represented on the way there.
fn saturating_add(t: Instant, d: Duration) -> Instant {
    if let Some(sum) = t.checked_add(d) {
        return sum;
    }
    // Largest addable duration below `d`, by bisection (at most ~94 steps).
    let (mut lo, mut hi) = (Duration::ZERO, d);
    while hi - lo > Duration::from_nanos(1) {
        let mid = lo + (hi - lo) / 2;
        if t.checked_add(mid).is_some() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    t + lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_add_reaches_the_last_representable_instant() {
        let t = Instant::now();
        assert_eq!(
            saturating_add(t, Duration::from_secs(1)),
            t + Duration::from_secs(1)
        );
        let end = saturating_add(t, Duration::MAX);
        assert!(end > t);
        assert!(end.checked_add(Duration::from_nanos(1)).is_none());
        assert_eq!(saturating_add(end, Duration::MAX), end);
    }
}
