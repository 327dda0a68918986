//! Godot's `PacketPeer`: packets plus the Variant methods `put_var` / `get_var`.
//!
//! Every packet peer implements [`PacketPeer::get_packet`] / [`PacketPeer::put_packet`] and
//! stores a small [`PacketPeerState`]; the Variant methods are provided. As in Godot, one
//! `put_var` is one packet holding exactly one Variant encoding (no prefix), and `get_var`
//! decodes one whole packet, ignoring trailing bytes.

use crate::{Error, GodotError};
use bytes::Bytes;
use godot_variant::{DecodeError, DecodeOptions, EncodeError, EncodeOptions, Variant};
use std::cell::RefCell;

/// Godot's default `encode_buffer_max_size`: 8 MiB.
pub const DEFAULT_ENCODE_BUFFER_MAX_SIZE: usize = 8 * 1024 * 1024;
/// The smallest `encode_buffer_max_size` Godot accepts.
pub const MIN_ENCODE_BUFFER_MAX_SIZE: usize = 1024;
/// The largest `encode_buffer_max_size` Godot accepts: 256 MiB.
pub const MAX_ENCODE_BUFFER_MAX_SIZE: usize = 256 * 1024 * 1024;

/// The per-peer state behind the provided [`PacketPeer`] methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketPeerState {
    /// The largest encoding `put_var` sends.
    pub encode_buffer_max_size: usize,
    /// Godot code of the last [`PacketPeer::get_packet_buffer`] (0 = OK).
    pub last_get_error: i32,
}

impl Default for PacketPeerState {
    fn default() -> Self {
        Self {
            encode_buffer_max_size: DEFAULT_ENCODE_BUFFER_MAX_SIZE,
            last_get_error: 0,
        }
    }
}

