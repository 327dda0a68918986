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
use enet_proto::testbed::Testbed;
use enet_proto::{
    DisconnectReason, DropReason, DropStats, Error, Event, Host, HostConfig, Packet, PacketFlags,
    PeerId, PeerState, RangeCoder,
};
use proptest::prelude::*;

/// Building datagrams by hand.
mod craft {
    use enet_proto::protocol::*;

    /// A datagram under construction: header, optional checksum seed, command area.
    #[derive(Clone, Debug)]
    pub struct Dg {
        pub header: Header,
        /// When set, a CRC-32 field is written, computed with this seed.
        pub checksum: Option<[u8; 4]>,
        pub body: Vec<u8>,
    }

    /// Default CONNECT fields of a fresh C client (spec §4.10) with the given id and channels.
    pub fn connect_fields(connect_id: [u8; 4], channel_count: u32, data: u32) -> Connect {
        Connect {
            outgoing_peer_id: 0,
            incoming_session_id: 0xFF,
            outgoing_session_id: 0xFF,
            mtu: 1392,
            window_size: 65536,
            channel_count,
            incoming_bandwidth: 0,
            outgoing_bandwidth: 0,
            packet_throttle_interval: 5000,
            packet_throttle_acceleration: 2,
            packet_throttle_deceleration: 2,
            connect_id,
            data,
        }
    }

    impl Dg {
        pub fn new(peer_id: u16, session_id: u8, sent_time: Option<u16>) -> Dg {
            Dg {
                header: Header {
                    peer_id,
                    session_id,
                    compressed: false,
                    sent_time,
                },
                checksum: None,
                body: Vec::new(),
            }
        }

        /// Appends a command (fixed part from `body`, command byte from `command`) and payload.
        pub fn cmd(
            mut self,
            command: u8,
            channel_id: u8,
            seq: u16,
            body: Command,
            payload: &[u8],
        ) -> Dg {
            let header = CommandHeader {
                command,
                channel_id,
                reliable_sequence_number: seq,
            };
            let mut buf = [0u8; 64];
            let n = body.write(&header, &mut buf);
            self.body.extend_from_slice(&buf[..n]);
            self.body.extend_from_slice(payload);
            self
        }

        pub fn raw(mut self, bytes: &[u8]) -> Dg {
            self.body.extend_from_slice(bytes);
            self
        }

        pub fn reliable(self, ch: u8, seq: u16, data: &[u8]) -> Dg {
            let len = data.len() as u16;
            self.cmd(
                CommandKind::SendReliable as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                ch,
                seq,
                Command::SendReliable { data_length: len },
                data,
            )
        }

        pub fn unreliable(self, ch: u8, seq: u16, useq: u16, data: &[u8]) -> Dg {
            let len = data.len() as u16;
            self.cmd(
                CommandKind::SendUnreliable as u8,
                ch,
                seq,
                Command::SendUnreliable {
                    unreliable_sequence_number: useq,
                    data_length: len,
                },
                data,
            )
        }

        pub fn unsequenced(self, ch: u8, group: u16, data: &[u8]) -> Dg {
            let len = data.len() as u16;
            self.cmd(
                CommandKind::SendUnsequenced as u8 | COMMAND_FLAG_UNSEQUENCED,
                ch,
                0,
                Command::SendUnsequenced {
                    unsequenced_group: group,
                    data_length: len,
                },
                data,
            )
        }

        /// A reliable fragment; the header seq is `start + fragment_number` like a C sender's.
        pub fn fragment(self, ch: u8, f: Fragment, data: &[u8]) -> Dg {
            let seq = f
                .start_sequence_number
                .wrapping_add(f.fragment_number as u16);
            self.cmd(
                CommandKind::SendFragment as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                ch,
                seq,
                Command::SendFragment(f),
                data,
            )
        }

        /// An unreliable fragment following reliable seq `seq`.
        pub fn unreliable_fragment(self, ch: u8, seq: u16, f: Fragment, data: &[u8]) -> Dg {
            self.cmd(
                CommandKind::SendUnreliableFragment as u8,
                ch,
                seq,
                Command::SendFragment(f),
                data,
            )
        }

        pub fn ack(self, ch: u8, seq: u16, sent_time: u16) -> Dg {
            self.cmd(
                CommandKind::Acknowledge as u8,
                ch,
                seq,
                Command::Acknowledge {
                    received_reliable_sequence_number: seq,
                    received_sent_time: sent_time,
                },
                &[],
            )
        }

        pub fn connect(self, c: Connect) -> Dg {
            self.cmd(
                CommandKind::Connect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
                CONTROL_CHANNEL,
                1,
                Command::Connect(c),
                &[],
            )
        }

        pub fn compressed(mut self) -> Dg {
            self.header.compressed = true;
            self
        }

        pub fn with_checksum(mut self, seed: [u8; 4]) -> Dg {
            self.checksum = Some(seed);
            self
        }

        pub fn bytes(&self) -> Vec<u8> {
            let mut out = vec![0u8; 4];
            let n = self.header.write(&mut out);
            out.truncate(n);
            match self.checksum {
                Some(seed) => {
                    let at = out.len();
                    out.extend_from_slice(&seed);
                    out.extend_from_slice(&self.body);
                    let crc = crc32fast::hash(&out);
                    out[at..at + 4].copy_from_slice(&crc.to_be_bytes());
                }
                None => out.extend_from_slice(&self.body),
            }
            out
        }
    }

    /// Decodes an uncompressed datagram into its commands (payloads skipped).
    pub fn decode(bytes: &[u8], checksum: bool) -> Vec<(CommandHeader, Command)> {
        let Ok((h, mut pos)) = Header::read(bytes) else {
            return Vec::new();
        };
        if checksum {
            pos += 4;
        }
        let mut out = Vec::new();
        if h.compressed {
            return out;
        }
        while pos + 4 <= bytes.len() {
            let Ok((ch, c, n)) = Command::read(&bytes[pos..]) else {
                break;
            };
            pos += n + c.data_length();
            out.push((ch, c));
        }
        out
    }
}

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
    server: usize,
    victim: usize,
    bystander: usize,
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
        let server = tb.add_host(server_cfg);
        let victim = tb.add_host(HostConfig {
            seed: 1,
            ..client_cfg.clone()
        });
        let bystander = tb.add_host(HostConfig {
            seed: 2,
            ..client_cfg
        });
        for h in [server, victim, bystander] {
            setup(tb.host_mut(h));
        }
        let saddr = tb.addr(server);
        let now = tb.now();
        let v_c = tb
            .host_mut(victim)
            .connect(now, saddr, CHANNELS, 1)
            .unwrap();
        tb.run_for(ms(20));
        let now = tb.now();
        let b_c = tb
            .host_mut(bystander)
            .connect(now, saddr, CHANNELS, 2)
            .unwrap();
        tb.run_for(ms(100));
        let mut v_s = None;
        let mut b_s = None;
        for e in tb.take_events(server) {
            match e {
                Event::Connect { peer, data: 1 } => v_s = Some(peer),
                Event::Connect { peer, data: 2 } => b_s = Some(peer),
                other => panic!("unexpected server event during setup: {other:?}"),
            }
        }
        for h in [victim, bystander] {
            let ev = tb.take_events(h);
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
        self.tb.addr(self.server)
    }

    fn vaddr(&self) -> SocketAddr {
        self.tb.addr(self.victim)
    }

    fn server(&self) -> &Host {
        self.tb.host(self.server)
    }

    fn drops(&self) -> DropStats {
        *self.server().drop_stats()
    }

    /// The victim's service time, as it would stamp a datagram.
    fn sent_time(&self) -> u16 {
        self.tb.host(self.victim).service_time() as u16
    }

    /// Header of a datagram from the victim with sent time.
    fn hdr(&self) -> Dg {
        let mut dg = Dg::new(self.v_s.0, 0, Some(self.sent_time()));
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
            let ev = self.tb.take_events(h);
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
        while let Some(to) = self.tb.host_mut(self.server).poll_transmit(now, &mut buf) {
            out.push((to, buf.clone()));
        }
        for (to, d) in &out {
            for h in [self.victim, self.bystander] {
                if self.tb.addr(h) == *to {
                    self.tb.host_mut(h).handle_datagram(now, saddr, d);
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
    fn ends(&self, who: Who) -> (usize, PeerId, PeerId) {
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
                .send(cpeer, 0, Packet::reliable(m.clone()))
                .unwrap_or_else(|e| panic!("{who:?} cannot send: {e}"));
        }
        for m in &down {
            self.tb
                .host_mut(self.server)
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
            count(tb.events(server), speer, 0) >= n && count(tb.events(client), cpeer, 1) >= n
        });
        self.tb.run_for(ms(20));
        let s_ev = self.tb.events(server).to_vec();
        let c_ev = self.tb.events(client).to_vec();
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
            self.tb.host(client).peer_state(cpeer),
            Some(PeerState::Connected)
        );
        assert_eq!(
            self.tb.host(self.server).peer_state(speer),
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

// ---------------------------------------------------------------------------- header level

#[test]
fn truncated_datagrams() {
    let mut net = default_net();
    let before = net.drops();
    let peer = net.v_s.0;
    let word = (peer | 0x8000).to_be_bytes();
    net.inject(&[]);
    net.inject(&[0x00]);
    net.inject(&[word[0]]);
    // SENT_TIME flag, but the sent time is missing or cut short.
    net.inject(&word);
    net.inject(&[word[0], word[1], 0x12]);
    // The same from an address no peer has, and for the "no peer" id.
    net.inject_from(foreign(0, 1, 9), &[]);
    net.inject_from(foreign(0, 1, 9), &[0x8F]);
    net.inject_from(foreign(0, 1, 9), &[0x8F, 0xFF, 0x00]);
    assert_drops(&before, &net.drops(), &[(DropReason::Truncated, 8)]);
    // A header with nothing behind it is not an error (and not a drop).
    let before = net.drops();
    let hdr = net.hdr().bytes();
    net.inject(&hdr);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

#[test]
fn truncated_header_with_checksum() {
    let cfg = HostConfig {
        checksum: true,
        ..HostConfig::default()
    };
    let mut net = Net::new(cfg.clone(), cfg);
    let before = net.drops();
    let with_time = net.hdr().bytes(); // 4 + 4 bytes
    let without = net.hdr_no_time().bytes(); // 2 + 4 bytes
    assert_eq!((with_time.len(), without.len()), (8, 6));
    for cut in 4..8 {
        net.inject(&with_time[..cut]);
    }
    for cut in 2..6 {
        net.inject(&without[..cut]);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::Truncated, 8)]);
    // The full header with a valid checksum and no commands is fine.
    let before = net.drops();
    net.inject(&with_time);
    net.inject(&without);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

#[test]
fn unknown_command_numbers() {
    let mut net = default_net();
    let before = net.drops();
    let bad = [0x00u8, 0x0D, 0x0F, 0x8D, 0x4F, 0x80, 0xCE];
    for &c in &bad {
        // Eight bytes, so the command could not be mistaken for a truncated one.
        let dg = net
            .hdr()
            .raw(&[c, FORGE_CH, 0, 9, 0, 4, 0, 0])
            .reliable(FORGE_CH, net.forge_seq, b"EVIL-after-unknown")
            .bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnknownCommand, bad.len() as u64)],
    );
    // A valid command before an unknown one keeps its effect (C: parsing just stops).
    let before = net.drops();
    let seq = net.forge_seq;
    net.forge_seq += 1;
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"GOOD-before-unknown")
        .raw(&[0x0E, FORGE_CH, 0, 0, 0, 0, 0, 0])
        .reliable(FORGE_CH, seq + 1, b"EVIL-after-unknown")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::UnknownCommand, 1)]);
    let sent = net.drain_server();
    assert!(net.acks_to(&sent, net.vaddr()).contains(&(FORGE_CH, seq)));
    assert!(!net
        .acks_to(&sent, net.vaddr())
        .contains(&(FORGE_CH, seq + 1)));
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), b"GOOD-before-unknown".to_vec()]
    );
    net.check_both_still_work();
}

