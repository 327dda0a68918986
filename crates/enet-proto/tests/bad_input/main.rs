//! Hostile input against a server with real connected peers.
//!
//! Every test sets up a server with two connected clients on a [`Testbed`]: the *victim*,
//! whose identity the crafted datagrams borrow (its address, the server's peer id for it and
//! its session id), and a well-behaved *bystander*. Crafted datagrams are injected straight
//! into the server with `handle_datagram`. Each test checks that
//! (a) the drop was counted under the right [`DropReason`] and under no other (where C
//! treats the input as legitimate, e.g. acknowledgements of unknown sequence numbers,
//! that nothing was counted),
//! (b) nothing was delivered that should not have been, and
//! (c) the bystander, and the victim where C keeps the connection, still exchange reliable
//! data in both directions afterwards.
//!
//! Crafted payloads that must never reach the application contain the marker `EVIL`;
//! crafted payloads that are valid and must be delivered contain `GOOD`.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use enet_proto::host::MAXIMUM_HELD_PER_QUEUE;
use enet_proto::protocol::*;
use enet_proto::sim::LinkConfig;
use enet_proto::testbed::{HostIndex, Testbed};
use enet_proto::{
    DisconnectReason, DropReason, DropStats, Error, Event, Host, HostConfig, Packet, PacketFlags,
    PeerId, PeerState, RangeCoder,
};
use proptest::prelude::*;

mod acknowledgements;
mod compression;
mod connects;
mod craft;
mod fragments;
mod fuzz;
mod header;
mod waiting_data;

use craft::{connect_fields, decode, Dg};

const CHANNELS: usize = 4;
/// Channel the crafted (forged) reliable traffic of the victim uses; the real victim client
/// only uses channels 0 and 1, so the forged sequence numbers never collide with its own.
const FORGE_CH: u8 = 3;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn foreign(a: u8, b: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 66, a, b)), port)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Victim,
    Bystander,
}

/// A server with two connected clients on a testbed.
struct Net {
    tb: Testbed,
    server: HostIndex,
    victim: HostIndex,
    bystander: HostIndex,
    /// Server-side peer id of the victim / bystander.
    v_s: PeerId,
    b_s: PeerId,
    /// Client-side peer id (of the server) at the victim / bystander.
    v_c: PeerId,
    b_c: PeerId,
    /// Every event taken from each host so far, in order.
    logs: [Vec<Event>; 3],
    /// Next reliable seq of the forged traffic on [`FORGE_CH`].
    forge_seq: u16,
    checksum: bool,
    exchanges: u32,
}

impl Net {
    fn new(server_cfg: HostConfig, client_cfg: HostConfig) -> Net {
        Self::with_setup(server_cfg, client_cfg, |_| {})
    }