/// Why `get_var` / `put_var` failed; [`VarError::godot_code`] gives Godot's `Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VarError {
    /// Getting or putting the packet failed (e.g. `ERR_UNAVAILABLE`: no packet queued).
    #[error(transparent)]
    Packet(#[from] Error),
    /// The packet is not a valid Variant encoding (the decoder's Godot code).
    #[error("received packet is not a Variant: {0}")]
    Decode(#[from] DecodeError),
    /// The value cannot be encoded.
    #[error("cannot encode the Variant: {0}")]
    Encode(#[from] EncodeError),
    /// The encoding is larger than `encode_buffer_max_size` (`ERR_OUT_OF_MEMORY`); nothing
    /// was sent.
    #[error("encode size {len} is bigger than encode_buffer_max_size {max}")]
    TooLarge {
        /// The encoding's size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `set_encode_buffer_max_size` outside 1 KiB..=256 MiB (`ERR_INVALID_PARAMETER`).
    #[error("encode_buffer_max_size {0} is outside 1024..=268435456")]
    BadMaxSize(usize),
}

impl VarError {
    /// Godot's `Error` code for this failure.
    pub fn godot_code(&self) -> i32 {
        match self {
            VarError::Packet(e) => e.godot_code(),
            VarError::Decode(e) => e.godot_code(),
            VarError::Encode(e) => e.godot_code(),
            VarError::TooLarge { .. } => godot_variant::GodotError::OutOfMemory.code(),
            VarError::BadMaxSize(_) => GodotError::InvalidParameter.code(),
        }
    }
}

thread_local! {
    /// The encode scratch buffer, reused by every `put_var` on this thread (Godot keeps one
    /// per peer); it never grows past the largest `encode_buffer_max_size` used.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Godot's `PacketPeer`.
pub trait PacketPeer {
    /// Pops the next received packet ([`Error::Unavailable`] if none).
    fn get_packet(&mut self) -> Result<Bytes, Error>;
    /// Sends one packet. An empty packet is accepted and not sent.
    fn put_packet(&mut self, packet: &[u8]) -> Result<(), Error>;
    /// Number of received packets waiting.
    fn get_available_packet_count(&self) -> usize;
    /// This peer's [`PacketPeerState`].
    fn packet_peer_state(&self) -> PacketPeerState;
    /// Stores this peer's [`PacketPeerState`].
    fn set_packet_peer_state(&mut self, state: PacketPeerState);

    /// The largest Variant encoding `put_var` sends (default 8 MiB).
    fn encode_buffer_max_size(&self) -> usize {
        self.packet_peer_state().encode_buffer_max_size
    }

    /// Sets the limit as Godot does: values below 1024 or above 256 MiB are refused (and the
    /// limit stays); others are rounded up to a power of two (2000 becomes 2048).
    fn set_encode_buffer_max_size(&mut self, size: usize) -> Result<(), VarError> {
        if !(MIN_ENCODE_BUFFER_MAX_SIZE..=MAX_ENCODE_BUFFER_MAX_SIZE).contains(&size) {
            return Err(VarError::BadMaxSize(size));
        }
        let mut s = self.packet_peer_state();
        s.encode_buffer_max_size = size.next_power_of_two();
        self.set_packet_peer_state(s);
        Ok(())
    }

    /// Godot's scripting `get_packet`: the next packet, or an empty one on error; the
    /// outcome is kept for [`get_packet_error`](Self::get_packet_error).
    fn get_packet_buffer(&mut self) -> Bytes {
        let r = self.get_packet();
        let mut s = self.packet_peer_state();
        s.last_get_error = r.as_ref().err().map_or(0, Error::godot_code);
        self.set_packet_peer_state(s);
        r.unwrap_or_default()
    }

    /// Godot code of the last [`get_packet_buffer`](Self::get_packet_buffer) (0 = OK). As
    /// in Godot, `get_var` does not change it.
    fn get_packet_error(&self) -> i32 {
        self.packet_peer_state().last_get_error
    }

    /// Takes one packet and decodes it as a Variant. Full objects are refused
    /// (`ERR_UNAUTHORIZED`) unless `allow_objects`; bytes after the value are ignored.
    fn get_var(&mut self, allow_objects: bool) -> Result<Variant, VarError> {
        let packet = self.get_packet()?;
        let (v, _) = godot_variant::decode_with(&packet, DecodeOptions { allow_objects })?;
        Ok(v)
    }

    /// Encodes `v` (objects as instance ids unless `full_objects`) and sends it as one
    /// packet. An encoding larger than `encode_buffer_max_size` is not sent
    /// (`ERR_OUT_OF_MEMORY`).
    fn put_var(&mut self, v: &Variant, full_objects: bool) -> Result<(), VarError> {
        let max = self.encode_buffer_max_size();
        let opts = EncodeOptions {
            full_objects,
            ..Default::default()
        };
        SCRATCH.with(|cell| {
            // A nested put_var on this thread (not possible through this trait) would find
            // the buffer borrowed; it then gets a fresh one.
            let mut fresh = Vec::new();
            let mut guard = cell.try_borrow_mut();
            let buf = match guard.as_mut() {
                Ok(b) => &mut **b,
                Err(_) => &mut fresh,
            };
            buf.clear();
            godot_variant::encode_with(v, buf, opts)?;
            if buf.len() > max {
                let len = buf.len();
                buf.clear();
                buf.shrink_to(max);
                return Err(VarError::TooLarge { len, max });
            }
            self.put_packet(buf)?;
            Ok(())
        })
    }
}

impl PacketPeer for crate::godot::EnetPacketPeer<'_> {
    fn get_packet(&mut self) -> Result<Bytes, Error> {
        crate::godot::EnetPacketPeer::get_packet(self)
    }
    fn put_packet(&mut self, packet: &[u8]) -> Result<(), Error> {
        crate::godot::EnetPacketPeer::put_packet(self, packet)
    }
    fn get_available_packet_count(&self) -> usize {
        crate::godot::EnetPacketPeer::get_available_packet_count(self)
    }
    fn packet_peer_state(&self) -> PacketPeerState {
        self.var_state()
    }
    fn set_packet_peer_state(&mut self, state: PacketPeerState) {
        self.set_var_state(state)
    }
}
