//! The wire format of every SceneMultiplayer message (spec Part B), without any state.
//!
//! [`parse`] splits one MultiplayerPeer packet into a [`Message`] borrowing from it, with a
//! typed [`WireError`] for every malformed input; the `write_*` functions append the exact
//! bytes Godot 4.3 produces.

use godot_variant::{DecodeOptions, EncodeOptions, Variant, VariantType};
use thiserror::Error;

/// Network command 0: REMOTE_CALL.
pub const CMD_REMOTE_CALL: u8 = 0;
/// Network command 1: SIMPLIFY_PATH.
pub const CMD_SIMPLIFY_PATH: u8 = 1;
/// Network command 2: CONFIRM_PATH.
pub const CMD_CONFIRM_PATH: u8 = 2;
/// Network command 3: RAW (`send_bytes`).
pub const CMD_RAW: u8 = 3;
/// Network command 4: SPAWN.
pub const CMD_SPAWN: u8 = 4;
/// Network command 5: DESPAWN.
pub const CMD_DESPAWN: u8 = 5;
/// Network command 6: SYNC.
pub const CMD_SYNC: u8 = 6;
/// Network command 7: SYS.
pub const CMD_SYS: u8 = 7;
/// SYS sub-command 0: AUTH.
pub const SYS_AUTH: u8 = 0;
/// SYS sub-command 1: ADD_PEER.
pub const SYS_ADD_PEER: u8 = 1;
/// SYS sub-command 2: DEL_PEER.
pub const SYS_DEL_PEER: u8 = 2;
/// SYS sub-command 3: RELAY.
pub const SYS_RELAY: u8 = 3;
/// Length of a SYS header with its `i32le` id.
pub const SYS_CMD_SIZE: usize = 6;
/// Offset of the path in SIMPLIFY_PATH (after the command, checksum and cache id).
pub const SIMPLIFY_PATH_HEADER: usize = 38;
/// Bit 31 of a 4-byte node id: the low 31 bits are the offset of a full path.
pub const FULL_PATH_FLAG: u32 = 0x8000_0000;
/// Compressed-variant encode mode mask (bits 6–7 of the first byte).
const ENCODE_MODE_MASK: u8 = 0xC0;
/// Compressed-variant type mask (bits 0–5 of the first byte).
const TYPE_MASK: u8 = 0x3F;
/// REMOTE_CALL meta bit 7: zero arguments, or one raw PackedByteArray.
const BYTE_ONLY_OR_NO_ARGS: u8 = 0x80;
/// Godot's `Variant::VARIANT_MAX` in 4.3.
const VARIANT_MAX: u8 = 39;

/// Why a packet was not a well-formed SceneMultiplayer message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The packet is empty.
    #[error("empty packet")]
    Empty,
    /// The packet is shorter than its command needs.
    #[error("command {cmd}: {len} byte(s), at least {need} needed")]
    Truncated {
        /// The network command (`byte0 & 7`).
        cmd: u8,
        /// The packet length.
        len: usize,
        /// The minimum for this command.
        need: usize,
    },
    /// CONFIRM_PATH must be exactly 6 bytes.
    #[error("CONFIRM_PATH of {0} byte(s), 6 expected")]
    ConfirmLength(usize),
    /// An unknown SYS sub-command.
    #[error("unknown SYS sub-command {0}")]
    UnknownSys(u8),
    /// REMOTE_CALL node-id width code 3.
    #[error("invalid node-id width code 3")]
    NodeIdWidth,
    /// A full-path offset outside the packet or inside the header.
    #[error("full-path offset {offset} outside {header}..{len}")]
    PathOffset {
        /// The offset read.
        offset: usize,
        /// The end of the header.
        header: usize,
        /// The packet length.
        len: usize,
    },
    /// A node path that is not UTF-8 (or is empty).
    #[error("invalid node path")]
    BadPath,
}

/// How a REMOTE_CALL names its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef<'a> {
    /// A cache id announced by SIMPLIFY_PATH.
    Cached(u32),
    /// The full root-relative path.
    Path(&'a str),
}

/// The arguments part of a REMOTE_CALL, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgsRef<'a> {
    /// Bit 7 set and nothing follows: no arguments.
    None,
    /// Bit 7 set: one PackedByteArray argument, raw.
    Bytes(&'a [u8]),
    /// Bit 7 clear: `argc` compressed variants in `data` (the count may lie).
    Compressed {
        /// The argument count byte.
        argc: u8,
        /// Everything between the count and the path (or the end).
        data: &'a [u8],
    },
}