    fn with_setup(
        server_cfg: HostConfig,
        client_cfg: HostConfig,
        setup: impl Fn(&mut Host),
    ) -> Net {
        let checksum = server_cfg.checksum;
        let mut tb = Testbed::new(0xBAD);
        let server = tb.add_host(server_cfg).unwrap();
        let victim = tb.add_host(client_cfg.clone().with_seed(1)).unwrap();
        let bystander = tb.add_host(client_cfg.with_seed(2)).unwrap();
        for h in [server, victim, bystander] {
            setup(tb.host_mut(h).unwrap());
        }
        let saddr = tb.addr(server).unwrap();
        let now = tb.now();
        let v_c = tb
            .host_mut(victim)
            .unwrap()
            .connect(now, saddr, CHANNELS, 1)
            .unwrap();
        tb.run_for(ms(20));
        let now = tb.now();
        let b_c = tb
            .host_mut(bystander)
            .unwrap()
            .connect(now, saddr, CHANNELS, 2)
            .unwrap();
        tb.run_for(ms(100));
        let mut v_s = None;
        let mut b_s = None;
        for e in tb.take_events(server).unwrap() {
            match e {
                Event::Connect { peer, data: 1 } => v_s = Some(peer),
                Event::Connect { peer, data: 2 } => b_s = Some(peer),
                other => panic!("unexpected server event during setup: {other:?}"),
            }
        }
        for h in [victim, bystander] {
            let ev = tb.take_events(h).unwrap();
            assert!(
                matches!(ev.as_slice(), [Event::Connect { .. }]),
                "client {h}: {ev:?}"
            );
        }
        let mut net = Net {
            tb,
            server,
            victim,
            bystander,
            v_s: v_s.expect("victim connected"),
            b_s: b_s.expect("bystander connected"),
            v_c,
            b_c,
            logs: [Vec::new(), Vec::new(), Vec::new()],
            forge_seq: 1,
            checksum,
            exchanges: 0,
        };
        // Probe: a valid forged packet gets through, so the crafted identity is right.
        net.forge_good(b"GOOD-probe");
        net.settle();
        assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec()]);
        net
    }

    fn saddr(&self) -> SocketAddr {
        self.tb.addr(self.server).unwrap()
    }

    fn vaddr(&self) -> SocketAddr {
        self.tb.addr(self.victim).unwrap()
    }

    fn server(&self) -> &Host {
        self.tb.host(self.server).unwrap()
    }

    fn drops(&self) -> DropStats {
        *self.server().drop_stats()
    }

    /// The victim's service time, as it would stamp a datagram.
    fn sent_time(&self) -> u16 {
        self.tb.host(self.victim).unwrap().service_time() as u16
    }

    /// Header of a datagram from the victim with sent time.
    fn hdr(&self) -> Dg {
        let mut dg = Dg::new(self.v_s.index() as u16, 0, Some(self.sent_time()));
        if self.checksum {
            dg = dg.with_checksum(self.server().peer_info(self.v_s).unwrap().connect_id);
        }
        dg
    }

    /// Header of a datagram from the victim without sent time.
    fn hdr_no_time(&self) -> Dg {
        let mut dg = self.hdr();
        dg.header.sent_time = None;
        dg
    }

    fn inject_from(&mut self, from: SocketAddr, bytes: &[u8]) {
        let now = self.tb.now();
        self.tb
            .host_mut(self.server)
            .unwrap()
            .handle_datagram(now, from, bytes);
    }

    /// Injects a datagram into the server as if the victim had sent it.
    fn inject(&mut self, bytes: &[u8]) {
        let from = self.vaddr();
        self.inject_from(from, bytes);
    }

    /// Injects a valid forged reliable packet on [`FORGE_CH`] (it must be delivered).
    fn forge_good(&mut self, data: &[u8]) {
        let seq = self.forge_seq;
        self.forge_seq += 1;
        let dg = self.hdr().reliable(FORGE_CH, seq, data).bytes();
        self.inject(&dg);
    }

    /// Moves every event collected by the testbed into the logs.
    fn collect(&mut self) {
        for (i, h) in [self.server, self.victim, self.bystander]
            .into_iter()
            .enumerate()
        {
            let ev = self.tb.take_events(h).unwrap();
            self.logs[i].extend(ev);
        }
    }

    fn settle(&mut self) {
        self.tb.run_for(ms(50));
        self.collect();
    }

    /// Packets the server delivered from the victim on the forged channel, in order.
    fn forged_received(&self) -> Vec<Vec<u8>> {
        self.logs[0]
            .iter()
            .filter_map(|e| match e {
                Event::Receive {
                    peer,
                    channel_id,
                    packet,
                } if *peer == self.v_s && *channel_id == FORGE_CH => Some(packet.data.to_vec()),
                _ => None,
            })
            .collect()
    }

    /// Fails if any host delivered a packet carrying the `EVIL` marker.
    fn assert_nothing_evil(&self) {
        for log in &self.logs {
            for e in log {
                if let Event::Receive { packet, .. } = e {
                    assert!(
                        !contains(&packet.data, b"EVIL"),
                        "forged data was delivered: {e:?}"
                    );
                }
            }
        }
    }

    /// Drains the server's outgoing datagrams by hand, delivers them to the clients and
    /// returns them, so tests can look at what the server answered.
    fn drain_server(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let now = self.tb.now();
        let saddr = self.saddr();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(to) = self
            .tb
            .host_mut(self.server)
            .unwrap()
            .poll_transmit(now, &mut buf)
        {
            out.push((to, buf.clone()));
        }
        for (to, d) in &out {
            for h in [self.victim, self.bystander] {
                if self.tb.addr(h).unwrap() == *to {
                    self.tb.host_mut(h).unwrap().handle_datagram(now, saddr, d);
                }
            }
        }
        out
    }

    /// Acknowledgements (channel, seq) in datagrams sent to `to`.
    fn acks_to(&self, sent: &[(SocketAddr, Vec<u8>)], to: SocketAddr) -> Vec<(u8, u16)> {
        sent.iter()
            .filter(|(a, _)| *a == to)
            .flat_map(|(_, d)| decode(d, self.checksum))
            .filter_map(|(h, c)| match c {
                Command::Acknowledge {
                    received_reliable_sequence_number,
                    ..
                } => Some((h.channel_id, received_reliable_sequence_number)),
                _ => None,
            })
            .collect()
    }

    /// (client host, client-side peer, server-side peer) of a client.
    fn ends(&self, who: Who) -> (HostIndex, PeerId, PeerId) {
        match who {
            Who::Victim => (self.victim, self.v_c, self.v_s),
            Who::Bystander => (self.bystander, self.b_c, self.b_s),
        }
    }

    /// Sends `n` reliable messages each way between the server and `who` and checks that
    /// each arrives exactly once and in order.
    fn exchange(&mut self, who: Who, n: usize) {
        self.collect();
        self.exchanges += 1;
        let tag = format!("{who:?}-{}", self.exchanges);
        let (client, cpeer, speer) = self.ends(who);
        let up: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("{tag}-up-{i}-").repeat(i % 5 + 1).into_bytes())
            .collect();
        // Every other downstream message is large enough to be fragmented.
        let down: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                format!("{tag}-down-{i}-")
                    .repeat(if i % 2 == 1 { 120 } else { 1 })
                    .into_bytes()
            })
            .collect();
        for m in &up {
            self.tb
                .host_mut(client)
                .unwrap()
                .send(cpeer, 0, Packet::reliable(m.clone()))
                .unwrap_or_else(|e| panic!("{who:?} cannot send: {e}"));
        }
        for m in &down {
            self.tb
                .host_mut(self.server)
                .unwrap()
                .send(speer, 1, Packet::reliable(m.clone()))
                .unwrap_or_else(|e| panic!("server cannot send to {who:?}: {e}"));
        }
        let server = self.server;
        let count = |evs: &[Event], peer: PeerId, ch: u8| {
            evs.iter()
                .filter(|e| {
                    matches!(e, Event::Receive { peer: p, channel_id, packet }
                        if *p == peer && *channel_id == ch && packet.data.starts_with(tag.as_bytes()))
                })
                .count()
        };
        let deadline = self.tb.now() + Duration::from_secs(10);
        let done = self.tb.run_until_cond(deadline, |tb| {
            count(tb.events(server).unwrap(), speer, 0) >= n
                && count(tb.events(client).unwrap(), cpeer, 1) >= n
        });
        self.tb.run_for(ms(20));
        let s_ev = self.tb.events(server).unwrap().to_vec();
        let c_ev = self.tb.events(client).unwrap().to_vec();
        self.collect();
        assert!(
            done,
            "{tag}: exchange stalled; server saw {:?}, client saw {:?}",
            s_ev, c_ev
        );
        let got = |evs: &[Event], peer: PeerId, ch: u8| -> Vec<Vec<u8>> {
            evs.iter()
                .filter_map(|e| match e {
                    Event::Receive {
                        peer: p,
                        channel_id,
                        packet,
                    } if *p == peer
                        && *channel_id == ch
                        && packet.data.starts_with(tag.as_bytes()) =>
                    {
                        assert!(packet.flags.contains(PacketFlags::RELIABLE));
                        Some(packet.data.to_vec())
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(got(&s_ev, speer, 0), up, "{tag}: upstream");
        assert_eq!(got(&c_ev, cpeer, 1), down, "{tag}: downstream");
        assert_eq!(
            self.tb.host(client).unwrap().peer_state(cpeer),
            Some(PeerState::Connected)
        );
        assert_eq!(
            self.tb.host(self.server).unwrap().peer_state(speer),
            Some(PeerState::Connected)
        );
    }

    /// The standard epilogue: nothing forged leaked out, and both clients still work.
    fn check_both_still_work(&mut self) {
        self.settle();
        self.assert_nothing_evil();
        self.exchange(Who::Bystander, 6);
        self.exchange(Who::Victim, 6);
        self.assert_nothing_evil();
        self.assert_no_disconnects();
    }

    fn assert_no_disconnects(&self) {
        for log in &self.logs {
            for e in log {
                assert!(
                    !matches!(e, Event::Disconnect { .. }),
                    "unexpected disconnect: {e:?}"
                );
            }
        }
    }
}

/// Asserts that the drop counters moved by exactly `expected` (all others unchanged).
#[track_caller]
fn assert_drops(before: &DropStats, after: &DropStats, expected: &[(DropReason, u64)]) {
    for r in DropReason::ALL {
        let want = expected
            .iter()
            .filter(|(e, _)| *e == r)
            .map(|(_, n)| *n)
            .sum::<u64>();
        assert_eq!(
            after.get(r) - before.get(r),
            want,
            "drop counter {r:?}: before {before:?}, after {after:?}"
        );
    }
}

fn default_net() -> Net {
    Net::new(HostConfig::default(), HostConfig::default())
}

fn connect_dg(id: [u8; 4], channels: u32) -> Vec<u8> {
    Dg::new(MAXIMUM_PEER_ID, 0, Some(0x1234))
        .connect(connect_fields(id, channels, 0))
        .bytes()
}
