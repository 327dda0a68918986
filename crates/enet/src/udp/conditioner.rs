//! The link conditioner: optional simulated networks ([`enet_proto::sim::Network`]) in
//! front of the socket, one per direction, that add loss, latency, jitter, duplication and
//! reordering to what a [`UdpHost`] sends and receives.

use std::io;
use std::time::Instant;

use enet_proto::sim::{LinkConfig, Network};

use super::UdpHost;
use crate::io_policy::{classify_send_error, SendFailure, RECV_BUFFER_SIZE};

/// The optional link conditioner: simulated networks in front of the socket.
pub(super) struct Conditioner {
    pub(super) outgoing: Option<Network>,
    pub(super) incoming: Option<Network>,
    buf: Vec<u8>,
}

impl UdpHost {
    /// Switches the link conditioner on or off for each direction: datagrams this host
    /// sends (`outgoing`) and receives (`incoming`) go through a simulated link with the
    /// given loss, latency, jitter, duplication and reordering. `None` for both turns it
    /// off; datagrams still held by a direction that is switched off are dropped.
    pub fn set_link_conditioner(
        &mut self,
        outgoing: Option<LinkConfig>,
        incoming: Option<LinkConfig>,
    ) {
        if outgoing.is_none() && incoming.is_none() {
            self.conditioner = None;
            return;
        }
        let seed = self.local_addr.port() as u64 ^ 0x5EED_0000;
        let make = |cfg: Option<LinkConfig>, salt: u64| {
            cfg.map(|c| {
                let mut n = Network::new(seed ^ salt);
                n.set_default_link(c);
                n
            })
        };
        self.conditioner = Some(Box::new(Conditioner {
            outgoing: make(outgoing, 1),
            incoming: make(incoming, 2),
            buf: Vec::with_capacity(RECV_BUFFER_SIZE),
        }));
    }

    /// Statistics of the link conditioner: (outgoing, incoming) totals.
    pub fn link_conditioner_stats(
        &self,
    ) -> Option<(enet_proto::sim::LinkStats, enet_proto::sim::LinkStats)> {
        let c = self.conditioner.as_ref()?;
        Some((
            c.outgoing
                .as_ref()
                .map(|n| n.total_stats())
                .unwrap_or_default(),
            c.incoming
                .as_ref()
                .map(|n| n.total_stats())
                .unwrap_or_default(),
        ))
    }

    pub(super) fn conditioner_next(&self) -> Option<Instant> {
        let c = self.conditioner.as_ref()?;
        let a = c.outgoing.as_ref().and_then(|n| n.next_delivery());
        let b = c.incoming.as_ref().and_then(|n| n.next_delivery());
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves datagrams whose simulated delay has passed: outgoing ones to the socket,
    /// incoming ones to the engine.
    pub(super) fn release_conditioned(&mut self) -> io::Result<()> {
        let Some(mut c) = self.conditioner.take() else {
            return Ok(());
        };
        let now = Instant::now();
        let mut result = Ok(());
        if let Some(net) = c.outgoing.as_mut() {
            while let Some((_, to)) = net.poll_into(now, &mut c.buf) {
                let sent = match self.send_hook.as_mut().and_then(|h| h(to, &c.buf)) {
                    Some(e) => Err(e),
                    None => self.socket_send(to, &c.buf),
                };
                if let Err(e) = sent {
                    match classify_send_error(&e) {
                        SendFailure::WouldBlock | SendFailure::Retry => {
                            self.stats.send_would_block += 1
                        }
                        SendFailure::Destination => self.stats.send_errors += 1,
                        SendFailure::Socket => result = Err(e),
                    }
                } else {
                    self.stats.datagrams_sent += 1;
                }
            }
        }
        if let Some(net) = c.incoming.as_mut() {
            while let Some((from, _)) = net.poll_into(now, &mut c.buf) {
                self.host.handle_datagram(now, from, &c.buf);
            }
        }
        self.conditioner = Some(c);
        result
    }
}
