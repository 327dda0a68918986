//! A deterministic testbed: several [`Host`]s joined by a simulated [`Network`], driven in
//! virtual time.
//!
//! ```
//! use enet_proto::testbed::Testbed;
//! use enet_proto::{Event, HostConfig, Packet};
//! use std::time::Duration;
//!
//! let mut tb = Testbed::new(7);
//! let server = tb.add_host(HostConfig::default());
//! let client = tb.add_host(HostConfig::default());
//! let addr = tb.addr(server);
//! let now = tb.now();
//! let peer = tb.host_mut(client).connect(now, addr, 2, 42).unwrap();
//! tb.run_for(Duration::from_millis(100));
//! assert!(tb.events(server).iter().any(|e| matches!(e, Event::Connect { data: 42, .. })));
//! tb.host_mut(client).send(peer, 0, Packet::reliable(&b"hi"[..])).unwrap();
//! tb.run_for(Duration::from_millis(100));
//! assert!(tb.events(server).iter().any(|e| matches!(e, Event::Receive { .. })));
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::event::Event;
use crate::host::{Host, HostConfig};
use crate::sim::{LinkConfig, Network};

/// Index of a host in a [`Testbed`].
pub type HostIndex = usize;

/// Hosts on a simulated network, driven in virtual time.
pub struct Testbed {
    network: Network,
    hosts: Vec<(SocketAddr, Host, Vec<Event>)>,
    base: Instant,
    now: Instant,
    buf: Vec<u8>,
    /// Hosts that stopped receiving (their incoming datagrams are discarded).
    silent: Vec<bool>,
    seed: u64,
    /// Host index by address, so delivering a datagram does not scan all hosts.
    by_addr: HashMap<SocketAddr, HostIndex>,
}

impl Testbed {
    /// A testbed whose network is seeded with `seed`; links start perfect.
    pub fn new(seed: u64) -> Testbed {
        let base = Instant::now();
        Testbed {
            network: Network::new(seed),
            hosts: Vec::new(),
            base,
            now: base,
            buf: Vec::with_capacity(4096),
            silent: Vec::new(),
            seed,
            by_addr: HashMap::new(),
        }
    }

    /// Adds a host at address `10.0.0.<n+1>:7777` (virtual; no socket exists). Its
    /// `config.seed` is replaced by one derived from the testbed seed, for reproducibility.
    pub fn add_host(&mut self, config: HostConfig) -> HostIndex {
        let n = self.hosts.len();
        let addr = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, (n / 250) as u8, (n % 250) as u8 + 1)),
            7777,
        );
        // Deterministic, distinct connection ids per host.
        let mut config = config;
        config.seed = self.seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let host = Host::new(config, self.now).expect("valid host config");
        self.by_addr.insert(addr, n);
        self.hosts.push((addr, host, Vec::new()));
        self.silent.push(false);
        n
    }

    /// The virtual address of a host.
    pub fn addr(&self, h: HostIndex) -> SocketAddr {
        self.hosts[h].0
    }

    /// The host itself.
    pub fn host(&self, h: HostIndex) -> &Host {
        &self.hosts[h].1
    }

    /// The host itself, mutably (to connect, send, disconnect…).
    pub fn host_mut(&mut self, h: HostIndex) -> &mut Host {
        &mut self.hosts[h].1
    }

    /// Events a host produced so far (drained from the host as they occur).
    pub fn events(&self, h: HostIndex) -> &[Event] {
        &self.hosts[h].2
    }

    /// Takes the collected events of a host.
    pub fn take_events(&mut self, h: HostIndex) -> Vec<Event> {
        std::mem::take(&mut self.hosts[h].2)
    }

    /// The network, for link configuration and statistics.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// Sets the link condition in both directions between two hosts.
    pub fn set_link(&mut self, a: HostIndex, b: HostIndex, config: LinkConfig) {
        let (aa, ba) = (self.addr(a), self.addr(b));
        self.network.set_link_pair(aa, ba, config);
    }

    /// Makes a host deaf and mute (simulates a crashed or unplugged machine).
    pub fn set_silent(&mut self, h: HostIndex, silent: bool) {
        self.silent[h] = silent;
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time elapsed since the testbed was created.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    fn flush(&mut self) {
        for i in 0..self.hosts.len() {
            let (addr, host, events) = &mut self.hosts[i];
            while let Some(to) = host.poll_transmit(self.now, &mut self.buf) {
                if !self.silent[i] {
                    self.network.send(self.now, *addr, to, &self.buf);
                }
            }
            while let Some(e) = host.poll_event() {
                events.push(e);
            }
        }
    }

    /// Runs until nothing is scheduled before `deadline` (or `deadline` is reached) and then
    /// sets the clock to `deadline`.
    pub fn run_until(&mut self, deadline: Instant) {
        self.run_until_cond(deadline, |_| false);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let deadline = self.now + d;
        self.run_until(deadline);
    }

    /// Runs until `cond` holds (checked after every step) or `deadline`; returns whether
    /// `cond` held.
    pub fn run_until_cond(
        &mut self,
        deadline: Instant,
        mut cond: impl FnMut(&mut Testbed) -> bool,
    ) -> bool {
        loop {
            self.flush();
            if cond(self) {
                return true;
            }
            let mut next = self.network.next_delivery();
            for (_, host, _) in self.hosts.iter_mut() {
                if let Some(t) = host.poll_timeout() {
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
            if let Some(&i) = self.by_addr.get(&d.to) {
                if !self.silent[i] {
                    self.hosts[i].1.handle_datagram(now, d.from, &d.data);
                }
            }
            self.network.recycle(d.data);
        }
        for (_, host, _) in self.hosts.iter_mut() {
            if host.poll_timeout().is_some_and(|t| t <= now) {
                host.handle_timeout(now);
            }
        }
    }
}