#[test]
fn truncated_command_fixed_part() {
    let mut net = default_net();
    let st = net.sent_time();
    let frag = Fragment {
        start_sequence_number: 9,
        data_length: 4,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 8,
        fragment_offset: 0,
    };
    // Every command kind with a fixed part above 4 bytes, each cut one byte short.
    let cmds: Vec<(u8, u8, Command)> = vec![
        (
            0x01,
            FORGE_CH,
            Command::Acknowledge {
                received_reliable_sequence_number: 1,
                received_sent_time: st,
            },
        ),
        (
            0x82,
            0xFF,
            Command::Connect(connect_fields([1, 2, 3, 4], 2, 0)),
        ),
        (
            0x83,
            0xFF,
            Command::VerifyConnect(connect_fields([1, 2, 3, 4], 2, 0)),
        ),
        (0x84, 0xFF, Command::Disconnect { data: 0 }),
        (0x86, FORGE_CH, Command::SendReliable { data_length: 4 }),
        (
            0x07,
            FORGE_CH,
            Command::SendUnreliable {
                unreliable_sequence_number: 1,
                data_length: 4,
            },
        ),
        (0x88, FORGE_CH, Command::SendFragment(frag)),
        (
            0x49,
            FORGE_CH,
            Command::SendUnsequenced {
                unsequenced_group: 1,
                data_length: 4,
            },
        ),
        (
            0x8A,
            0xFF,
            Command::BandwidthLimit {
                incoming_bandwidth: 0,
                outgoing_bandwidth: 0,
            },
        ),
        (
            0x8B,
            0xFF,
            Command::ThrottleConfigure {
                packet_throttle_interval: 1,
                packet_throttle_acceleration: 1,
                packet_throttle_deceleration: 1,
            },
        ),
        (0x0C, FORGE_CH, Command::SendFragment(frag)),
    ];
    let before = net.drops();
    for (c, ch, body) in &cmds {
        let mut dg = net.hdr().cmd(*c, *ch, 77, *body, &[]);
        dg.body.pop();
        net.inject(&dg.bytes());
    }
    // A truncated CONNECT for the "no peer" id, from a stranger.
    let mut dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(1)).connect(connect_fields([9; 4], 2, 0));
    dg.body.truncate(40);
    net.inject_from(foreign(0, 2, 9), &dg.bytes());
    // Trailing bytes too short for even a command header, after a valid command.
    for tail in 1..4 {
        let dg = net.hdr().raw(&[0x85, 0xFF, 0x00, 0x63][..tail]).bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::TruncatedCommand, cmds.len() as u64 + 1 + 3)],
    );
    assert_eq!(net.server().active_peers().count(), 2);
    net.check_both_still_work();
}

#[test]
fn payload_runs_past_datagram_end() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let frag = Fragment {
        start_sequence_number: seq,
        data_length: 200,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 400,
        fragment_offset: 0,
    };
    let evil = b"EVIL-overrun-EVIL-overrun";
    let dgs = vec![
        net.hdr().cmd(
            0x86,
            FORGE_CH,
            seq,
            Command::SendReliable { data_length: 100 },
            evil,
        ),
        net.hdr().cmd(
            0x07,
            FORGE_CH,
            seq - 1,
            Command::SendUnreliable {
                unreliable_sequence_number: 1,
                data_length: 26,
            },
            evil,
        ),
        net.hdr().cmd(
            0x49,
            FORGE_CH,
            0,
            Command::SendUnsequenced {
                unsequenced_group: 1,
                data_length: 0xFFFF,
            },
            evil,
        ),
        net.hdr()
            .cmd(0x88, FORGE_CH, seq, Command::SendFragment(frag), evil),
        net.hdr()
            .cmd(0x0C, FORGE_CH, seq - 1, Command::SendFragment(frag), evil),
    ];
    for dg in &dgs {
        net.inject(&dg.bytes());
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::PayloadOverrun, dgs.len() as u64)],
    );
    // Nothing was acknowledged either.
    let sent = net.drain_server();
    assert!(net
        .acks_to(&sent, net.vaddr())
        .iter()
        .all(|(ch, _)| *ch != FORGE_CH));
    net.check_both_still_work();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec()]);
}

#[test]
fn oversized_packets_are_refused() {
    let server = HostConfig {
        maximum_packet_size: 3000,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    let big = b"EVIL".repeat(900);
    let seq = net.forge_seq;
    let dg = net.hdr().reliable(FORGE_CH, seq, &big).bytes();
    net.inject(&dg);
    // A fragment group whose total exceeds the limit.
    let f = Fragment {
        start_sequence_number: seq,
        data_length: 100,
        fragment_count: 40,
        fragment_number: 0,
        total_length: 4000,
        fragment_offset: 0,
    };
    let dg = net.hdr().fragment(FORGE_CH, f, &big[..100]).bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[
            (DropReason::PacketTooLarge, 1),
            (DropReason::InvalidFragment, 1),
        ],
    );
    net.check_both_still_work();
}

#[test]
fn wrong_peer_id() {
    let mut net = default_net();
    let before = net.drops();
    let st = net.sent_time();
    let seq = net.forge_seq;
    let peer_count = net.server().peer_count() as u16;
    // Out of range.
    for id in [peer_count, peer_count + 7, MAXIMUM_PEER_ID - 1] {
        let dg = Dg::new(id, 0, Some(st))
            .reliable(FORGE_CH, seq, b"EVIL-wrong-peer")
            .bytes();
        net.inject(&dg);
    }
    // A free slot.
    let free = (0..peer_count)
        .find(|&i| net.server().peer_state(PeerId(i)) == Some(PeerState::Disconnected))
        .unwrap();
    let dg = Dg::new(free, 0, Some(st))
        .reliable(FORGE_CH, seq, b"EVIL-free-slot")
        .bytes();
    net.inject(&dg);
    let from = foreign(0, 3, 9);
    net.inject_from(from, &dg);
    // The "no peer" id with anything but CONNECT.
    let dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(st))
        .reliable(FORGE_CH, seq, b"EVIL-no-peer")
        .bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[
            (DropReason::UnknownPeer, 3),
            (DropReason::InactivePeer, 2),
            (DropReason::NoPeer, 1),
        ],
    );
    assert_eq!(
        net.server().peer_state(PeerId(free)),
        Some(PeerState::Disconnected)
    );
    assert_eq!(net.drain_server().len(), 0, "nothing is answered");
    net.check_both_still_work();
}

#[test]
fn wrong_session_id() {
    let mut net = default_net();
    let before = net.drops();
    for session in 1..4u8 {
        let mut dg = net.hdr().reliable(FORGE_CH, net.forge_seq, b"EVIL-session");
        dg.header.session_id = session;
        net.inject(&dg.bytes());
    }
    assert_drops(&before, &net.drops(), &[(DropReason::SessionMismatch, 3)]);
    assert_eq!(net.drain_server().len(), 0);
    net.check_both_still_work();
}

#[test]
fn wrong_source_address() {
    let mut net = default_net();
    let before = net.drops();
    let dg = net
        .hdr()
        .reliable(FORGE_CH, net.forge_seq, b"EVIL-address")
        .bytes();
    let v = net.vaddr();
    let froms = [
        foreign(0, 4, 7777),
        SocketAddr::new(v.ip(), v.port() + 1),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)), v.port()),
        net.tb.addr(net.bystander),
    ];
    for from in froms {
        net.inject_from(from, &dg);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::AddressMismatch, 4)]);
    assert_eq!(net.drain_server().len(), 0);
    net.check_both_still_work();
}

#[test]
fn out_of_range_channel_ids() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let frag = Fragment {
        start_sequence_number: 1,
        data_length: 4,
        fragment_count: 2,
        fragment_number: 0,
        total_length: 8,
        fragment_offset: 0,
    };
    let n = CHANNELS as u8;
    let dgs = vec![
        net.hdr().reliable(n, 1, b"EVIL"),
        net.hdr().reliable(254, 1, b"EVIL"),
        net.hdr().reliable(CONTROL_CHANNEL, seq, b"EVIL"),
        net.hdr().unreliable(n + 5, 0, 1, b"EVIL"),
        net.hdr().unsequenced(200, 1, b"EVIL"),
        net.hdr().unsequenced(CONTROL_CHANNEL, 1, b"EVIL"),
        net.hdr().fragment(n, frag, b"EVIL"),
        net.hdr()
            .unreliable_fragment(CONTROL_CHANNEL, 0, frag, b"EVIL"),
    ];
    for dg in &dgs {
        net.inject(&dg.bytes());
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::InvalidChannel, dgs.len() as u64)],
    );
    // Not acknowledged.
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![]);
    // Acknowledgements on channels the peer does not have are harmless no-ops (C).
    let before = net.drops();
    let st = net.server().service_time() as u16;
    let dg = net.hdr().ack(n, 1, st).ack(250, 1, st).bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

// ---------------------------------------------------------------------------- fragments

/// One lying fragment of each kind; all are command errors.
fn lies(start: u16) -> Vec<(&'static str, Fragment)> {
    let f = |count, number, total, offset, len| Fragment {
        start_sequence_number: start,
        data_length: len,
        fragment_count: count,
        fragment_number: number,
        total_length: total,
        fragment_offset: offset,
    };
    vec![
        ("number >= count", f(2, 2, 200, 100, 100)),
        ("number far beyond count", f(2, 0xFFFF_FFFF, 200, 0, 100)),
        ("count 0", f(0, 0, 200, 0, 100)),
        (
            "count > 1M",
            f(MAXIMUM_FRAGMENT_COUNT + 1, 0, 2_000_000, 0, 100),
        ),
        ("count u32::MAX", f(u32::MAX, 0, u32::MAX, 0, 100)),
        ("total > maximum packet size", f(2, 0, 33 << 20, 0, 100)),
        ("offset >= total", f(2, 1, 200, 200, 100)),
        ("offset far beyond total", f(2, 1, 200, u32::MAX, 100)),
        ("data_length > total - offset", f(2, 1, 200, 150, 100)),
        ("total < count", f(100, 0, 50, 0, 10)),
        ("zero-length fragment", f(2, 0, 200, 0, 0)),
    ]
}

#[test]
fn lying_reliable_fragments() {
    let mut net = default_net();
    let start = net.forge_seq;
    for (what, f) in lies(start) {
        let before = net.drops();
        let data = vec![b'E'; f.data_length as usize];
        let dg = net.hdr().fragment(FORGE_CH, f, &data).bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
        let sent = net.drain_server();
        assert_eq!(net.acks_to(&sent, net.vaddr()), vec![], "{what}: acked");
        assert_eq!(
            net.server().peer_info(net.v_s).unwrap().total_waiting_data,
            0,
            "{what}: something was buffered"
        );
    }
    // The channel is untouched: a valid group at the same start seq goes through.
    let good: Vec<u8> = (0..1800u32).map(|i| i as u8).collect();
    for k in 0..3u32 {
        let f = Fragment {
            start_sequence_number: start,
            data_length: 600,
            fragment_count: 3,
            fragment_number: k,
            total_length: 1800,
            fragment_offset: k * 600,
        };
        let chunk = &good[(k * 600) as usize..(k * 600 + 600) as usize];
        let dg = net.hdr().fragment(FORGE_CH, f, chunk).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 3;
    net.settle();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec(), good]);
    net.forge_good(b"GOOD-after-fragments");
    net.settle();
    assert_eq!(net.forged_received().len(), 3);
    net.check_both_still_work();
}

#[test]
fn lying_unreliable_fragments() {
    let mut net = default_net();
    // Unreliable fragments follow the last reliable seq (1: the probe); u must be fresh.
    let r = net.forge_seq - 1;
    for (i, (what, mut f)) in lies(1).into_iter().enumerate() {
        f.start_sequence_number = 1 + i as u16;
        let before = net.drops();
        let data = vec![b'E'; f.data_length as usize];
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, &data).bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
        assert_eq!(
            net.server().peer_info(net.v_s).unwrap().total_waiting_data,
            0,
            "{what}: something was buffered"
        );
    }
    // A valid unreliable group still goes through.
    let good: Vec<u8> = (0..1200u32).map(|i| (i * 7) as u8).collect();
    for k in 0..2u32 {
        let f = Fragment {
            start_sequence_number: 100,
            data_length: 600,
            fragment_count: 2,
            fragment_number: k,
            total_length: 1200,
            fragment_offset: k * 600,
        };
        let chunk = &good[(k * 600) as usize..(k * 600 + 600) as usize];
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, chunk).bytes();
        net.inject(&dg);
    }
    net.settle();
    assert_eq!(net.forged_received(), vec![b"GOOD-probe".to_vec(), good]);
    net.check_both_still_work();
}

