//! Packets: a payload plus ENet's delivery flags.

use bytes::Bytes;

/// How a packet travels. The values equal the C library's `ENetPacketFlag` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketFlags(pub u32);

impl PacketFlags {
    /// Unreliable and sequenced (the default): may be lost, never delivered out of order.
    pub const UNRELIABLE: PacketFlags = PacketFlags(0);
    /// Reliable and ordered: retransmitted until acknowledged.
    pub const RELIABLE: PacketFlags = PacketFlags(1 << 0);
    /// Unsequenced: may be lost or arrive out of order, never duplicated.
    pub const UNSEQUENCED: PacketFlags = PacketFlags(1 << 1);
    /// A large unreliable packet is split into unreliable fragments instead of being sent
    /// reliably.
    pub const UNRELIABLE_FRAGMENT: PacketFlags = PacketFlags(1 << 3);

    /// Whether all bits of `other` are set.
    pub const fn contains(self, other: PacketFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for PacketFlags {
    type Output = PacketFlags;
    fn bitor(self, rhs: PacketFlags) -> PacketFlags {
        PacketFlags(self.0 | rhs.0)
    }
}

/// A packet: payload bytes and flags.
///
/// The payload is a reference-counted [`Bytes`], so broadcasting or fragmenting a packet does
/// not copy it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Packet {
    /// The payload.
    pub data: Bytes,
    /// Delivery flags (on received packets: how it arrived).
    pub flags: PacketFlags,
}

impl Packet {
    /// A packet with the given payload and flags.
    pub fn new(data: impl Into<Bytes>, flags: PacketFlags) -> Packet {
        Packet {
            data: data.into(),
            flags,
        }
    }

    /// A reliable packet.
    pub fn reliable(data: impl Into<Bytes>) -> Packet {
        Packet::new(data, PacketFlags::RELIABLE)
    }

    /// An unreliable sequenced packet.
    pub fn unreliable(data: impl Into<Bytes>) -> Packet {
        Packet::new(data, PacketFlags::UNRELIABLE)
    }

    /// An unsequenced packet.
    pub fn unsequenced(data: impl Into<Bytes>) -> Packet {
        Packet::new(data, PacketFlags::UNSEQUENCED)
    }
}
