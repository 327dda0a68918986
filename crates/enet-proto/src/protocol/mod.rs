//! The ENet 1.3 wire format: constants, the datagram header and the twelve commands.
//!
//! All multi-byte fields are big-endian, except `connect_id`, which ENet treats as four
//! opaque bytes (we keep it as a `[u8; 4]`). Decoding never panics: every read is bounds
//! checked and reported as a [`DecodeError`].

/// Smallest MTU a peer may negotiate.
pub const MINIMUM_MTU: u32 = 576;
/// Largest MTU a peer may negotiate; also the largest datagram ENet reads.
pub const MAXIMUM_MTU: u32 = 4096;
/// Most commands (acknowledgements included) the C library puts into one datagram.
pub const MAXIMUM_PACKET_COMMANDS: usize = 32;
/// Smallest reliable window, in bytes.
pub const MINIMUM_WINDOW_SIZE: u32 = 4096;
/// Largest reliable window, in bytes.
pub const MAXIMUM_WINDOW_SIZE: u32 = 65536;
/// Fewest channels a connection may have.
pub const MINIMUM_CHANNEL_COUNT: u32 = 1;
/// Most channels a connection may have (channel ids 0..=254; 0xFF is reserved).
pub const MAXIMUM_CHANNEL_COUNT: u32 = 255;
/// The "no peer yet" id in a datagram header; also the largest number of peers per host.
pub const MAXIMUM_PEER_ID: u16 = 0x0FFF;
/// Most fragments one packet may be split into.
pub const MAXIMUM_FRAGMENT_COUNT: u32 = 1024 * 1024;

/// Command flag: the command is reliable and must be acknowledged.
pub const COMMAND_FLAG_ACKNOWLEDGE: u8 = 0x80;
/// Command flag: the command is unsequenced.
pub const COMMAND_FLAG_UNSEQUENCED: u8 = 0x40;
/// Mask of the command number within the command byte.
pub const COMMAND_MASK: u8 = 0x0F;

/// Header flag: the 16-bit sent time follows the peer id word.
pub const HEADER_FLAG_SENT_TIME: u16 = 0x8000;
/// Header flag: the command area is compressed.
pub const HEADER_FLAG_COMPRESSED: u16 = 0x4000;
/// Mask of the session id bits in the peer id word.
pub const HEADER_SESSION_MASK: u16 = 0x3000;
/// Shift of the session id bits in the peer id word.
pub const HEADER_SESSION_SHIFT: u16 = 12;

/// Channel id used by peer-level control commands.
pub const CONTROL_CHANNEL: u8 = 0xFF;

/// Why a datagram or command could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the structure does.
    #[error("truncated")]
    Truncated,
    /// The command number is 0 or above 12.
    #[error("unknown command {0}")]
    UnknownCommand(u8),
}

/// The command numbers of ENet 1.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CommandKind {
    /// Acknowledges one reliable command.
    Acknowledge = 1,
    /// Client's connection request.
    Connect = 2,
    /// Server's answer to CONNECT.
    VerifyConnect = 3,
    /// Ends a connection.
    Disconnect = 4,
    /// Keep-alive and RTT probe.
    Ping = 5,
    /// Reliable packet.
    SendReliable = 6,
    /// Unreliable sequenced packet.
    SendUnreliable = 7,
    /// Fragment of a reliable packet.
    SendFragment = 8,
    /// Unsequenced packet.
    SendUnsequenced = 9,
    /// Bandwidth limits of the sender's host.
    BandwidthLimit = 10,
    /// Packet throttle parameters.
    ThrottleConfigure = 11,
    /// Fragment of an unreliable packet.
    SendUnreliableFragment = 12,
}