/// A parsed REMOTE_CALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteCall<'a> {
    /// The node.
    pub node: NodeRef<'a>,
    /// The RPC id (position in the node's RPC table, B.10.3).
    pub name_id: u16,
    /// The arguments.
    pub args: ArgsRef<'a>,
}

/// One SceneMultiplayer message, borrowing from its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// SYS AUTH: a payload, or empty for "my side has completed".
    Auth(&'a [u8]),
    /// SYS ADD_PEER.
    AddPeer(i32),
    /// SYS DEL_PEER.
    DelPeer(i32),
    /// SYS RELAY: the target (client → server) or source (server → client), and the message.
    Relay {
        /// Target or source peer id.
        peer: i32,
        /// The wrapped message (≥ 1 byte).
        inner: &'a [u8],
    },
    /// RAW: the `send_bytes` payload (≥ 1 byte).
    Raw(&'a [u8]),
    /// SIMPLIFY_PATH.
    SimplifyPath {
        /// The 32 checksum characters (lowercase hex MD5 in Godot's output).
        checksum: &'a [u8],
        /// The sender's cache id.
        cache_id: u32,
        /// The root-relative path.
        path: &'a str,
    },
    /// CONFIRM_PATH.
    ConfirmPath {
        /// Whether the checksums matched.
        valid: bool,
        /// The confirmed cache id.
        cache_id: u32,
    },
    /// REMOTE_CALL.
    RemoteCall(RemoteCall<'a>),
    /// SPAWN, DESPAWN or SYNC: not interpreted (relayed as opaque bytes).
    Replication {
        /// The command (4, 5 or 6).
        cmd: u8,
    },
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn truncated(cmd: u8, len: usize, need: usize) -> WireError {
    WireError::Truncated { cmd, len, need }
}

/// A NUL-terminated (or ending) UTF-8 path starting at `from`.
fn path_at(b: &[u8], from: usize) -> Result<&str, WireError> {
    let rest = &b[from..];
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    let s = std::str::from_utf8(&rest[..end]).map_err(|_| WireError::BadPath)?;
    if s.is_empty() {
        return Err(WireError::BadPath);
    }
    Ok(s)
}

/// Parses one packet as Godot's receiver reads it (dispatching on `byte0 & 7`).
pub fn parse(p: &[u8]) -> Result<Message<'_>, WireError> {
    let Some(&b0) = p.first() else {
        return Err(WireError::Empty);
    };
    let cmd = b0 & 7;
    let len = p.len();
    match cmd {
        CMD_SYS => {
            if len < 2 {
                return Err(truncated(cmd, len, 2));
            }
            if p[1] == SYS_AUTH {
                return Ok(Message::Auth(&p[2..]));
            }
            if len < SYS_CMD_SIZE {
                return Err(truncated(cmd, len, SYS_CMD_SIZE));
            }
            let id = u32_at(p, 2) as i32;
            match p[1] {
                SYS_ADD_PEER => Ok(Message::AddPeer(id)),
                SYS_DEL_PEER => Ok(Message::DelPeer(id)),
                SYS_RELAY if len < SYS_CMD_SIZE + 1 => Err(truncated(cmd, len, SYS_CMD_SIZE + 1)),
                SYS_RELAY => Ok(Message::Relay {
                    peer: id,
                    inner: &p[SYS_CMD_SIZE..],
                }),
                other => Err(WireError::UnknownSys(other)),
            }
        }
        CMD_RAW if len < 2 => Err(truncated(cmd, len, 2)),
        CMD_RAW => Ok(Message::Raw(&p[1..])),
        CMD_SIMPLIFY_PATH => {
            if len < SIMPLIFY_PATH_HEADER {
                return Err(truncated(cmd, len, SIMPLIFY_PATH_HEADER));
            }
            Ok(Message::SimplifyPath {
                checksum: &p[1..33],
                cache_id: u32_at(p, 34),
                path: path_at(p, SIMPLIFY_PATH_HEADER)?,
            })
        }
        CMD_CONFIRM_PATH if len != 6 => Err(WireError::ConfirmLength(len)),
        CMD_CONFIRM_PATH => Ok(Message::ConfirmPath {
            valid: p[1] != 0,
            cache_id: u32_at(p, 2),
        }),
        CMD_REMOTE_CALL => parse_rpc(p).map(Message::RemoteCall),
        _ => Ok(Message::Replication { cmd }),
    }
}

fn parse_rpc(p: &[u8]) -> Result<RemoteCall<'_>, WireError> {
    let meta = p[0];
    let len = p.len();
    let node_w = match (meta >> 4) & 3 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return Err(WireError::NodeIdWidth),
    };
    let name_w = if meta & 0x40 != 0 { 2 } else { 1 };
    let byte_only = meta & BYTE_ONLY_OR_NO_ARGS != 0;
    let header = 1 + node_w + name_w + usize::from(!byte_only);
    if len < header {
        return Err(truncated(CMD_REMOTE_CALL, len, header));
    }
    let raw_node = match node_w {
        1 => u32::from(p[1]),
        2 => u32::from(u16::from_le_bytes([p[1], p[2]])),
        _ => u32_at(p, 1),
    };
    let name_at = 1 + node_w;
    let name_id = if name_w == 1 {
        u16::from(p[name_at])
    } else {
        u16::from_le_bytes([p[name_at], p[name_at + 1]])
    };
    let (node, end) = if node_w == 4 && raw_node & FULL_PATH_FLAG != 0 {
        let offset = (raw_node & !FULL_PATH_FLAG) as usize;
        if offset < header || offset >= len {
            return Err(WireError::PathOffset {
                offset,
                header,
                len,
            });
        }
        (NodeRef::Path(path_at(p, offset)?), offset)
    } else {
        (NodeRef::Cached(raw_node), len)
    };
    let args = if byte_only {
        let body = &p[header..end];
        if body.is_empty() {
            ArgsRef::None
        } else {
            ArgsRef::Bytes(body)
        }
    } else {
        ArgsRef::Compressed {
            argc: p[header - 1],
            data: &p[header..end],
        }
    };
    Ok(RemoteCall {
        node,
        name_id,
        args,
    })
}