#[test]
fn fragment_group_contradicting_an_earlier_fragment() {
    let mut net = default_net();
    let start = net.forge_seq;
    let good: Vec<u8> = (0..1800u32).map(|i| (i % 251) as u8).collect();
    let frag = |k: u32| Fragment {
        start_sequence_number: start,
        data_length: 600,
        fragment_count: 3,
        fragment_number: k,
        total_length: 1800,
        fragment_offset: k * 600,
    };
    let chunk = |k: u32| &good[(k * 600) as usize..(k * 600 + 600) as usize];
    let dg = net.hdr().fragment(FORGE_CH, frag(0), chunk(0)).bytes();
    net.inject(&dg);
    let before = net.drops();
    let evil = vec![b'E'; 600];
    let lies = [
        Fragment {
            total_length: 2400,
            ..frag(1)
        },
        Fragment {
            fragment_count: 4,
            ..frag(1)
        },
        Fragment {
            fragment_count: 2,
            total_length: 1200,
            ..frag(1)
        },
    ];
    for f in lies {
        let dg = net.hdr().fragment(FORGE_CH, f, &evil).bytes();
        net.inject(&dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::InvalidFragment, lies.len() as u64)],
    );
    // The group is intact; the real fragments complete it, exactly once.
    for k in [2, 1, 1] {
        let dg = net.hdr().fragment(FORGE_CH, frag(k), chunk(k)).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 3;
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), good.clone()]
    );

    // A fragment whose start seq names a queued whole packet is refused too.
    let s = net.forge_seq;
    let dg = net.hdr().reliable(FORGE_CH, s + 1, b"GOOD-held").bytes();
    net.inject(&dg);
    let before = net.drops();
    let f = Fragment {
        start_sequence_number: s + 1,
        data_length: 600,
        fragment_count: 2,
        fragment_number: 1,
        total_length: 1200,
        fragment_offset: 600,
    };
    let dg = net.hdr().fragment(FORGE_CH, f, &evil).bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 1)]);
    let dg = net.hdr().reliable(FORGE_CH, s, b"GOOD-gap").bytes();
    net.inject(&dg);
    net.forge_seq += 2;
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![
            b"GOOD-probe".to_vec(),
            good.clone(),
            b"GOOD-gap".to_vec(),
            b"GOOD-held".to_vec()
        ]
    );

    // The same for unreliable fragment groups.
    let r = net.forge_seq - 1;
    let ufrag = |k: u32| Fragment {
        start_sequence_number: 5,
        ..frag(k)
    };
    let dg = net
        .hdr()
        .unreliable_fragment(FORGE_CH, r, ufrag(0), chunk(0))
        .bytes();
    net.inject(&dg);
    let before = net.drops();
    for f in [
        Fragment {
            total_length: 1801,
            ..ufrag(1)
        },
        Fragment {
            fragment_count: 5,
            ..ufrag(1)
        },
    ] {
        let dg = net.hdr().unreliable_fragment(FORGE_CH, r, f, &evil).bytes();
        net.inject(&dg);
    }
    assert_drops(&before, &net.drops(), &[(DropReason::InvalidFragment, 2)]);
    let waiting = net.server().peer_info(net.v_s).unwrap().total_waiting_data;
    assert_eq!(waiting, 1800, "only the real group is buffered");
    net.check_both_still_work();
}

/// Fragments an ENet sender would never produce (not at `number × length`, lengths that
/// differ within a group, tiny fragments) are dropped before they cost memory.
#[test]
fn misplaced_fragments_are_dropped() {
    let mut net = default_net();
    let start = net.forge_seq;
    let f = |number, offset, len| Fragment {
        start_sequence_number: start,
        data_length: len,
        fragment_count: 4,
        fragment_number: number,
        total_length: 2000,
        fragment_offset: offset,
    };
    let evil = vec![b'E'; 600];
    for (what, frag) in [
        ("offset not number x length", f(1, 700, 600)),
        ("tiny fragments spread over the total", f(1, 500, 1)),
        ("last fragment at a non-multiple", f(3, 1601, 399)),
    ] {
        let before = net.drops();
        let dg = net
            .hdr()
            .fragment(FORGE_CH, frag, &evil[..frag.data_length as usize])
            .bytes();
        net.inject(&dg);
        assert_drops(&before, &net.drops(), &[(DropReason::MisplacedFragment, 1)]);
        let waiting = net.server().peer_info(net.v_s).unwrap().total_waiting_data;
        assert_eq!(waiting, 0, "{what}: a group was created");
    }
    // A group fixed by its first fragment refuses a fragment of another length.
    let dg = net.hdr().fragment(FORGE_CH, f(1, 600, 600), &evil).bytes();
    net.inject(&dg);
    let before = net.drops();
    let dg = net
        .hdr()
        .fragment(FORGE_CH, f(2, 1000, 500), &evil[..500])
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::MisplacedFragment, 1)]);
    // The rest of the group, as a sender places it, completes it.
    let good: Vec<u8> = (0..2000u32).map(|i| (i % 7) as u8).collect();
    for (n, o, l) in [
        (0u32, 0u32, 600u16),
        (1, 600, 600),
        (2, 1200, 600),
        (3, 1800, 200),
    ] {
        let chunk = &good[o as usize..o as usize + l as usize];
        if n == 1 {
            // Fragment 1 is in already (filled with 'E'): a duplicate, ignored.
            let dg = net.hdr().fragment(FORGE_CH, f(n, o, l), chunk).bytes();
            net.inject(&dg);
            continue;
        }
        let dg = net.hdr().fragment(FORGE_CH, f(n, o, l), chunk).bytes();
        net.inject(&dg);
    }
    net.forge_seq += 4;
    net.settle();
    let mut expected = good.clone();
    expected[600..1200].fill(b'E');
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), expected]
    );
    net.check_both_still_work();
}

/// Sources no reply can reach are dropped before any peer state exists; `connect` refuses
/// them with a typed error.
#[test]
fn unanswerable_sources_are_dropped_at_the_door() {
    let mut net = default_net();
    let sources: Vec<SocketAddr> = [
        "127.0.0.1:0",
        "0.0.0.0:7000",
        "255.255.255.255:7000",
        "224.0.0.1:7000",
        "239.1.2.3:7000",
        "[::]:7000",
        "[::1]:0",
        "[ff02::1]:7000",
        "[::ffff:0.0.0.0]:7000",
        "[::ffff:224.0.0.1]:7000",
        "[::ffff:255.255.255.255]:7000",
        "[::ffff:127.0.0.1]:0",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let peers = net.server().active_peers().count();
    for (i, &from) in sources.iter().enumerate() {
        let before = net.drops();
        net.inject_from(from, &connect_dg([9, 9, 9, i as u8], 2));
        assert_drops(
            &before,
            &net.drops(),
            &[(DropReason::UnanswerableSource, 1)],
        );
        assert_eq!(
            net.server().active_peers().count(),
            peers,
            "{from}: a peer was made"
        );
        assert_eq!(net.server().half_open_peers(), 0);
        // Nothing is queued for it either.
        assert!(net.drain_server().iter().all(|(to, _)| *to != from));
        let now = net.tb.now();
        let r = net.tb.host_mut(net.victim).connect(now, from, 1, 0);
        assert_eq!(r, Err(Error::InvalidAddress), "{from}");
    }
    // Answerable neighbours are not caught by the rule.
    for ok in [
        "127.0.0.1:1",
        "[::1]:1",
        "[::ffff:127.0.0.1]:1",
        "192.168.1.255:7000",
    ] {
        let from: SocketAddr = ok.parse().unwrap();
        let before = net.drops();
        net.inject_from(from, &connect_dg([8, 8, 8, 8], 2));
        assert_eq!(
            net.drops().get(DropReason::UnanswerableSource),
            before.get(DropReason::UnanswerableSource),
            "{from}"
        );
    }
    net.check_both_still_work();
}

/// Datagrams above ENet's maximum MTU are dropped whole, as C drops them.
#[test]
fn datagrams_over_4096_bytes_are_dropped() {
    let mut net = default_net();
    let seq = net.forge_seq;
    let mk = |net: &Net, total: usize| {
        let hdr = net.hdr();
        let fixed = hdr.bytes().len() + CommandKind::SendReliable.size();
        net.hdr()
            .reliable(FORGE_CH, seq, &vec![b'G'; total - fixed])
            .bytes()
    };
    let big = mk(&net, 4097);
    assert_eq!(big.len(), 4097);
    let before = net.drops();
    net.inject(&big);
    assert_drops(&before, &net.drops(), &[(DropReason::OversizeDatagram, 1)]);
    let fits = mk(&net, 4096);
    assert_eq!(fits.len(), 4096);
    let before = net.drops();
    net.inject(&fits);
    assert_drops(&before, &net.drops(), &[]);
    net.forge_seq += 1;
    net.settle();
    assert_eq!(
        net.forged_received().len(),
        2,
        "the 4096-byte datagram was delivered"
    );
    net.check_both_still_work();
}

/// The duplicate flood of the report: unreliable packets parked behind a missing reliable
/// packet, then datagrams full of duplicates of the front of that queue. Held entries are
/// bounded per channel (the excess is counted), duplicates are discarded, and when the
/// missing packet arrives everything held is delivered in ENet's order.
#[test]
fn parked_unreliable_flood_is_bounded_and_duplicates_are_discarded() {
    let server = HostConfig {
        maximum_waiting_data: 64 << 20,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let r = net.forge_seq;
    let per = 170;
    let total = MAXIMUM_HELD_PER_QUEUE + 3000;
    let mut useq = 1u32;
    while (useq as usize) <= total {
        let mut dg = net.hdr_no_time();
        for _ in 0..per {
            if useq as usize > total {
                break;
            }
            dg = dg.unreliable(FORGE_CH, r, useq as u16, &[]);
            useq += 1;
        }
        net.inject(&dg.bytes());
    }
    let full = net.drops().get(DropReason::QueueFull);
    // The first refusal stops the rest of its datagram: at least one per datagram beyond.
    assert!(full >= 3000 / per as u64, "{full}");
    let before = net.drops();
    for _ in 0..50 {
        let mut dg = net.hdr_no_time();
        for u in 1..=per as u16 {
            dg = dg.unreliable(FORGE_CH, r, u, &[]);
        }
        net.inject(&dg.bytes());
    }
    let after = net.drops();
    // The queue is full, so duplicates are refused before any search.
    assert_drops(&before, &after, &[(DropReason::QueueFull, 50)]);
    net.collect();
    assert_eq!(
        net.forged_received().len(),
        1,
        "nothing delivered ahead of seq {r}"
    );
    net.forge_good(b"GOOD-release");
    net.settle();
    let released: Vec<u16> = net.logs[0]
        .iter()
        .filter_map(|e| match e {
            Event::Receive {
                channel_id: FORGE_CH,
                packet,
                ..
            } if packet.data.is_empty() => Some(0),
            _ => None,
        })
        .collect();
    assert_eq!(
        released.len(),
        MAXIMUM_HELD_PER_QUEUE,
        "every held packet delivered once"
    );
    // With a queue below its bound, duplicates are discarded silently (as C does).
    let r = net.forge_seq;
    let mut dg = net.hdr_no_time();
    for u in 1..=100u16 {
        dg = dg.unreliable(FORGE_CH, r, u, &[]);
    }
    net.inject(&dg.bytes());
    let before = net.drops();
    for _ in 0..20 {
        let mut dg = net.hdr_no_time();
        for u in 1..=100u16 {
            dg = dg.unreliable(FORGE_CH, r, u, &[]);
        }
        net.inject(&dg.bytes());
    }
    assert_drops(&before, &net.drops(), &[]);
    net.check_both_still_work();
}

// ---------------------------------------------------------------------------- acknowledgements

/// Makes the victim deaf and has the server put one reliable packet in flight to it.
fn in_flight_to_victim(net: &mut Net, data: &[u8]) -> u32 {
    net.tb.set_silent(net.victim, true);
    net.tb
        .host_mut(net.server)
        .send(net.v_s, 1, Packet::reliable(data.to_vec()))
        .unwrap();
    net.tb.run_for(ms(2));
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(info.reliable_data_in_transit, data.len() as u32);
    info.reliable_data_in_transit
}

/// Lets the victim hear again and checks that it gets `data` on channel 1 exactly once.
fn victim_gets_exactly_once(net: &mut Net, data: &[u8]) {
    net.tb.set_silent(net.victim, false);
    net.tb.run_for(Duration::from_secs(3));
    net.collect();
    let got = net.logs[1]
        .iter()
        .filter(
            |e| matches!(e, Event::Receive { channel_id: 1, packet, .. } if packet.data == data),
        )
        .count();
    assert_eq!(got, 1, "the real packet arrives exactly once");
    assert_eq!(
        net.server()
            .peer_info(net.v_s)
            .unwrap()
            .reliable_data_in_transit,
        0
    );
}

#[test]
fn acknowledgements_for_sequence_numbers_never_sent() {
    let mut net = default_net();
    let data = b"DOWN-real-packet".repeat(10);
    let in_transit = in_flight_to_victim(&mut net, &data);
    let rtt = net.server().peer_info(net.v_s).unwrap().round_trip_time;
    let before = net.drops();
    let st = net.server().service_time() as u16;
    // The real packet is channel 1, seq 1. None of these match it.
    let bogus: [(u8, u16); 9] = [
        (1, 2),
        (1, 0),
        (1, 0xFFFF),
        (1, 0x8001),
        (0, 1),
        (2, 1),
        (200, 1),
        (CONTROL_CHANNEL, 999),
        (CONTROL_CHANNEL, 0),
    ];
    let mut dg = net.hdr_no_time();
    for (ch, seq) in bogus {
        dg = dg.ack(ch, seq, st);
    }
    net.inject(&dg.bytes());
    for (ch, seq) in bogus {
        let dg = net.hdr().ack(ch, seq, st).bytes();
        net.inject(&dg);
    }
    // C treats acks that match nothing as no-ops (duplicates are normal on lossy links).
    assert_drops(&before, &net.drops(), &[]);
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(info.reliable_data_in_transit, in_transit);
    assert_eq!(info.state, PeerState::Connected);
    // Their sent time is genuine, so they do count as RTT samples (C does the same).
    assert!(info.round_trip_time <= rtt.max(1));
    victim_gets_exactly_once(&mut net, &data);
    net.check_both_still_work();
}

#[test]
fn unexpected_acknowledgement_while_disconnecting() {
    let mut net = default_net();
    net.tb.set_silent(net.victim, true);
    net.tb.host_mut(net.server).disconnect(net.v_s, 7).unwrap();
    net.tb.run_for(ms(2));
    assert_eq!(
        net.server().peer_state(net.v_s),
        Some(PeerState::Disconnecting)
    );
    let before = net.drops();
    let st = net.server().service_time() as u16;
    let dg = net.hdr().ack(CONTROL_CHANNEL, 999, st).bytes();
    net.inject(&dg);
    let dg = net.hdr().ack(0, 1, st).bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 2)],
    );
    assert_eq!(
        net.server().peer_state(net.v_s),
        Some(PeerState::Disconnecting)
    );
    // The real disconnect completes on both sides.
    net.tb.set_silent(net.victim, false);
    net.tb.run_for(Duration::from_secs(3));
    net.collect();
    assert!(net.logs[0].contains(&Event::Disconnect {
        peer: net.v_s,
        data: 0,
        reason: DisconnectReason::Local
    }));
    assert!(net.logs[1].contains(&Event::Disconnect {
        peer: net.v_c,
        data: 7,
        reason: DisconnectReason::Remote
    }));
    net.assert_nothing_evil();
    net.exchange(Who::Bystander, 6);
}