impl CommandKind {
    /// Parses a command number (the low four bits of the command byte).
    pub fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            1 => Self::Acknowledge,
            2 => Self::Connect,
            3 => Self::VerifyConnect,
            4 => Self::Disconnect,
            5 => Self::Ping,
            6 => Self::SendReliable,
            7 => Self::SendUnreliable,
            8 => Self::SendFragment,
            9 => Self::SendUnsequenced,
            10 => Self::BandwidthLimit,
            11 => Self::ThrottleConfigure,
            12 => Self::SendUnreliableFragment,
            _ => return None,
        })
    }

    /// Size in bytes of the command's fixed part, the 4-byte command header included.
    pub const fn size(self) -> usize {
        match self {
            Self::Acknowledge => 8,
            Self::Connect => 48,
            Self::VerifyConnect => 44,
            Self::Disconnect => 8,
            Self::Ping => 4,
            Self::SendReliable => 6,
            Self::SendUnreliable => 8,
            Self::SendFragment => 24,
            Self::SendUnsequenced => 8,
            Self::BandwidthLimit => 12,
            Self::ThrottleConfigure => 16,
            Self::SendUnreliableFragment => 24,
        }
    }
}

/// The datagram header: the peer id word and the optional sent time.
///
/// The optional checksum that follows it is not part of this struct: whether it is present
/// is host configuration, not signalled on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Destination peer id (index in the receiver's peer table), or [`MAXIMUM_PEER_ID`].
    pub peer_id: u16,
    /// Session id, 0..=3.
    pub session_id: u8,
    /// Whether the command area is compressed.
    pub compressed: bool,
    /// Low 16 bits of the sender's service time, present when a reliable command is inside.
    pub sent_time: Option<u16>,
}

impl Header {
    /// Encoded size: 2 bytes, or 4 with a sent time.
    pub fn size(&self) -> usize {
        if self.sent_time.is_some() {
            4
        } else {
            2
        }
    }

    /// Writes the header into `out` and returns its size; writes nothing and returns 0 if
    /// `out` is shorter than [`Header::size`].
    pub fn write(&self, out: &mut [u8]) -> usize {
        if out.len() < self.size() {
            return 0;
        }
        let mut word = self.peer_id & MAXIMUM_PEER_ID;
        word |= (u16::from(self.session_id) << HEADER_SESSION_SHIFT) & HEADER_SESSION_MASK;
        if self.compressed {
            word |= HEADER_FLAG_COMPRESSED;
        }
        out[0..2].copy_from_slice(&word.to_be_bytes());
        match self.sent_time {
            Some(t) => {
                word |= HEADER_FLAG_SENT_TIME;
                out[0..2].copy_from_slice(&word.to_be_bytes());
                out[2..4].copy_from_slice(&t.to_be_bytes());
                4
            }
            None => 2,
        }
    }

    /// Reads a header from the start of a datagram; returns it with its size.
    pub fn read(bytes: &[u8]) -> Result<(Header, usize), DecodeError> {
        let word = read_u16(bytes, 0)?;
        let sent_time = if word & HEADER_FLAG_SENT_TIME != 0 {
            Some(read_u16(bytes, 2)?)
        } else {
            None
        };
        let header = Header {
            peer_id: word & MAXIMUM_PEER_ID,
            session_id: ((word & HEADER_SESSION_MASK) >> HEADER_SESSION_SHIFT) as u8,
            compressed: word & HEADER_FLAG_COMPRESSED != 0,
            sent_time,
        };
        Ok((header, header.size()))
    }
}

/// The fields of CONNECT and VERIFY_CONNECT (VERIFY_CONNECT has no `data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Connect {
    /// The sender's own peer index for this connection.
    pub outgoing_peer_id: u16,
    /// Session id for traffic towards the sender of this command.
    pub incoming_session_id: u8,
    /// Session id for traffic from the sender of this command.
    pub outgoing_session_id: u8,
    /// Proposed (CONNECT) or negotiated (VERIFY_CONNECT) MTU.
    pub mtu: u32,
    /// Reliable window size in bytes.
    pub window_size: u32,
    /// Requested or accepted channel count.
    pub channel_count: u32,
    /// Sender host's incoming bandwidth (bytes/s, 0 = unlimited).
    pub incoming_bandwidth: u32,
    /// Sender host's outgoing bandwidth (bytes/s, 0 = unlimited).
    pub outgoing_bandwidth: u32,
    /// Packet throttle interval in ms.
    pub packet_throttle_interval: u32,
    /// Packet throttle acceleration.
    pub packet_throttle_acceleration: u32,
    /// Packet throttle deceleration.
    pub packet_throttle_deceleration: u32,
    /// Opaque connection id chosen by the client.
    pub connect_id: [u8; 4],
    /// User data (CONNECT only).
    pub data: u32,
}

