//! What the C peer reports: its stdout lines parsed into [`CEvent`]s, with the connection
//! ([`ConnectInfo`]), packet ([`Received`]) and statistics ([`StatsReport`], [`Backoff`])
//! they carry.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::payload::{crc32, pattern};

/// A `connect` event: a peer reached the CONNECTED state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectInfo {
    /// Index of the peer in the C host's peer array.
    pub peer: u32,
    /// The CONNECT event's data (the client's connect data on a server, 0 on
    /// a client).
    pub data: u32,
    /// Negotiated channel count (`peer->channelCount`).
    pub channels: u32,
    /// Negotiated MTU (`peer->mtu`).
    pub mtu: u32,
}

/// A `receive` event: one packet delivered by the C library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Index of the sending peer in the C host's peer array.
    pub peer: u32,
    /// Channel the packet arrived on.
    pub channel: u8,
    /// Payload length in bytes.
    pub len: usize,
    /// `packet->flags` as seen by the receiver (see [`flags`](crate::flags)).
    pub flags: u32,
    /// CRC-32 of the payload (see [`crc32`]).
    pub crc: u32,
    /// The seed if the payload is exactly [`pattern`]`(seed, len)`.
    pub seed: Option<u32>,
    /// The payload, only when the peer runs with `--print-data`.
    pub data: Option<Vec<u8>>,
}

impl Received {
    /// True if this packet is exactly [`pattern`]`(seed, len)` with this
    /// length, checked by seed and by CRC.
    pub fn is_pattern(&self, seed: u32, len: usize) -> bool {
        self.len == len && self.seed == Some(seed) && self.crc == crc32(&pattern(seed, len))
    }
}

/// One line printed by the C peer, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CEvent {
    /// `listening <port>`: a server's bound UDP port (first line).
    Listening {
        /// Bound UDP port.
        port: u16,
    },
    /// `connecting <port>`: a client started connecting from this local port
    /// (first line).
    Connecting {
        /// The client's local UDP port.
        port: u16,
    },
    /// `connect ...`: ENET_EVENT_TYPE_CONNECT.
    Connect(ConnectInfo),
    /// `receive ...`: ENET_EVENT_TYPE_RECEIVE.
    Receive(Received),
    /// `disconnect <peer> <data>`: ENET_EVENT_TYPE_DISCONNECT.
    Disconnect {
        /// Peer index.
        peer: u32,
        /// The event's data (the remote's disconnect data, or 0).
        data: u32,
    },
    /// `refused <data>`: `--godot-ids` reset a connecting peer.
    Refused {
        /// The refused connect data (Godot peer id).
        data: u32,
    },
    /// `sent <count>`: a `send`/`sendn` command finished; `count` packets
    /// were accepted by `enet_peer_send`.
    Sent {
        /// Number of packets accepted.
        count: u32,
    },
    /// `stats <subject> k=v ...`: one line of a `stats` report; `subject` is
    /// `host`, a peer index, or `end` (the last line, with no values).
    Stats {
        /// `host`, a peer index, or `end`.
        subject: String,
        /// The key/value pairs in printed order.
        values: Vec<(String, u64)>,
    },
    /// `ok <command>`: a command without other output was carried out.
    Done(String),
    /// `bye`: the peer is exiting cleanly.
    Bye,
    /// `error <text>`: a bad command or a failure inside the C peer.
    Error(String),
    /// Any line that does not parse as one of the above.
    Other(String),
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return Some(Vec::new());
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl CEvent {
    /// Parses one stdout line of the C peer; unknown or malformed lines give
    /// [`CEvent::Other`].
    pub fn parse(line: &str) -> CEvent {
        Self::try_parse(line).unwrap_or_else(|| CEvent::Other(line.to_owned()))
    }

    fn try_parse(line: &str) -> Option<CEvent> {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("error ") {
            return Some(CEvent::Error(rest.to_owned()));
        }
        let t: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| -> Option<u32> { t.get(i)?.parse().ok() };
        Some(match (t[0], t.len()) {
            ("listening", 2) => CEvent::Listening {
                port: t[1].parse().ok()?,
            },
            ("connecting", 2) => CEvent::Connecting {
                port: t[1].parse().ok()?,
            },
            ("connect", 5) => CEvent::Connect(ConnectInfo {
                peer: n(1)?,
                data: n(2)?,
                channels: n(3)?,
                mtu: n(4)?,
            }),
            ("receive", 7 | 8) => CEvent::Receive(Received {
                peer: n(1)?,
                channel: t[2].parse().ok()?,
                len: t[3].parse().ok()?,
                flags: n(4)?,
                crc: u32::from_str_radix(t[5], 16).ok()?,
                seed: if t[6] == "-" {
                    None
                } else {
                    Some(t[6].parse().ok()?)
                },
                data: match t.get(7) {
                    Some(h) => Some(parse_hex(h)?),
                    None => None,
                },
            }),
            ("disconnect", 3) => CEvent::Disconnect {
                peer: n(1)?,
                data: n(2)?,
            },
            ("refused", 2) => CEvent::Refused { data: n(1)? },
            ("sent", 2) => CEvent::Sent { count: n(1)? },
            ("stats", len) if len >= 2 => CEvent::Stats {
                subject: t[1].to_owned(),
                values: t[2..]
                    .iter()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        Some((k.to_owned(), v.parse().ok()?))
                    })
                    .collect::<Option<Vec<_>>>()?,
            },
            ("ok", 2) => CEvent::Done(t[1].to_owned()),
            ("bye", 1) => CEvent::Bye,
            _ => return None,
        })
    }
}