#[test]
fn unexpected_acknowledgement_while_acknowledging_connect() {
    let mut net = default_net();
    let stranger = foreign(1, 1, 4000);
    let dg = Dg::new(MAXIMUM_PEER_ID, 0, Some(1))
        .connect(connect_fields([7, 7, 7, 7], 2, 0xC0FFEE))
        .bytes();
    net.inject_from(stranger, &dg);
    let half = net
        .server()
        .active_peers()
        .find(|p| net.server().peer_info(*p).unwrap().address == stranger)
        .expect("half-open peer");
    assert_eq!(
        net.server().peer_state(half),
        Some(PeerState::AcknowledgingConnect)
    );
    let before = net.drops();
    let st = net.server().service_time() as u16;
    // Acks of something other than VERIFY_CONNECT (channel 0xFF, seq 1).
    for (ch, seq) in [(CONTROL_CHANNEL, 2), (0, 1), (CONTROL_CHANNEL, 0)] {
        let dg = Dg::new(half.0, 0, None).ack(ch, seq, st).bytes();
        net.inject_from(stranger, &dg);
    }
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 3)],
    );
    assert_eq!(
        net.server().peer_state(half),
        Some(PeerState::AcknowledgingConnect)
    );
    net.settle();
    assert!(!net.logs[0]
        .iter()
        .any(|e| matches!(e, Event::Connect { peer, .. } if *peer == half)));
    // The right ack completes the (crafted) handshake.
    let dg = Dg::new(half.0, 0, None)
        .ack(CONTROL_CHANNEL, 1, net.server().service_time() as u16)
        .bytes();
    net.inject_from(stranger, &dg);
    net.settle();
    assert!(net.logs[0].contains(&Event::Connect {
        peer: half,
        data: 0xC0FFEE
    }));
    net.tb.host_mut(net.server).reset(half).unwrap();
    net.check_both_still_work();
}

#[test]
fn acknowledgement_with_sent_time_in_the_future() {
    let mut net = default_net();
    let data = b"DOWN-future-ack".repeat(5);
    let in_transit = in_flight_to_victim(&mut net, &data);
    let info = net.server().peer_info(net.v_s).unwrap();
    let st = net.server().service_time();
    let future = st.wrapping_add(1000);
    assert_eq!(st & 0x8000, future & 0x8000, "no half-wrap in this test");
    let before = net.drops();
    // Acks the real packet (channel 1, seq 1) but claims a future send time; a valid
    // command follows in the same datagram and must still be processed.
    let seq = net.forge_seq;
    net.forge_seq += 1;
    let dg = net
        .hdr()
        .ack(1, 1, future as u16)
        .reliable(FORGE_CH, seq, b"GOOD-after-future-ack")
        .bytes();
    net.inject(&dg);
    assert_drops(
        &before,
        &net.drops(),
        &[(DropReason::UnexpectedAcknowledge, 1)],
    );
    let after = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(after.reliable_data_in_transit, in_transit, "not removed");
    assert_eq!(after.round_trip_time, info.round_trip_time);
    assert_eq!(
        after.round_trip_time_variance,
        info.round_trip_time_variance
    );
    net.tb.run_for(ms(1));
    net.collect();
    assert_eq!(
        net.forged_received(),
        vec![b"GOOD-probe".to_vec(), b"GOOD-after-future-ack".to_vec()]
    );
    victim_gets_exactly_once(&mut net, &data);
    net.check_both_still_work();
}

#[test]
fn reliable_command_without_sent_time() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let dg = net
        .hdr_no_time()
        .reliable(FORGE_CH, seq, b"GOOD-no-sent-time")
        .reliable(FORGE_CH, seq + 1, b"EVIL-after-missing-sent-time")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::MissingSentTime, 1)]);
    // C handles the command but cannot acknowledge it, and stops there.
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![]);
    // The sender's retransmission (with sent time) is a duplicate: acked, not redelivered.
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"GOOD-no-sent-time")
        .bytes();
    net.inject(&dg);
    let sent = net.drain_server();
    assert_eq!(net.acks_to(&sent, net.vaddr()), vec![(FORGE_CH, seq)]);
    net.forge_seq += 1;
    net.forge_good(b"GOOD-next");
    net.settle();
    assert_eq!(
        net.forged_received(),
        vec![
            b"GOOD-probe".to_vec(),
            b"GOOD-no-sent-time".to_vec(),
            b"GOOD-next".to_vec()
        ]
    );
    // Unreliable commands need no sent time.
    let before = net.drops();
    let r = net.forge_seq - 1;
    let dg = net
        .hdr_no_time()
        .unreliable(FORGE_CH, r, 1, b"GOOD-unreliable")
        .bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[]);
    net.settle();
    assert_eq!(net.forged_received().len(), 4);
    net.check_both_still_work();
}

// ---------------------------------------------------------------------------- connects

fn connect_dg(id: [u8; 4], channels: u32) -> Vec<u8> {
    Dg::new(MAXIMUM_PEER_ID, 0, Some(0x1234))
        .connect(connect_fields(id, channels, 0))
        .bytes()
}

fn verifies_to(sent: &[(SocketAddr, Vec<u8>)], to: SocketAddr) -> Vec<Connect> {
    sent.iter()
        .filter(|(a, _)| *a == to)
        .flat_map(|(_, d)| decode(d, false))
        .filter_map(|(_, c)| match c {
            Command::VerifyConnect(v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn connect_with_invalid_channel_count() {
    let mut net = default_net();
    let stranger = foreign(2, 1, 5000);
    let before = net.drops();
    for (i, count) in [0u32, 256, 0x1_0001, u32::MAX].into_iter().enumerate() {
        net.inject_from(stranger, &connect_dg([1, 1, 1, i as u8], count));
    }
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 4)]);
    assert_eq!(net.server().active_peers().count(), 2);
    assert!(verifies_to(&net.drain_server(), stranger).is_empty());
    // The boundaries 1 and 255 are accepted.
    let before = net.drops();
    net.inject_from(stranger, &connect_dg([2, 2, 2, 1], 1));
    net.inject_from(stranger, &connect_dg([2, 2, 2, 2], 255));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 4);
    let verifies = verifies_to(&net.drain_server(), stranger);
    let mut counts: Vec<u32> = verifies.iter().map(|v| v.channel_count).collect();
    counts.sort();
    assert_eq!(counts, vec![1, 255]);
    net.check_both_still_work();
}

#[test]
fn duplicate_connect_creates_no_second_peer() {
    let mut net = default_net();
    let stranger = foreign(2, 2, 5000);
    let dg = connect_dg([3, 3, 3, 3], 2);
    let before = net.drops();
    net.inject_from(stranger, &dg);
    net.inject_from(stranger, &dg);
    net.inject_from(stranger, &dg);
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 2)]);
    assert_eq!(net.server().active_peers().count(), 3);
    assert_eq!(verifies_to(&net.drain_server(), stranger).len(), 1);
    // A replay of the victim's own CONNECT (same address, same connect id).
    let before = net.drops();
    let id = net.server().peer_info(net.v_s).unwrap().connect_id;
    let dg = connect_dg(id, CHANNELS as u32);
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    assert_eq!(net.server().active_peers().count(), 3);
    // The same connect id from another port is another connection (C compares the port).
    let before = net.drops();
    net.inject_from(foreign(2, 2, 5001), &connect_dg([3, 3, 3, 3], 2));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 4);
    net.check_both_still_work();
}

#[test]
fn connect_flood_beyond_the_peer_table() {
    let server = HostConfig {
        peer_count: 6,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    for i in 0..40u8 {
        net.inject_from(foreign(3, i, 6000), &connect_dg([4, 4, 4, i], 2));
    }
    // A full host evicts the oldest half-open connection for each new CONNECT.
    assert_drops(&before, &net.drops(), &[(DropReason::HalfOpenEvicted, 36)]);
    assert_eq!(net.server().active_peers().count(), 6);
    assert_eq!(net.server().half_open_peers(), 4);
    let mut half_open: Vec<SocketAddr> = net
        .server()
        .active_peers()
        .filter_map(|p| net.server().peer_info(p))
        .filter(|i| i.state == PeerState::AcknowledgingConnect)
        .map(|i| i.address)
        .collect();
    half_open.sort();
    let newest: Vec<SocketAddr> = (36..40u8).map(|i| foreign(3, i, 6000)).collect();
    assert_eq!(half_open, newest, "the newest requests hold the slots");
    net.exchange(Who::Bystander, 6);
    net.exchange(Who::Victim, 6);
    // The half-open slots time out silently and become usable again.
    net.tb.run_for(Duration::from_secs(40));
    net.collect();
    assert_eq!(net.server().active_peers().count(), 2);
    let server_events: Vec<&Event> = net.logs[0]
        .iter()
        .filter(|e| !matches!(e, Event::Receive { .. }))
        .collect();
    assert!(server_events.is_empty(), "{server_events:?}");
    let before = net.drops();
    for i in 0..4u8 {
        net.inject_from(foreign(4, i, 6000), &connect_dg([5, 5, 5, i], 2));
    }
    net.inject_from(foreign(4, 9, 6000), &connect_dg([5, 5, 5, 9], 2));
    assert_drops(&before, &net.drops(), &[(DropReason::HalfOpenEvicted, 1)]);
    assert_eq!(net.server().active_peers().count(), 6);
    net.check_both_still_work();
}

/// With every slot connected (none half-open), a CONNECT is refused and nobody is evicted.
#[test]
fn connect_to_a_host_full_of_connected_peers_is_refused() {
    let server = HostConfig {
        peer_count: 2,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    net.inject_from(foreign(3, 1, 6000), &connect_dg([4, 4, 4, 1], 2));
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    assert_eq!(net.server().half_open_peers(), 0);
    net.check_both_still_work();
}

#[test]
fn duplicate_peers_limit_per_address() {
    let server = HostConfig {
        duplicate_peers: 2,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let before = net.drops();
    let ip = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)), port);
    for port in 1000..1005u16 {
        net.inject_from(ip(port), &connect_dg([6, 6, 6, port as u8], 2));
    }
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 3)]);
    // Another address is not affected.
    let before = net.drops();
    let other_ip = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2)), 1000);
    net.inject_from(other_ip, &connect_dg([6, 6, 7, 0], 2));
    assert_drops(&before, &net.drops(), &[]);
    assert_eq!(net.server().active_peers().count(), 5);
    // A real client opening a second and a third connection: only one more fits.
    let saddr = net.saddr();
    let now = net.tb.now();
    let second = net
        .tb
        .host_mut(net.victim)
        .connect(now, saddr, 2, 11)
        .unwrap();
    let third = net
        .tb
        .host_mut(net.victim)
        .connect(now, saddr, 2, 12)
        .unwrap();
    let before = net.drops();
    net.tb.run_for(ms(200));
    net.collect();
    assert_drops(&before, &net.drops(), &[(DropReason::ConnectRefused, 1)]);
    let ok: Vec<PeerId> = [second, third]
        .into_iter()
        .filter(|p| net.tb.host(net.victim).peer_state(*p) == Some(PeerState::Connected))
        .collect();
    assert_eq!(ok.len(), 1, "exactly one more connection from the victim");
    net.exchange(Who::Bystander, 6);
    net.exchange(Who::Victim, 6);
    // Once the half-open connections time out, the address may connect again.
    net.tb.run_for(Duration::from_secs(40));
    net.collect();
    let before = net.drops();
    for port in 2000..2002u16 {
        net.inject_from(ip(port), &connect_dg([6, 6, 8, port as u8], 2));
    }
    assert_drops(&before, &net.drops(), &[]);
    let server_disconnects: Vec<&Event> = net.logs[0]
        .iter()
        .filter(|e| matches!(e, Event::Disconnect { .. }))
        .collect();
    assert!(server_disconnects.is_empty(), "{server_disconnects:?}");
    // The refused attempt of the victim timed out on its side; its first connection lives.
    assert!(net.logs[1].iter().any(|e| matches!(
        e,
        Event::Disconnect {
            reason: DisconnectReason::Timeout,
            ..
        }
    )));
    net.exchange(Who::Victim, 6);
    net.exchange(Who::Bystander, 6);
    net.assert_nothing_evil();
}