/// A decoded command body: the fields after the 4-byte command header, without payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// ACKNOWLEDGE.
    Acknowledge {
        /// Sequence number of the acknowledged command.
        received_reliable_sequence_number: u16,
        /// `sent_time` of the datagram that carried the acknowledged command.
        received_sent_time: u16,
    },
    /// CONNECT.
    Connect(Connect),
    /// VERIFY_CONNECT (the `data` field is not on the wire and decodes as 0).
    VerifyConnect(Connect),
    /// DISCONNECT with user data.
    Disconnect {
        /// User data.
        data: u32,
    },
    /// PING.
    Ping,
    /// SEND_RELIABLE; `data_length` payload bytes follow.
    SendReliable {
        /// Payload length.
        data_length: u16,
    },
    /// SEND_UNRELIABLE; `data_length` payload bytes follow.
    SendUnreliable {
        /// Unreliable sequence number.
        unreliable_sequence_number: u16,
        /// Payload length.
        data_length: u16,
    },
    /// SEND_FRAGMENT or SEND_UNRELIABLE_FRAGMENT (told apart by the command header).
    SendFragment(Fragment),
    /// SEND_UNSEQUENCED; `data_length` payload bytes follow.
    SendUnsequenced {
        /// Unsequenced group number.
        unsequenced_group: u16,
        /// Payload length.
        data_length: u16,
    },
    /// BANDWIDTH_LIMIT.
    BandwidthLimit {
        /// Sender host's incoming bandwidth.
        incoming_bandwidth: u32,
        /// Sender host's outgoing bandwidth.
        outgoing_bandwidth: u32,
    },
    /// THROTTLE_CONFIGURE.
    ThrottleConfigure {
        /// Throttle interval in ms.
        packet_throttle_interval: u32,
        /// Throttle acceleration.
        packet_throttle_acceleration: u32,
        /// Throttle deceleration.
        packet_throttle_deceleration: u32,
    },
}

/// The fields of a fragment command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Fragment {
    /// Reliable seq of fragment 0 (reliable) or the packet's unreliable seq (unreliable).
    pub start_sequence_number: u16,
    /// Payload length of this fragment.
    pub data_length: u16,
    /// Number of fragments in the packet.
    pub fragment_count: u32,
    /// Index of this fragment.
    pub fragment_number: u32,
    /// Length of the whole packet.
    pub total_length: u32,
    /// Offset of this fragment in the packet.
    pub fragment_offset: u32,
}

/// The 4-byte header every command starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandHeader {
    /// The command byte: number in the low 4 bits plus flags.
    pub command: u8,
    /// Channel id, or [`CONTROL_CHANNEL`].
    pub channel_id: u8,
    /// Reliable sequence number.
    pub reliable_sequence_number: u16,
}

impl CommandHeader {
    /// The command number (low four bits).
    pub fn number(&self) -> u8 {
        self.command & COMMAND_MASK
    }
    /// Whether the ACKNOWLEDGE flag is set.
    pub fn is_reliable(&self) -> bool {
        self.command & COMMAND_FLAG_ACKNOWLEDGE != 0
    }
}

