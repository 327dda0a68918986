//! Building datagrams by hand.

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