// ---------------------------------------------------------------------------- compression, checksum

#[test]
fn compressed_flag_without_a_compressor() {
    let mut net = default_net();
    let before = net.drops();
    let seq = net.forge_seq;
    let dg = net
        .hdr()
        .reliable(FORGE_CH, seq, b"EVIL")
        .compressed()
        .bytes();
    net.inject(&dg);
    let dg = net.hdr_no_time().compressed().bytes();
    net.inject(&dg);
    // A genuinely range-coded command area.
    let plain = net.hdr().reliable(FORGE_CH, seq, b"EVIL-coded");
    let mut coder = RangeCoder::new();
    use enet_proto::Compressor;
    let mut out = vec![0u8; 4096];
    let n = coder.compress(&plain.body, &mut out).unwrap();
    let mut dg = net.hdr().compressed();
    dg.body = out[..n].to_vec();
    net.inject(&dg.bytes());
    assert_drops(&before, &net.drops(), &[(DropReason::NoDecompressor, 3)]);
    net.check_both_still_work();
}

#[test]
fn undecodable_compressed_datagrams_with_a_compressor() {
    let mut net = Net::with_setup(HostConfig::default(), HostConfig::default(), |h| {
        h.set_compressor(Some(Box::new(RangeCoder::new())))
    });
    let before = net.drops();
    let dg = net.hdr_no_time().compressed().bytes();
    net.inject(&dg);
    assert_drops(&before, &net.drops(), &[(DropReason::DecompressFailed, 1)]);
    // Garbage: whatever it decodes to, nothing may break.
    let mut x = 0x1234_5678u32;
    for len in [1usize, 2, 7, 64, 500, 3000] {
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut dg = net.hdr().compressed();
        dg.body = body;
        net.inject(&dg.bytes());
    }
    net.check_both_still_work();
}

#[test]
fn checksum_mismatch() {
    let cfg = HostConfig {
        checksum: true,
        ..HostConfig::default()
    };
    let mut net = Net::new(cfg.clone(), cfg);
    let before = net.drops();
    let seq = net.forge_seq;
    let good = net.hdr().reliable(FORGE_CH, seq, b"EVIL-checksum");
    // Corrupted checksum field.
    let mut dg = good.bytes();
    dg[5] ^= 0x01;
    net.inject(&dg);
    // Computed with the wrong seed.
    let mut wrong_seed = good.clone();
    wrong_seed.checksum = Some([0; 4]);
    net.inject(&wrong_seed.bytes());
    // Body changed after the checksum was computed.
    let mut dg = good.bytes();
    let last = dg.len() - 1;
    dg[last] ^= 0x20;
    net.inject(&dg);
    // Header changed (sent time) after the checksum was computed.
    let mut dg = good.bytes();
    dg[3] ^= 0x01;
    net.inject(&dg);
    // No checksum at all, as a host without one would send.
    let mut none = good.clone();
    none.checksum = None;
    net.inject(&none.bytes());
    assert_drops(&before, &net.drops(), &[(DropReason::ChecksumMismatch, 5)]);
    // A CONNECT with a bad checksum does not create a peer.
    let before = net.drops();
    let mut c = Dg::new(MAXIMUM_PEER_ID, 0, Some(5))
        .connect(connect_fields([8; 4], 2, 0))
        .with_checksum([0; 4])
        .bytes();
    c[4] ^= 0xFF;
    net.inject_from(foreign(5, 5, 5), &c);
    assert_drops(&before, &net.drops(), &[(DropReason::ChecksumMismatch, 1)]);
    assert_eq!(net.server().active_peers().count(), 2);
    net.check_both_still_work();
}

#[test]
fn extreme_throttle_parameters_from_the_remote() {
    let mut net = default_net();
    let jitter = LinkConfig::new().with_latency(ms(30), ms(25));
    net.tb.set_link(net.server, net.victim, jitter);
    let before = net.drops();
    // Legal on the wire: the throttle parameters are plain u32s. Sent for real by the
    // victim, and also forged with other extremes.
    net.tb
        .host_mut(net.victim)
        .throttle_configure(net.v_c, 1, u32::MAX, u32::MAX)
        .unwrap();
    net.tb.run_for(ms(200));
    let info = net.server().peer_info(net.v_s).unwrap();
    assert_eq!(
        (
            info.packet_throttle_interval,
            info.packet_throttle_acceleration,
            info.packet_throttle_deceleration
        ),
        (1, u32::MAX, u32::MAX)
    );
    // Plenty of acknowledgements with varying round-trip times in both directions.
    for _ in 0..4 {
        net.exchange(Who::Victim, 30);
        net.exchange(Who::Bystander, 3);
    }
    let dg = net
        .hdr()
        .cmd(
            0x8B,
            CONTROL_CHANNEL,
            1000,
            Command::ThrottleConfigure {
                packet_throttle_interval: 0,
                packet_throttle_acceleration: 0x8000_0001,
                packet_throttle_deceleration: 0,
            },
            &[],
        )
        .bytes();
    net.inject(&dg);
    for _ in 0..4 {
        net.exchange(Who::Victim, 30);
    }
    assert_drops(&before, &net.drops(), &[]);
    let info = net.server().peer_info(net.v_s).unwrap();
    assert!(info.packet_throttle <= info.packet_throttle_limit);
    net.check_both_still_work();
}

// ---------------------------------------------------------------------------- waiting data

/// A tiny lossless driver that, unlike the testbed, lets a test leave a host's events
/// unpolled.
struct Wire {
    now: Instant,
    hosts: Vec<(SocketAddr, Host)>,
    events: Vec<Vec<Event>>,
    /// Whether each host's events are drained while time runs.
    polled: Vec<bool>,
    /// Deliver each batch of datagrams in reverse order.
    reorder: bool,
}

impl Wire {
    fn new() -> Wire {
        Wire {
            now: Instant::now(),
            hosts: Vec::new(),
            events: Vec::new(),
            polled: Vec::new(),
            reorder: false,
        }
    }

    fn add(&mut self, config: HostConfig) -> usize {
        let n = self.hosts.len();
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 0, n as u8 + 1)), 7777);
        self.hosts
            .push((addr, Host::new(config, self.now).unwrap()));
        self.events.push(Vec::new());
        self.polled.push(true);
        n
    }

    fn pump(&mut self) {
        let mut buf = Vec::new();
        loop {
            let mut moved = VecDeque::new();
            for (from, host) in self.hosts.iter_mut() {
                while let Some(to) = host.poll_transmit(self.now, &mut buf) {
                    moved.push_back((*from, to, buf.clone()));
                }
            }
            if moved.is_empty() {
                break;
            }
            if self.reorder {
                moved.make_contiguous().reverse();
            }
            for (from, to, d) in moved {
                if let Some((_, h)) = self.hosts.iter_mut().find(|(a, _)| *a == to) {
                    h.handle_datagram(self.now, from, &d);
                }
            }
        }
        for (i, (_, host)) in self.hosts.iter_mut().enumerate() {
            if self.polled[i] {
                while let Some(e) = host.poll_event() {
                    self.events[i].push(e);
                }
            }
        }
    }

    /// Runs `n` milliseconds, 1 ms at a time.
    fn run_ms(&mut self, n: u64, mut each: impl FnMut(&Wire)) {
        for _ in 0..n {
            self.now += ms(1);
            for (_, host) in self.hosts.iter_mut() {
                if host.poll_timeout().is_some_and(|t| t <= self.now) {
                    host.handle_timeout(self.now);
                }
            }
            self.pump();
            each(self);
        }
    }
}

#[test]
fn waiting_data_limit() {
    waiting_data_limit_run(false, &[1000]);
}

#[test]
fn waiting_data_limit_with_reordering_and_fragments() {
    waiting_data_limit_run(true, &[1000, 2600, 300, 4000]);
}

/// Packets without payload cost the receiver memory too (a queue entry, an event), so
/// they must count against the waiting-data limit: otherwise a peer can park an unbounded
/// number of them (unreliable packets tagged with a future reliable seq are held until that
/// seq arrives, and every (seq, unreliable seq) pair is a distinct entry).
#[test]
fn zero_length_packets_cannot_exhaust_memory() {
    const LIMIT: usize = 64 * 1024;
    let server = HostConfig {
        maximum_waiting_data: LIMIT,
        ..HostConfig::default()
    };
    let mut net = Net::new(server, HostConfig::default());
    let r = net.forge_seq - 1;
    let before = net.drops();
    let mut useq = 1u16;
    for _ in 0..100 {
        let mut dg = net.hdr_no_time();
        for _ in 0..400 {
            dg = dg.unreliable(FORGE_CH, r + 1, useq, &[]);
            useq += 1;
        }
        net.inject(&dg.bytes());
    }
    let refused =
        net.drops().get(DropReason::WaitingDataLimit) - before.get(DropReason::WaitingDataLimit);
    assert!(refused > 0, "40000 empty packets were all parked");
    // The same with in-order empty packets while the application does not poll: each is
    // an event waiting in the host.
    let before = net.drops();
    let mut group = 1u16;
    for _ in 0..100 {
        let mut dg = net.hdr_no_time();
        for _ in 0..300 {
            dg = dg.unsequenced(FORGE_CH, group, &[]);
            group += 1;
        }
        net.inject(&dg.bytes());
    }
    let refused =
        net.drops().get(DropReason::WaitingDataLimit) - before.get(DropReason::WaitingDataLimit);
    assert!(refused > 0, "30000 empty events were all queued");
    // Release the parked packets: only a bounded number was kept.
    net.forge_good(b"GOOD-release");
    net.settle();
    let delivered = net.logs[0]
        .iter()
        .filter(|e| matches!(e, Event::Receive { channel_id: FORGE_CH, packet, .. } if packet.data.is_empty()))
        .count();
    assert!(
        delivered > 0 && delivered < 2 * LIMIT / 32,
        "{delivered} empty packets kept"
    );
    net.check_both_still_work();
}