impl Command {
    /// The command kind of this body.
    ///
    /// A fragment body reports [`CommandKind::SendFragment`]; the header decides whether it
    /// is the unreliable variant.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Acknowledge { .. } => CommandKind::Acknowledge,
            Command::Connect(_) => CommandKind::Connect,
            Command::VerifyConnect(_) => CommandKind::VerifyConnect,
            Command::Disconnect { .. } => CommandKind::Disconnect,
            Command::Ping => CommandKind::Ping,
            Command::SendReliable { .. } => CommandKind::SendReliable,
            Command::SendUnreliable { .. } => CommandKind::SendUnreliable,
            Command::SendFragment(_) => CommandKind::SendFragment,
            Command::SendUnsequenced { .. } => CommandKind::SendUnsequenced,
            Command::BandwidthLimit { .. } => CommandKind::BandwidthLimit,
            Command::ThrottleConfigure { .. } => CommandKind::ThrottleConfigure,
        }
    }

    /// Payload length announced by this command (0 for commands without payload).
    pub fn data_length(&self) -> usize {
        match *self {
            Command::SendReliable { data_length }
            | Command::SendUnreliable { data_length, .. }
            | Command::SendUnsequenced { data_length, .. } => data_length as usize,
            Command::SendFragment(f) => f.data_length as usize,
            _ => 0,
        }
    }

    /// Writes header and body into `out` and returns the number of bytes written, which is
    /// the fixed size of the command kind named in `header` (payload not included).
    ///
    /// Writes nothing and returns 0 if `out` is shorter than that.
    pub fn write(&self, header: &CommandHeader, out: &mut [u8]) -> usize {
        if out.len() < self.kind().size() {
            return 0;
        }
        out[0] = header.command;
        out[1] = header.channel_id;
        out[2..4].copy_from_slice(&header.reliable_sequence_number.to_be_bytes());
        let mut w = Writer { buf: out, pos: 4 };
        match *self {
            Command::Acknowledge {
                received_reliable_sequence_number,
                received_sent_time,
            } => {
                w.u16(received_reliable_sequence_number);
                w.u16(received_sent_time);
            }
            Command::Connect(c) | Command::VerifyConnect(c) => {
                w.u16(c.outgoing_peer_id);
                w.u8(c.incoming_session_id);
                w.u8(c.outgoing_session_id);
                w.u32(c.mtu);
                w.u32(c.window_size);
                w.u32(c.channel_count);
                w.u32(c.incoming_bandwidth);
                w.u32(c.outgoing_bandwidth);
                w.u32(c.packet_throttle_interval);
                w.u32(c.packet_throttle_acceleration);
                w.u32(c.packet_throttle_deceleration);
                w.bytes(&c.connect_id);
                if matches!(self, Command::Connect(_)) {
                    w.u32(c.data);
                }
            }
            Command::Disconnect { data } => w.u32(data),
            Command::Ping => {}
            Command::SendReliable { data_length } => w.u16(data_length),
            Command::SendUnreliable {
                unreliable_sequence_number,
                data_length,
            } => {
                w.u16(unreliable_sequence_number);
                w.u16(data_length);
            }
            Command::SendFragment(f) => {
                w.u16(f.start_sequence_number);
                w.u16(f.data_length);
                w.u32(f.fragment_count);
                w.u32(f.fragment_number);
                w.u32(f.total_length);
                w.u32(f.fragment_offset);
            }
            Command::SendUnsequenced {
                unsequenced_group,
                data_length,
            } => {
                w.u16(unsequenced_group);
                w.u16(data_length);
            }
            Command::BandwidthLimit {
                incoming_bandwidth,
                outgoing_bandwidth,
            } => {
                w.u32(incoming_bandwidth);
                w.u32(outgoing_bandwidth);
            }
            Command::ThrottleConfigure {
                packet_throttle_interval,
                packet_throttle_acceleration,
                packet_throttle_deceleration,
            } => {
                w.u32(packet_throttle_interval);
                w.u32(packet_throttle_acceleration);
                w.u32(packet_throttle_deceleration);
            }
        }
        w.pos
    }

    /// Reads one command (fixed part only) from the start of `bytes`.
    ///
    /// Returns the command header, the body and the fixed size consumed. The payload, if any
    /// ([`Command::data_length`] bytes), follows and is not checked here.
    pub fn read(bytes: &[u8]) -> Result<(CommandHeader, Command, usize), DecodeError> {
        if bytes.len() < 4 {
            return Err(DecodeError::Truncated);
        }
        let header = CommandHeader {
            command: bytes[0],
            channel_id: bytes[1],
            reliable_sequence_number: u16::from_be_bytes([bytes[2], bytes[3]]),
        };
        let kind = CommandKind::from_number(header.number())
            .ok_or(DecodeError::UnknownCommand(header.number()))?;
        let size = kind.size();
        if bytes.len() < size {
            return Err(DecodeError::Truncated);
        }
        let mut r = Reader { buf: bytes, pos: 4 };
        let body = match kind {
            CommandKind::Acknowledge => Command::Acknowledge {
                received_reliable_sequence_number: r.u16(),
                received_sent_time: r.u16(),
            },
            CommandKind::Connect | CommandKind::VerifyConnect => {
                let mut c = Connect {
                    outgoing_peer_id: r.u16(),
                    incoming_session_id: r.u8(),
                    outgoing_session_id: r.u8(),
                    mtu: r.u32(),
                    window_size: r.u32(),
                    channel_count: r.u32(),
                    incoming_bandwidth: r.u32(),
                    outgoing_bandwidth: r.u32(),
                    packet_throttle_interval: r.u32(),
                    packet_throttle_acceleration: r.u32(),
                    packet_throttle_deceleration: r.u32(),
                    connect_id: r.bytes4(),
                    data: 0,
                };
                if kind == CommandKind::Connect {
                    c.data = r.u32();
                    Command::Connect(c)
                } else {
                    Command::VerifyConnect(c)
                }
            }
            CommandKind::Disconnect => Command::Disconnect { data: r.u32() },
            CommandKind::Ping => Command::Ping,
            CommandKind::SendReliable => Command::SendReliable {
                data_length: r.u16(),
            },
            CommandKind::SendUnreliable => Command::SendUnreliable {
                unreliable_sequence_number: r.u16(),
                data_length: r.u16(),
            },
            CommandKind::SendFragment | CommandKind::SendUnreliableFragment => {
                Command::SendFragment(Fragment {
                    start_sequence_number: r.u16(),
                    data_length: r.u16(),
                    fragment_count: r.u32(),
                    fragment_number: r.u32(),
                    total_length: r.u32(),
                    fragment_offset: r.u32(),
                })
            }
            CommandKind::SendUnsequenced => Command::SendUnsequenced {
                unsequenced_group: r.u16(),
                data_length: r.u16(),
            },
            CommandKind::BandwidthLimit => Command::BandwidthLimit {
                incoming_bandwidth: r.u32(),
                outgoing_bandwidth: r.u32(),
            },
            CommandKind::ThrottleConfigure => Command::ThrottleConfigure {
                packet_throttle_interval: r.u32(),
                packet_throttle_acceleration: r.u32(),
                packet_throttle_deceleration: r.u32(),
            },
        };
        debug_assert_eq!(r.pos, size);
        Ok((header, body, size))
    }
}