/// Appends `07 <sub> <i32le id>`.
pub fn write_sys(out: &mut Vec<u8>, sub: u8, id: i32) {
    out.extend_from_slice(&[CMD_SYS, sub]);
    out.extend_from_slice(&id.to_le_bytes());
}

/// Appends a SIMPLIFY_PATH (`checksum` is the 32-character lowercase hex MD5).
pub fn write_simplify_path(out: &mut Vec<u8>, checksum: &str, cache_id: u32, path: &str) {
    out.push(CMD_SIMPLIFY_PATH);
    out.extend_from_slice(checksum.as_bytes());
    out.push(0);
    out.extend_from_slice(&cache_id.to_le_bytes());
    out.extend_from_slice(path.as_bytes());
    out.push(0);
}

/// Appends a CONFIRM_PATH.
pub fn write_confirm_path(out: &mut Vec<u8>, valid: bool, cache_id: u32) {
    out.extend_from_slice(&[CMD_CONFIRM_PATH, u8::from(valid)]);
    out.extend_from_slice(&cache_id.to_le_bytes());
}

/// Why arguments could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgsError {
    /// More than 255 arguments.
    #[error("{0} arguments (at most 255)")]
    TooMany(usize),
    /// A value the Variant encoder refused.
    #[error("argument {index}: {error}")]
    Encode {
        /// Which argument.
        index: usize,
        /// The encoder's error.
        error: godot_variant::EncodeError,
    },
}

/// Appends a REMOTE_CALL. `node` is the cache id, or `None` for the full-path form with
/// `path`; `wide_node` forces the 4-byte id form (a broadcast that is not confirmed by all).
pub fn write_remote_call(
    out: &mut Vec<u8>,
    node: Option<u32>,
    wide_node: bool,
    path: &str,
    name_id: u16,
    args: &[Variant],
    full_objects: bool,
) -> Result<(), ArgsError> {
    if args.len() > 255 {
        return Err(ArgsError::TooMany(args.len()));
    }
    let start = out.len();
    let (code, width) = match node {
        Some(id) if !wide_node && id <= 0xFF => (0u8, 1),
        Some(id) if !wide_node && id <= 0xFFFF => (1, 2),
        _ => (2, 4),
    };
    let mut meta = code << 4;
    if name_id > 0xFF {
        meta |= 0x40;
    }
    let byte_only = matches!(args, [] | [Variant::PackedByteArray(_)]);
    if byte_only {
        meta |= BYTE_ONLY_OR_NO_ARGS;
    }
    out.push(meta);
    let id_at = out.len();
    let id = node.unwrap_or(0);
    out.extend_from_slice(&id.to_le_bytes()[..width]);
    if name_id > 0xFF {
        out.extend_from_slice(&name_id.to_le_bytes());
    } else {
        out.push(name_id as u8);
    }
    match args {
        [] => {}
        [Variant::PackedByteArray(b)] => out.extend_from_slice(b),
        _ => {
            out.push(args.len() as u8);
            for (index, a) in args.iter().enumerate() {
                if let Err(error) = encode_compressed(a, out, full_objects) {
                    out.truncate(start);
                    return Err(ArgsError::Encode { index, error });
                }
            }
        }
    }
    if node.is_none() {
        let offset = (out.len() - start) as u32 | FULL_PATH_FLAG;
        out[id_at..id_at + 4].copy_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(0);
    }
    Ok(())
}