/// Floods a server whose application does not poll, then lets it poll again.
fn waiting_data_limit_run(reorder: bool, sizes: &[usize]) {
    const LIMIT: usize = 8 * 1024;
    const MAX_PACKET: usize = 4096;
    const COUNT: usize = 120;
    assert!(sizes.iter().all(|&s| s <= MAX_PACKET));
    let mut w = Wire::new();
    w.reorder = reorder;
    let server = w.add(HostConfig {
        maximum_waiting_data: LIMIT,
        maximum_packet_size: MAX_PACKET,
        ..HostConfig::default()
    });
    let victim = w.add(HostConfig {
        seed: 1,
        ..HostConfig::default()
    });
    let bystander = w.add(HostConfig {
        seed: 2,
        ..HostConfig::default()
    });
    let saddr = w.hosts[server].0;
    let now = w.now;
    let vc = w.hosts[victim].1.connect(now, saddr, 2, 1).unwrap();
    let bc = w.hosts[bystander].1.connect(now, saddr, 2, 2).unwrap();
    w.run_ms(50, |_| {});
    let peer_of = |w: &Wire, data| {
        w.events[server].iter().find_map(|e| match e {
            Event::Connect { peer, data: d } if *d == data => Some(*peer),
            _ => None,
        })
    };
    let vs = peer_of(&w, 1).unwrap();
    let bs = peer_of(&w, 2).unwrap();
    w.events[server].clear();

    let msg = |i: usize| {
        let mut m = vec![(i % 251) as u8; sizes[i % sizes.len()]];
        m[..4].copy_from_slice(&(i as u32).to_be_bytes());
        m
    };
    // Phase 1: the server application stops polling; the victim floods it.
    w.polled[server] = false;
    for i in 0..COUNT {
        w.hosts[victim]
            .1
            .send(vc, 0, Packet::reliable(msg(i)))
            .unwrap();
    }
    let small: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("bystander-{i}").into_bytes())
        .collect();
    for m in &small {
        w.hosts[bystander]
            .1
            .send(bc, 0, Packet::reliable(m.clone()))
            .unwrap();
    }
    let mut peak = 0;
    w.run_ms(1500, |w| {
        let waiting = w.hosts[server].1.peer_info(vs).unwrap().total_waiting_data;
        peak = peak.max(waiting);
    });
    let server_host = &w.hosts[server].1;
    assert!(server_host.drop_stats().get(DropReason::WaitingDataLimit) > 0);
    assert!(peak >= LIMIT / 2, "the limit was reached ({peak})");
    // The engine's bound: the limit for delivered data, plus at most the limit and three
    // maximum-size packets held in the queues (see `Host::queue_incoming`).
    assert!(
        peak < 2 * LIMIT + 3 * MAX_PACKET,
        "undelivered data stays bounded: {peak} bytes"
    );
    // The bystander is not affected by the victim's limit.
    assert_eq!(
        server_host.peer_info(bs).unwrap().total_waiting_data,
        small.iter().map(|m| m.len()).sum::<usize>()
    );
    assert_eq!(server_host.peer_state(vs), Some(PeerState::Connected));

    // Phase 2: the application polls again; everything arrives exactly once, in order.
    w.polled[server] = true;
    let mut elapsed = 0;
    loop {
        w.run_ms(100, |_| {});
        elapsed += 100;
        let got = w.events[server]
            .iter()
            .filter(|e| matches!(e, Event::Receive { peer, .. } if *peer == vs))
            .count();
        // Reversed batches are harsh with a budget this small: every retransmission round
        // fills it with the packets furthest ahead first. Progress is slower, but steady.
        if got >= COUNT || elapsed > 60_000 {
            break;
        }
    }
    w.run_ms(100, |_| {});
    let from = |peer: PeerId| -> Vec<Vec<u8>> {
        w.events[server]
            .iter()
            .filter_map(|e| match e {
                Event::Receive {
                    peer: p, packet, ..
                } if *p == peer => Some(packet.data.to_vec()),
                _ => None,
            })
            .collect()
    };
    let expected: Vec<Vec<u8>> = (0..COUNT).map(msg).collect();
    assert_eq!(
        from(vs).len(),
        COUNT,
        "all flood messages arrive (victim {:?})",
        w.hosts[server].1.peer_info(vs)
    );
    assert!(from(vs) == expected, "in order, exactly once");
    assert_eq!(from(bs), small);
    assert_eq!(
        w.hosts[server].1.peer_info(vs).unwrap().total_waiting_data,
        0
    );
    for (h, p) in [(victim, vc), (bystander, bc)] {
        assert_eq!(w.hosts[h].1.peer_state(p), Some(PeerState::Connected));
    }
    // And the bystander still exchanges both ways.
    w.hosts[server]
        .1
        .send(bs, 1, Packet::reliable(&b"server-to-bystander"[..]))
        .unwrap();
    w.hosts[bystander]
        .1
        .send(bc, 1, Packet::reliable(&b"bystander-to-server"[..]))
        .unwrap();
    w.run_ms(100, |_| {});
    assert!(w.events[bystander].iter().any(
        |e| matches!(e, Event::Receive { packet, .. } if packet.data == b"server-to-bystander"[..])
    ));
    assert!(w.events[server].iter().any(
        |e| matches!(e, Event::Receive { packet, .. } if packet.data == b"bystander-to-server"[..])
    ));
}

// ---------------------------------------------------------------------------- proptests

/// Case count of a proptest: `default`, unless `PROPTEST_CASES` asks for more (or fewer).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Server configuration for fuzzing: small limits, so that bounds are tight.
fn fuzz_server() -> HostConfig {
    HostConfig {
        maximum_packet_size: 64 * 1024,
        maximum_waiting_data: 128 * 1024,
        ..HostConfig::default()
    }
}

/// After junk: memory stays bounded and the bystander still works.
fn check_after_junk(net: &mut Net) {
    net.tb.run_for(ms(200));
    net.collect();
    let cfg = net.server().config().clone();
    let active: Vec<PeerId> = net.server().active_peers().collect();
    assert!(active.len() <= cfg.peer_count);
    // The engine's bound per peer (see `Host::queue_incoming`): the limit for delivered
    // data plus the limit and three maximum-size packets held in the queues.
    let bound = 2 * cfg.maximum_waiting_data + 3 * cfg.maximum_packet_size;
    for p in active {
        let info = net.server().peer_info(p).unwrap();
        assert!(
            info.total_waiting_data < bound,
            "peer {p:?} holds {} bytes",
            info.total_waiting_data
        );
    }
    assert_eq!(net.server().peer_state(net.b_s), Some(PeerState::Connected));
    net.exchange(Who::Bystander, 3);
}

#[derive(Clone, Debug)]
enum Junk {
    /// Arbitrary bytes from the victim's or a stranger's address.
    Raw { stranger: bool, bytes: Vec<u8> },
    /// A valid header of the victim (or a wrong session), then arbitrary bytes.
    Framed {
        sent_time: bool,
        compressed: bool,
        session: u8,
        body: Vec<u8>,
    },
    /// A valid header of the victim, then structurally plausible commands.
    Commands { sent_time: bool, cmds: Vec<Vec<u8>> },
}

fn arb_command_bytes() -> impl Strategy<Value = Vec<u8>> {
    let channel = prop_oneof![0u8..5, Just(CONTROL_CHANNEL), any::<u8>()];
    let seq = prop_oneof![0u16..8, any::<u16>()];
    let small = prop_oneof![0u32..4, 0u32..300, Just(u32::MAX), any::<u32>()];
    // Command numbers, weighted towards the data commands; a DISCONNECT ends the fun early.
    let kind = prop_oneof![
        2 => Just(1u8),
        1 => Just(2u8),
        1 => Just(3u8),
        1 => Just(4u8),
        2 => Just(5u8),
        6 => Just(6u8),
        4 => Just(7u8),
        6 => Just(8u8),
        3 => Just(9u8),
        2 => Just(10u8),
        2 => Just(11u8),
        5 => Just(12u8),
    ];
    (
        kind,
        0u8..4,
        channel,
        seq,
        proptest::collection::vec(small, 10),
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<bool>(),
    )
        .prop_map(|(kind, flags, ch, seq, f, payload, honest_len)| {
            let k = CommandKind::from_number(kind).unwrap();
            let len = if honest_len {
                payload.len() as u16
            } else {
                f[9] as u16
            };
            let body = match k {
                CommandKind::Acknowledge => Command::Acknowledge {
                    received_reliable_sequence_number: f[0] as u16,
                    received_sent_time: f[1] as u16,
                },
                CommandKind::Connect | CommandKind::VerifyConnect => {
                    let c = Connect {
                        outgoing_peer_id: f[0] as u16,
                        incoming_session_id: f[1] as u8,
                        outgoing_session_id: f[2] as u8,
                        mtu: f[3],
                        window_size: f[4],
                        channel_count: f[5],
                        incoming_bandwidth: f[6],
                        outgoing_bandwidth: f[7],
                        packet_throttle_interval: f[8],
                        packet_throttle_acceleration: f[9],
                        packet_throttle_deceleration: f[0],
                        connect_id: f[1].to_le_bytes(),
                        data: f[2],
                    };
                    if k == CommandKind::Connect {
                        Command::Connect(c)
                    } else {
                        Command::VerifyConnect(c)
                    }
                }
                CommandKind::Disconnect => Command::Disconnect { data: f[0] },
                CommandKind::Ping => Command::Ping,
                CommandKind::SendReliable => Command::SendReliable { data_length: len },
                CommandKind::SendUnreliable => Command::SendUnreliable {
                    unreliable_sequence_number: f[0] as u16,
                    data_length: len,
                },
                CommandKind::SendFragment | CommandKind::SendUnreliableFragment => {
                    Command::SendFragment(Fragment {
                        start_sequence_number: f[0] as u16,
                        data_length: len,
                        fragment_count: f[1],
                        fragment_number: f[2],
                        total_length: f[3].wrapping_mul(if f[4] % 2 == 0 { 1 } else { 300 }),
                        fragment_offset: f[5],
                    })
                }
                CommandKind::SendUnsequenced => Command::SendUnsequenced {
                    unsequenced_group: f[0] as u16,
                    data_length: len,
                },
                CommandKind::BandwidthLimit => Command::BandwidthLimit {
                    incoming_bandwidth: f[0],
                    outgoing_bandwidth: f[1],
                },
                CommandKind::ThrottleConfigure => Command::ThrottleConfigure {
                    packet_throttle_interval: f[0],
                    packet_throttle_acceleration: f[1],
                    packet_throttle_deceleration: f[2],
                },
            };
            let header = CommandHeader {
                command: kind | (flags << 6),
                channel_id: ch,
                reliable_sequence_number: seq,
            };
            let mut buf = vec![0u8; 64];
            let n = body.write(&header, &mut buf);
            buf.truncate(n);
            buf.extend_from_slice(&payload);
            buf
        })
}

fn arb_junk() -> impl Strategy<Value = Junk> {
    prop_oneof![
        1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..2000))
            .prop_map(|(stranger, bytes)| Junk::Raw { stranger, bytes }),
        1 => (
            any::<bool>(),
            proptest::bool::weighted(0.1),
            prop_oneof![4 => Just(0u8), 1 => 0u8..4],
            proptest::collection::vec(any::<u8>(), 0..600)
        )
            .prop_map(|(sent_time, compressed, session, body)| Junk::Framed {
                sent_time,
                compressed,
                session,
                body
            }),
        3 => (
            proptest::bool::weighted(0.9),
            proptest::collection::vec(arb_command_bytes(), 1..12)
        )
            .prop_map(|(sent_time, cmds)| Junk::Commands { sent_time, cmds }),
    ]
}

fn feed_junk(net: &mut Net, junk: &Junk) {
    match junk {
        Junk::Raw { stranger, bytes } => {
            if *stranger {
                net.inject_from(foreign(9, 9, 9), bytes);
            } else {
                net.inject(bytes);
            }
        }
        Junk::Framed {
            sent_time,
            compressed,
            session,
            body,
        } => {
            let mut dg = if *sent_time {
                net.hdr()
            } else {
                net.hdr_no_time()
            };
            dg.header.compressed = *compressed;
            dg.header.session_id = *session;
            let dg = dg.raw(body).bytes();
            net.inject(&dg);
        }
        Junk::Commands { sent_time, cmds } => {
            let mut dg = if *sent_time {
                net.hdr()
            } else {
                net.hdr_no_time()
            };
            for c in cmds {
                dg = dg.raw(c);
            }
            net.inject(&dg.bytes());
        }
    }
}