/// Encodes a datagram by hand: `header`, then each command followed by its payload, as a
/// peer that speaks ENet without an engine would send it (probes, attack tools, tests,
/// fuzzers). Nothing is checked, compressed or checksummed; the engine's own datagrams come
/// from [`crate::Host::poll_transmit`].
///
/// ```
/// use enet_proto::protocol::{encode_datagram, Command, CommandHeader, CommandKind, Header};
///
/// let ping = CommandHeader {
///     command: CommandKind::Ping as u8 | enet_proto::protocol::COMMAND_FLAG_ACKNOWLEDGE,
///     channel_id: 0xFF,
///     reliable_sequence_number: 1,
/// };
/// let header = Header { peer_id: 0, session_id: 0, compressed: false, sent_time: Some(7) };
/// let bytes = encode_datagram(&header, &[(ping, Command::Ping, &[])]);
/// assert_eq!(bytes, [0x80, 0x00, 0x00, 0x07, 0x85, 0xFF, 0x00, 0x01]);
/// ```
pub fn encode_datagram(header: &Header, commands: &[(CommandHeader, Command, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8; header.size()];
    let n = header.write(&mut out);
    out.truncate(n);
    for (h, c, payload) in commands {
        let start = out.len();
        out.resize(start + c.kind().size(), 0);
        let n = c.write(h, &mut out[start..]);
        out.truncate(start + n);
        out.extend_from_slice(payload);
    }
    out
}

fn read_u16(bytes: &[u8], at: usize) -> Result<u16, DecodeError> {
    match bytes.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(DecodeError::Truncated),
    }
}

/// Reader over a slice whose length was checked against the command size beforehand.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.buf[self.pos];
        self.pos += 1;
        v
    }
    fn u16(&mut self) -> u16 {
        let v = u16::from_be_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        self.pos += 2;
        v
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes4())
    }
    fn bytes4(&mut self) -> [u8; 4] {
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        [b[0], b[1], b[2], b[3]]
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.buf[self.pos] = v;
        self.pos += 1;
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.buf[self.pos..self.pos + v.len()].copy_from_slice(v);
        self.pos += v.len();
    }
}

#[cfg(test)]
mod tests;