/// Appends `v` in `MultiplayerAPI::encode_and_compress_variant` form (B.10.4).
pub fn encode_compressed(
    v: &Variant,
    out: &mut Vec<u8>,
    full_objects: bool,
) -> Result<(), godot_variant::EncodeError> {
    match v {
        Variant::Bool(b) => out.push(VariantType::Bool.id() as u8 | if *b { 0x80 } else { 0 }),
        Variant::Int(i) => {
            let i = *i;
            let t = VariantType::Int.id() as u8;
            if let Ok(x) = i8::try_from(i) {
                out.extend_from_slice(&[t, x as u8]);
            } else if let Ok(x) = i16::try_from(i) {
                out.push(t | 0x40);
                out.extend_from_slice(&x.to_le_bytes());
            } else if let Ok(x) = i32::try_from(i) {
                out.push(t | 0x80);
                out.extend_from_slice(&x.to_le_bytes());
            } else {
                out.push(t | 0xC0);
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
        _ => {
            let at = out.len();
            let opts = EncodeOptions {
                full_objects,
                ..EncodeOptions::default()
            };
            godot_variant::encode_with(v, out, opts)?;
            out[at] = v.get_type().id() as u8;
        }
    }
    Ok(())
}

/// Why a compressed variant did not decode.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CompressedError {
    /// No bytes left.
    #[error("no bytes left for an argument")]
    Eof,
    /// A type id ≥ 39.
    #[error("invalid type id {0}")]
    BadType(u8),
    /// The Part A decoder failed.
    #[error(transparent)]
    Variant(#[from] godot_variant::DecodeError),
}

/// Decodes one compressed variant from the start of `b`; returns it and its length.
pub fn decode_compressed(
    b: &[u8],
    allow_objects: bool,
) -> Result<(Variant, usize), CompressedError> {
    let &b0 = b.first().ok_or(CompressedError::Eof)?;
    let ty = b0 & TYPE_MASK;
    if ty >= VARIANT_MAX {
        return Err(CompressedError::BadType(ty));
    }
    let mode = (b0 & ENCODE_MODE_MASK) >> 6;
    if u32::from(ty) == VariantType::Bool.id() {
        return Ok((Variant::Bool(b0 & 0x80 != 0), 1));
    }
    if u32::from(ty) == VariantType::Int.id() {
        let w = 1usize << mode;
        let body = b.get(1..1 + w).ok_or(CompressedError::Eof)?;
        let mut buf = [0u8; 8];
        buf[..w].copy_from_slice(body);
        let shift = 64 - 8 * w as u32;
        let v = (i64::from_le_bytes(buf) << shift) >> shift;
        return Ok((Variant::Int(v), 1 + w));
    }
    let opts = DecodeOptions { allow_objects };
    Ok(godot_variant::decode_with(b, opts)?)
}

/// Decodes RPC arguments as Godot's receiver does: a failure leaves that argument and all
/// later ones `Nil`; the call still happens. Returns the values and whether all decoded.
pub fn decode_args(args: ArgsRef<'_>, allow_objects: bool, out: &mut Vec<Variant>) -> bool {
    match args {
        ArgsRef::None => true,
        ArgsRef::Bytes(b) => {
            out.push(Variant::PackedByteArray(b.to_vec()));
            true
        }
        ArgsRef::Compressed { argc, data } => {
            let mut at = 0;
            let mut ok = true;
            for _ in 0..argc {
                if ok {
                    match decode_compressed(&data[at..], allow_objects) {
                        Ok((v, used)) => {
                            at += used;
                            out.push(v);
                            continue;
                        }
                        Err(_) => ok = false,
                    }
                }
                out.push(Variant::Nil);
            }
            ok
        }
    }
}