/// Result of [`CPeer::stats`](crate::CPeer::stats): the values of one `stats` report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsReport {
    /// Host-wide values (`peers`, `connected`, `sent_packets`, `sent_bytes`,
    /// `recv_packets`, `recv_bytes`).
    pub host: BTreeMap<String, u64>,
    /// Per peer index (peers not DISCONNECTED): `state`, `rtt`, `rtt_var`,
    /// `mtu`, `window`, `in_transit`, `packets_sent`, `packets_lost`,
    /// `packet_loss`, `throttle`, `channels`, `data_total_in`,
    /// `data_total_out`, `sent_reliable`, `outgoing` and `acknowledgements` (queue
    /// lengths), channel 0's `ch0_out_seq`, `ch0_in_seq` (reliable sequence numbers)
    /// and `ch0_used_windows` (bit set), and for the most-transmitted reliable command
    /// still unacknowledged: `max_attempts` (its transmissions), `max_rto` (its current
    /// retransmission timeout in ms; C doubles it per timeout without a cap) and
    /// `next_resend` (ms until it is sent again; 0 if due or queued).
    pub peers: BTreeMap<u32, BTreeMap<String, u64>>,
}

/// A C peer backing off: its most-transmitted reliable command still unacknowledged (see
/// [`StatsReport::backoff`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The peer's index.
    pub peer: u32,
    /// That command's transmissions.
    pub attempts: u64,
    /// Its current retransmission timeout (C doubles it per timeout without a cap).
    pub rto: Duration,
    /// Time until it is sent again (zero if due or queued).
    pub next: Duration,
}

impl StatsReport {
    /// Over all peers, the reliable command sent most often that still waits for its
    /// acknowledgement; `None` if no peer waits for one.
    pub fn backoff(&self) -> Option<Backoff> {
        self.peers
            .iter()
            .filter_map(|(&peer, v)| {
                let get = |k: &str| v.get(k).copied().unwrap_or(0);
                (get("max_attempts") > 0).then(|| Backoff {
                    peer,
                    attempts: get("max_attempts"),
                    rto: Duration::from_millis(get("max_rto")),
                    next: Duration::from_millis(get("next_resend")),
                })
            })
            .max_by_key(|b| b.attempts)
    }
}