/// Datagrams captured from a live exchange between the victim and the server, in a net
/// built exactly like the fuzzing nets (so peer ids, sessions and connect ids match).
fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        let mut out = Vec::new();
        let (v, vc, vs, s) = (net.victim, net.v_c, net.v_s, net.server);
        let big: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
        {
            let c = net.tb.host_mut(v);
            c.send(vc, 0, Packet::reliable(&b"hello"[..])).unwrap();
            c.send(vc, 1, Packet::reliable(big.clone())).unwrap();
            c.send(vc, 2, Packet::unreliable(&b"unrel"[..])).unwrap();
            c.send(vc, 0, Packet::unsequenced(&b"unseq"[..])).unwrap();
            c.send(
                vc,
                2,
                Packet::new(big.clone(), PacketFlags::UNRELIABLE_FRAGMENT),
            )
            .unwrap();
            c.send(vc, 1, Packet::reliable(Vec::new())).unwrap();
            c.ping(vc).unwrap();
            c.throttle_configure(vc, 1000, 3, 4).unwrap();
        }
        net.tb
            .host_mut(s)
            .send(vs, 1, Packet::reliable(big.clone()))
            .unwrap();
        net.tb
            .host_mut(s)
            .send(vs, 0, Packet::reliable(&b"down"[..]))
            .unwrap();
        let saddr = net.saddr();
        let vaddr = net.vaddr();
        let mut buf = Vec::new();
        for _ in 0..6 {
            let now = net.tb.now();
            let mut batch = Vec::new();
            while let Some(to) = net.tb.host_mut(v).poll_transmit(now, &mut buf) {
                batch.push((v, to, buf.clone()));
            }
            while let Some(to) = net.tb.host_mut(s).poll_transmit(now, &mut buf) {
                batch.push((s, to, buf.clone()));
            }
            for (from, to, d) in batch {
                if to == saddr {
                    net.tb.host_mut(s).handle_datagram(now, vaddr, &d);
                    out.push(d);
                } else if to == vaddr && from == s {
                    net.tb.host_mut(v).handle_datagram(now, saddr, &d);
                    out.push(d);
                }
            }
        }
        // Control commands the clients would send on their own schedule.
        out.push(
            net.hdr()
                .cmd(
                    0x8A,
                    0xFF,
                    40,
                    Command::BandwidthLimit {
                        incoming_bandwidth: 100_000,
                        outgoing_bandwidth: 0,
                    },
                    &[],
                )
                .bytes(),
        );
        out.push(connect_dg([0xAB; 4], 3));
        out.push(
            net.hdr()
                .cmd(0x84, 0xFF, 41, Command::Disconnect { data: 5 }, &[])
                .bytes(),
        );
        assert!(out.len() >= 10, "corpus too small: {}", out.len());
        out
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Truncate {
        len: usize,
    },
    Splice {
        other: usize,
        at: usize,
        from: usize,
    },
    Overwrite {
        at: usize,
        value: u32,
        width: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0xFF),
        Just(0xFFFF),
        Just(0x8000),
        Just(0x8000_0000),
        Just(u32::MAX),
        any::<u32>()
    ];
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        1 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(other, at, from)| Mutation::Splice { other, at, from }),
        2 => (any::<usize>(), interesting, prop_oneof![Just(1u8), Just(2), Just(4)])
            .prop_map(|(at, value, width)| Mutation::Overwrite { at, value, width }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn mutate(mut d: Vec<u8>, m: &Mutation, corpus: &[Vec<u8>]) -> Vec<u8> {
    let n = d.len().max(1);
    match m {
        Mutation::Flip { at, bit } => {
            if !d.is_empty() {
                d[at % n] ^= 1 << bit;
            }
        }
        Mutation::Truncate { len } => d.truncate(len % n),
        Mutation::Splice { other, at, from } => {
            let o = &corpus[other % corpus.len()];
            d.truncate(at % n);
            d.extend_from_slice(&o[from % o.len().max(1)..]);
        }
        Mutation::Overwrite { at, value, width } => {
            let bytes = value.to_be_bytes();
            let w = *width as usize;
            let at = at % n;
            for (i, b) in bytes[4 - w..].iter().enumerate() {
                if let Some(x) = d.get_mut(at + i) {
                    *x = *b;
                }
            }
        }
        Mutation::Insert { at, bytes } => {
            let at = at % (d.len() + 1);
            d.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let at = at % n;
            let end = (at + len).min(d.len());
            if at < end {
                d.drain(at..end);
            }
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes and arbitrary command sequences behind a valid header.
    #[test]
    fn arbitrary_datagrams_leave_the_server_sound(
        junk in proptest::collection::vec(arb_junk(), 1..24),
    ) {
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        for (i, j) in junk.iter().enumerate() {
            feed_junk(&mut net, j);
            if i % 4 == 3 {
                net.tb.run_for(ms(7));
            }
        }
        check_after_junk(&mut net);
    }

    /// Compressed junk at a server with the range coder: arbitrary coded bytes, and
    /// plausible commands that are range coded and then damaged.
    #[test]
    fn compressed_junk_leaves_the_server_sound(
        inputs in proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..700),
                proptest::collection::vec(arb_command_bytes(), 1..8),
                proptest::collection::vec(arb_mutation(), 0..3),
            ),
            1..12,
        ),
    ) {
        use enet_proto::Compressor;
        let mut net = Net::with_setup(fuzz_server(), HostConfig::default(), |h| {
            h.set_compressor(Some(Box::new(RangeCoder::new())))
        });
        let mut coder = RangeCoder::new();
        let mut out = vec![0u8; 8192];
        for (raw, bytes, cmds, muts) in &inputs {
            let body = if *raw {
                bytes.clone()
            } else {
                let plain: Vec<u8> = cmds.concat();
                let n = coder.compress(&plain, &mut out).unwrap_or(0);
                let mut coded = out[..n].to_vec();
                for m in muts {
                    coded = mutate(coded, m, std::slice::from_ref(bytes));
                }
                coded
            };
            let mut dg = net.hdr().compressed();
            dg.body = body;
            net.inject(&dg.bytes());
        }
        check_after_junk(&mut net);
    }

    /// Bit flips, truncations, splices and field overwrites of real captured datagrams.
    #[test]
    fn mutated_real_datagrams_leave_the_server_sound(
        picks in proptest::collection::vec(
            (any::<usize>(), proptest::collection::vec(arb_mutation(), 0..4)),
            1..24,
        ),
    ) {
        let corpus = corpus();
        let mut net = Net::new(fuzz_server(), HostConfig::default());
        for (i, (pick, muts)) in picks.iter().enumerate() {
            let mut d = corpus[pick % corpus.len()].clone();
            for m in muts {
                d = mutate(d, m, corpus);
            }
            net.inject(&d);
            if i % 4 == 3 {
                net.tb.run_for(ms(7));
            }
        }
        check_after_junk(&mut net);
    }
}

// ---------------------------------------------------------------------------- API sequences

const API_HOSTS: usize = 3;
const API_PEERS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    Connect {
        from: usize,
        to: usize,
        channels: usize,
        data: u32,
    },
    Send {
        host: usize,
        peer: u16,
        channel: u8,
        size: usize,
        flags: u32,
    },
    Broadcast {
        host: usize,
        channel: u8,
        size: usize,
        flags: u32,
    },
    Disconnect {
        host: usize,
        peer: u16,
        data: u32,
    },
    DisconnectNow {
        host: usize,
        peer: u16,
        data: u32,
    },
    DisconnectLater {
        host: usize,
        peer: u16,
        data: u32,
    },
    Reset {
        host: usize,
        peer: u16,
    },
    Ping {
        host: usize,
        peer: u16,
    },
    SetTimeout {
        host: usize,
        peer: u16,
        limit: u32,
        minimum: u32,
        maximum: u32,
    },
    Throttle {
        host: usize,
        peer: u16,
        interval: u32,
        acceleration: u32,
        deceleration: u32,
    },
    PingInterval {
        host: usize,
        peer: u16,
        interval: u32,
    },
    Advance {
        ms: u64,
    },
    /// A host setting changed to an arbitrary value.
    Setting {
        host: usize,
        setting: Setting,
    },
    /// `connect` to an address no reply could reach.
    ConnectUnanswerable {
        host: usize,
        addr: SocketAddr,
    },
    /// Time passed to the host that lies before its origin or far after it.
    OddTime {
        host: usize,
        back: bool,
        ms: u64,
    },
    Link {
        a: usize,
        b: usize,
        latency: u64,
        jitter: u64,
        loss: u8,
    },
}

/// A host setting and an arbitrary value for it.
#[derive(Clone, Debug)]
enum Setting {
    MaximumPacketSize(usize),
    MaximumWaitingData(usize),
    BufferBudget(usize),
    DuplicatePeers(usize),
    ChannelLimit(usize),
    Mtu(u32),
    Bandwidth(u32, u32),
    Refuse(bool),
}

fn arb_usize() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(usize::MAX),
        Just(usize::MAX - 1),
        0usize..16,
        0usize..100_000,
        any::<usize>()
    ]
}

fn arb_setting() -> impl Strategy<Value = Setting> {
    let wide = prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()];
    prop_oneof![
        arb_usize().prop_map(Setting::MaximumPacketSize),
        arb_usize().prop_map(Setting::MaximumWaitingData),
        arb_usize().prop_map(Setting::BufferBudget),
        arb_usize().prop_map(Setting::DuplicatePeers),
        arb_usize().prop_map(Setting::ChannelLimit),
        prop_oneof![
            Just(0u32),
            Just(575),
            Just(576),
            Just(4096),
            Just(4097),
            any::<u32>()
        ]
        .prop_map(Setting::Mtu),
        (wide.clone(), wide).prop_map(|(a, b)| Setting::Bandwidth(a, b)),
        any::<bool>().prop_map(Setting::Refuse),
    ]
}

fn arb_unanswerable() -> impl Strategy<Value = SocketAddr> {
    let port = prop_oneof![Just(0u16), any::<u16>()];
    (
        prop_oneof![
            Just("0.0.0.0"),
            Just("255.255.255.255"),
            Just("224.0.0.1"),
            Just("239.255.255.250"),
            Just("::"),
            Just("ff02::1"),
            Just("::ffff:0.0.0.0"),
            Just("::ffff:224.0.0.1"),
            Just("::ffff:255.255.255.255"),
            Just("127.0.0.1"),
            Just("::1"),
        ],
        port,
    )
        .prop_map(|(ip, port)| {
            let ip: IpAddr = ip.parse().unwrap();
            // Loopback only with port 0: every generated address is unanswerable.
            let port = if ip.is_loopback() { 0 } else { port };
            SocketAddr::new(ip, port)
        })
}

fn arb_op() -> impl Strategy<Value = Op> {
    let host = 0..API_HOSTS;
    let peer =
        prop_oneof![8 => 0u16..API_PEERS as u16, 1 => API_PEERS as u16..12, 1 => any::<u16>()];
    let channel = prop_oneof![4 => 0u8..4, 1 => any::<u8>()];
    let size = prop_oneof![0usize..64, 0usize..2000, 0usize..10_240];
    let flags = prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(8),
        Just(9),
        Just(10),
        any::<u32>()
    ];
    let wide = prop_oneof![0u32..10, 0u32..100_000, any::<u32>()];
    prop_oneof![
        3 => (host.clone(), host.clone(), 0usize..300, any::<u32>())
            .prop_map(|(from, to, channels, data)| Op::Connect { from, to, channels, data }),
        6 => (host.clone(), peer.clone(), channel.clone(), size.clone(), flags.clone())
            .prop_map(|(host, peer, channel, size, flags)| Op::Send { host, peer, channel, size, flags }),
        1 => (host.clone(), channel, size, flags)
            .prop_map(|(host, channel, size, flags)| Op::Broadcast { host, channel, size, flags }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::Disconnect { host, peer, data }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::DisconnectNow { host, peer, data }),
        1 => (host.clone(), peer.clone(), any::<u32>())
            .prop_map(|(host, peer, data)| Op::DisconnectLater { host, peer, data }),
        1 => (host.clone(), peer.clone()).prop_map(|(host, peer)| Op::Reset { host, peer }),
        1 => (host.clone(), peer.clone()).prop_map(|(host, peer)| Op::Ping { host, peer }),
        1 => (host.clone(), peer.clone(), wide.clone(), wide.clone(), wide.clone())
            .prop_map(|(host, peer, limit, minimum, maximum)| Op::SetTimeout { host, peer, limit, minimum, maximum }),
        1 => (host.clone(), peer.clone(), wide.clone(), wide.clone(), wide.clone())
            .prop_map(|(host, peer, interval, acceleration, deceleration)| Op::Throttle { host, peer, interval, acceleration, deceleration }),
        1 => (host, peer, wide).prop_map(|(host, peer, interval)| Op::PingInterval { host, peer, interval }),
        5 => prop_oneof![0u64..20, 0u64..600, 0u64..8000].prop_map(|ms| Op::Advance { ms }),
        2 => (0..API_HOSTS, arb_setting()).prop_map(|(host, setting)| Op::Setting { host, setting }),
        1 => (0..API_HOSTS, arb_unanswerable())
            .prop_map(|(host, addr)| Op::ConnectUnanswerable { host, addr }),
        1 => prop_oneof![
            (0..API_HOSTS, prop_oneof![0u64..10, any::<u64>()])
                .prop_map(|(host, ms)| Op::OddTime { host, back: true, ms }),
            (0..API_HOSTS, 0u64..10_000)
                .prop_map(|(host, ms)| Op::OddTime { host, back: false, ms }),
        ],
        1 => (0..API_HOSTS, 0..API_HOSTS, 0u64..80, 0u64..40, 0u8..30)
            .prop_map(|(a, b, latency, jitter, loss)| Op::Link { a, b, latency, jitter, loss }),
    ]
}

fn api_config(i: usize) -> HostConfig {
    let mut c = HostConfig {
        peer_count: API_PEERS,
        seed: 100 + i as u64,
        ..HostConfig::default()
    };
    match i {
        0 => {
            c.duplicate_peers = 2;
            c.maximum_packet_size = 8000;
        }
        1 => c.channel_limit = 3,
        _ => c.mtu = 576,
    }
    c
}

/// Bookkeeping every host must keep consistent whatever the application does.
fn check_invariants(tb: &Testbed) {
    for h in 0..API_HOSTS {
        let host = tb.host(h);
        let mut connected = 0;
        for i in 0..host.peer_count() {
            let info = host.peer_info(PeerId(i as u16)).unwrap();
            if matches!(
                info.state,
                PeerState::Connected | PeerState::DisconnectLater
            ) {
                connected += 1;
            }
            if info.state == PeerState::Disconnected {
                assert_eq!(info.total_waiting_data, 0, "host {h} peer {i}");
                assert_eq!(info.reliable_data_in_transit, 0, "host {h} peer {i}");
            }
        }
        assert_eq!(host.connected_peers(), connected, "host {h}");
        assert!(host.peer_info(PeerId(host.peer_count() as u16)).is_none());
    }
}

fn expect_peer_call(host: &Host, peer: u16, r: Result<(), Error>, op: &Op) {
    if peer as usize >= host.peer_count() {
        assert_eq!(r, Err(Error::InvalidPeer), "{op:?}");
    } else {
        assert_eq!(r, Ok(()), "{op:?}");
    }
}

fn apply(tb: &mut Testbed, op: &Op) {
    let now = tb.now();
    match *op {
        Op::Connect {
            from,
            to,
            channels,
            data,
        } => {
            let addr = tb.addr(to);
            let host = tb.host_mut(from);
            let free = (0..host.peer_count() as u16)
                .find(|&i| host.peer_state(PeerId(i)) == Some(PeerState::Disconnected));
            let r = host.connect(now, addr, channels, data);
            match free {
                Some(i) => {
                    assert_eq!(r, Ok(PeerId(i)), "{op:?}");
                    let info = host.peer_info(PeerId(i)).unwrap();
                    assert_eq!(info.state, PeerState::Connecting);
                    assert_eq!(info.channel_count, channels.clamp(1, 255));
                }
                None => assert_eq!(r, Err(Error::NoFreePeer), "{op:?}"),
            }
        }
        Op::Send {
            host,
            peer,
            channel,
            size,
            flags,
        } => {
            let h = tb.host_mut(host);
            let expected = match h.peer_info(PeerId(peer)) {
                None => Err(Error::InvalidPeer),
                Some(i) if i.state != PeerState::Connected => Err(Error::NotConnected),
                Some(i) if channel as usize >= i.channel_count => Err(Error::InvalidChannel),
                Some(_) if size > h.config().maximum_packet_size => Err(Error::PacketTooLarge),
                Some(_) => Ok(()),
            };
            let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let r = h.send(PeerId(peer), channel, Packet::new(data, PacketFlags(flags)));
            assert_eq!(r, expected, "{op:?}");
        }
        Op::Broadcast {
            host,
            channel,
            size,
            flags,
        } => {
            let data: Vec<u8> = vec![0x5A; size];
            tb.host_mut(host)
                .broadcast(channel, Packet::new(data, PacketFlags(flags)));
        }
        Op::Disconnect { host, peer, data } => {
            let h = tb.host_mut(host);
            let r = h.disconnect(PeerId(peer), data);
            expect_peer_call(h, peer, r, op);
        }
        Op::DisconnectNow { host, peer, data } => {
            let h = tb.host_mut(host);
            let r = h.disconnect_now(PeerId(peer), data);
            expect_peer_call(h, peer, r, op);
            if (peer as usize) < h.peer_count() {
                assert_eq!(h.peer_state(PeerId(peer)), Some(PeerState::Disconnected));
            }
        }
        Op::DisconnectLater { host, peer, data } => {
            let h = tb.host_mut(host);
            let r = h.disconnect_later(PeerId(peer), data);
            expect_peer_call(h, peer, r, op);
        }
        Op::Reset { host, peer } => {
            let h = tb.host_mut(host);
            let r = h.reset(PeerId(peer));
            expect_peer_call(h, peer, r, op);
            if (peer as usize) < h.peer_count() {
                assert_eq!(h.peer_state(PeerId(peer)), Some(PeerState::Disconnected));
            }
        }
        Op::Ping { host, peer } => {
            let h = tb.host_mut(host);
            let expected = match h.peer_state(PeerId(peer)) {
                None => Err(Error::InvalidPeer),
                Some(PeerState::Connected) => Ok(()),
                Some(_) => Err(Error::NotConnected),
            };
            assert_eq!(h.ping(PeerId(peer)), expected, "{op:?}");
        }
        Op::SetTimeout {
            host,
            peer,
            limit,
            minimum,
            maximum,
        } => {
            let h = tb.host_mut(host);
            let r = h.set_timeout(PeerId(peer), limit, minimum, maximum);
            expect_peer_call(h, peer, r, op);
        }
        Op::Throttle {
            host,
            peer,
            interval,
            acceleration,
            deceleration,
        } => {
            let h = tb.host_mut(host);
            let r = h.throttle_configure(PeerId(peer), interval, acceleration, deceleration);
            expect_peer_call(h, peer, r, op);
        }
        Op::PingInterval {
            host,
            peer,
            interval,
        } => {
            let h = tb.host_mut(host);
            let r = h.set_ping_interval(PeerId(peer), interval);
            expect_peer_call(h, peer, r, op);
        }
        Op::Advance { ms: n } => tb.run_for(ms(n)),
        Op::Setting { host, ref setting } => {
            let h = tb.host_mut(host);
            match *setting {
                Setting::MaximumPacketSize(n) => {
                    h.set_maximum_packet_size(n);
                    assert_eq!(h.config().maximum_packet_size, n);
                }
                Setting::MaximumWaitingData(n) => h.set_maximum_waiting_data(n),
                Setting::BufferBudget(n) => {
                    h.set_buffer_budget(n);
                    assert_eq!(h.config().buffer_budget, n);
                }
                Setting::DuplicatePeers(n) => h.set_duplicate_peers(n),
                Setting::ChannelLimit(n) => h.channel_limit(n),
                Setting::Mtu(m) => {
                    let ok = (576..=4096).contains(&m) && !(h.config().checksum && m > 4092);
                    let r = h.set_mtu(m);
                    assert_eq!(r.is_ok(), ok, "{op:?}: {r:?}");
                    assert!(r.is_ok() || matches!(r, Err(Error::InvalidConfig(_))));
                }
                Setting::Bandwidth(i, o) => h.bandwidth_limit(i, o),
                Setting::Refuse(r) => h.refuse_new_connections(r),
            }
        }
        Op::ConnectUnanswerable { host, addr } => {
            let h = tb.host_mut(host);
            let active = h.active_peers().count();
            assert_eq!(
                h.connect(now, addr, 2, 0),
                Err(Error::InvalidAddress),
                "{op:?}"
            );
            assert_eq!(h.active_peers().count(), active, "{op:?}: a slot was used");
        }
        Op::OddTime { host, back, ms: n } => {
            let at = if back {
                now.checked_sub(Duration::from_millis(n))
            } else {
                now.checked_add(Duration::from_millis(n))
            };
            if let Some(at) = at {
                let h = tb.host_mut(host);
                h.handle_timeout(at);
                let _ = h.poll_timeout();
                let mut buf = Vec::new();
                // Sent into the void: the testbed's clock is unchanged.
                while h.poll_transmit(at, &mut buf).is_some() {}
            }
        }
        Op::Link {
            a,
            b,
            latency,
            jitter,
            loss,
        } => {
            let link = LinkConfig::new()
                .with_latency(ms(latency), ms(jitter))
                .with_loss(f64::from(loss) / 100.0);
            tb.set_link(a, b, link);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary API call sequences on three hosts: no panic, only the expected typed
    /// errors, consistent bookkeeping, and no leaked slots or registrations afterwards.
    #[test]
    fn arbitrary_api_sequences(ops in proptest::collection::vec(arb_op(), 1..48)) {
        let mut tb = Testbed::new(7);
        for i in 0..API_HOSTS {
            tb.add_host(api_config(i));
        }
        for op in &ops {
            apply(&mut tb, op);
            check_invariants(&tb);
        }

        // Let everything settle: retransmissions, timeouts, zombies.
        tb.run_for(Duration::from_secs(40));
        check_invariants(&tb);
        for h in 0..API_HOSTS {
            for p in 0..API_PEERS as u16 {
                tb.host_mut(h).reset(PeerId(p)).unwrap();
            }
            // Settings back to working values for the final check.
            let c = api_config(h);
            let host = tb.host_mut(h);
            host.set_maximum_packet_size(c.maximum_packet_size);
            host.set_maximum_waiting_data(c.maximum_waiting_data);
            host.set_buffer_budget(c.buffer_budget);
            host.set_duplicate_peers(c.duplicate_peers);
            host.channel_limit(c.channel_limit);
            host.set_mtu(c.mtu).unwrap();
            host.bandwidth_limit(0, 0);
            host.refuse_new_connections(false);
            prop_assert_eq!(host.buffered_bytes(), 0);
        }
        tb.run_for(ms(100));
        check_invariants(&tb);
        for h in 0..API_HOSTS {
            let active: Vec<PeerId> = tb.host(h).active_peers().collect();
            prop_assert!(active.is_empty(), "host {} still has {:?}", h, active);
        }
        // Fresh connections work: nothing leaked (slots, per-address counts, connect ids).
        for a in 0..API_HOSTS {
            for b in 0..API_HOSTS {
                tb.set_link(a, b, LinkConfig::new());
            }
        }
        tb.take_events(0);
        let addr = tb.addr(0);
        let mut clients = Vec::new();
        for c in 1..API_HOSTS {
            let now = tb.now();
            for _ in 0..2 {
                let p = tb.host_mut(c).connect(now, addr, 2, c as u32).unwrap();
                clients.push((c, p));
            }
        }
        tb.run_for(ms(500));
        for &(c, p) in &clients {
            prop_assert_eq!(tb.host(c).peer_state(p), Some(PeerState::Connected));
            tb.host_mut(c).send(p, 1, Packet::reliable(vec![c as u8; 3000])).unwrap();
        }
        tb.run_for(ms(500));
        let got = tb
            .events(0)
            .iter()
            .filter(|e| matches!(e, Event::Receive { channel_id: 1, packet, .. } if packet.data.len() == 3000))
            .count();
        prop_assert_eq!(got, clients.len());
    }
}

fn arb_config() -> impl Strategy<Value = HostConfig> {
    (
        prop_oneof![
            Just(0usize),
            1usize..6,
            Just(4095),
            Just(4096),
            any::<usize>()
        ],
        arb_usize(),
        (any::<u32>(), any::<u32>()),
        prop_oneof![
            Just(575u32),
            Just(576),
            Just(1392),
            Just(4092),
            Just(4096),
            any::<u32>()
        ],
        (arb_usize(), arb_usize(), arb_usize(), arb_usize()),
        any::<bool>(),
    )
        .prop_map(
            |(peer_count, channel_limit, (inb, outb), mtu, (mps, mwd, budget, dups), checksum)| {
                HostConfig {
                    peer_count,
                    channel_limit,
                    incoming_bandwidth: inb,
                    outgoing_bandwidth: outb,
                    mtu,
                    maximum_packet_size: mps,
                    maximum_waiting_data: mwd,
                    buffer_budget: budget,
                    duplicate_peers: dups,
                    checksum,
                    seed: 9,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any configuration value: `Host::new` returns a host or a typed error, and a host it
    /// returns survives traffic of every kind and size, both ways, without a panic.
    #[test]
    fn arbitrary_configs_never_panic(
        cfg in arb_config(),
        sizes in proptest::collection::vec(prop_oneof![0usize..64, 0usize..5000, 0usize..70_000], 1..8),
        flags in proptest::collection::vec(prop_oneof![Just(0u32), Just(1), Just(2), Just(8), Just(9), any::<u32>()], 1..8),
    ) {
        let valid = (1..=4095).contains(&cfg.peer_count)
            && (576..=4096).contains(&cfg.mtu)
            && !(cfg.checksum && cfg.mtu > 4092);
        let r = Host::new(cfg.clone(), Instant::now());
        match r {
            Ok(_) => prop_assert!(valid, "accepted {:?}", cfg),
            Err(e) => {
                prop_assert!(!valid, "refused {:?}: {}", cfg, e);
                prop_assert!(matches!(e, Error::InvalidConfig(_)));
                return Ok(());
            }
        }
        let mut tb = Testbed::new(3);
        let odd = tb.add_host(cfg.clone());
        let other = tb.add_host(HostConfig { checksum: cfg.checksum, seed: 4, ..HostConfig::default() });
        let (from, to) = (odd, other);
        for (a, b) in [(from, to), (to, from)] {
            let addr = tb.addr(b);
            let now = tb.now();
            let Ok(p) = tb.host_mut(a).connect(now, addr, 3, 0) else { continue };
            tb.run_for(ms(300));
            for (i, &size) in sizes.iter().enumerate() {
                let f = PacketFlags(flags[i % flags.len()]);
                let r = tb.host_mut(a).send(p, (i % 3) as u8, Packet::new(vec![i as u8; size], f));
                if let Err(e) = r {
                    prop_assert!(matches!(e, Error::PacketTooLarge | Error::NotConnected | Error::InvalidChannel), "{}", e);
                }
                let now = tb.now();
                let _ = tb.host_mut(a).poll_timeout();
                tb.host_mut(a).handle_timeout(now);
            }
            tb.run_for(ms(500));
            let _ = tb.host_mut(a).disconnect(p, 0);
            tb.run_for(ms(300));
        }
        check_invariants_of(tb.host(odd));
    }
}

fn check_invariants_of(host: &Host) {
    let connected = host
        .active_peers()
        .filter(|&p| {
            matches!(
                host.peer_state(p),
                Some(PeerState::Connected | PeerState::DisconnectLater)
            )
        })
        .count();
    assert_eq!(host.connected_peers(), connected);
    assert!(host.buffered_bytes() <= host.config().buffer_budget);
}
