//! Errors, with the Godot `Error` code each one corresponds to.

/// Godot's `Error` enum values (`core/error/error_list.h`) used by the ENet classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum GodotError {
    /// `OK`.
    Ok = 0,
    /// `FAILED`.
    Failed = 1,
    /// `ERR_UNAVAILABLE`.
    Unavailable = 2,
    /// `ERR_UNCONFIGURED`.
    Unconfigured = 3,
    /// `ERR_CANT_CREATE`.
    CantCreate = 20,
    /// `ERR_ALREADY_IN_USE`.
    AlreadyInUse = 22,
    /// `ERR_TIMEOUT`.
    Timeout = 24,
    /// `ERR_CANT_CONNECT`.
    CantConnect = 25,
    /// `ERR_CANT_RESOLVE`.
    CantResolve = 26,
    /// `ERR_CONNECTION_ERROR`.
    ConnectionError = 27,
    /// `ERR_INVALID_DATA`.
    InvalidData = 30,
    /// `ERR_INVALID_PARAMETER`.
    InvalidParameter = 31,
    /// `ERR_BUSY`.
    Busy = 44,
}

impl GodotError {
    /// The numeric code, as GDScript sees it.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// What was wrong with a parameter ([`Error::InvalidParameter`]): matchable, with the
/// values involved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// A number outside its range `min..=max`; `name` is the parameter's name.
    #[error("{name} must be {min}..={max}, got {value}")]
    OutOfRange {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: i64,
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// Flag bits the call does not know.
    #[error("unknown flag bits {0:#x}")]
    Flags(u32),
    /// A bind address that is neither `"*"` nor an IP literal.
    #[error("invalid bind IP {0:?}")]
    BindAddress(String),
    /// Port 0 where a destination port is needed.
    #[error("port must be 1..=65535")]
    PortZero,
    /// Timeouts out of order: Godot's `set_timeout` wants `limit <= minimum <= maximum` (all
    /// three in milliseconds there).
    #[error("timeouts out of order: limit {limit}, minimum {minimum} ms, maximum {maximum} ms")]
    TimeoutOrder {
        /// The timeout limit.
        limit: u64,
        /// The minimum timeout (ms).
        minimum: u64,
        /// The maximum timeout (ms).
        maximum: u64,
    },
    /// A duration longer than the protocol's 32-bit millisecond fields hold.
    #[error("{name} of {value:?} exceeds u32::MAX milliseconds")]
    Duration {
        /// The parameter's name.
        name: &'static str,
        /// The duration given.
        value: std::time::Duration,
    },
    /// A host configuration the engine refuses.
    #[error("invalid host configuration: {0}")]
    Config(enet_proto::Error),
    /// A multiplayer target peer id that names no connected peer.
    #[error("no such target peer {0}")]
    TargetPeer(i32),
    /// A mesh peer connection that does not have exactly one connected peer.
    #[error("the connection must have exactly one connected peer")]
    MeshConnection,
}

/// Why a connection could not be started ([`Error::CantConnect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CantConnect {
    /// A Godot `ENetConnection` that already has peers cannot initiate another connection.
    #[error("this connection already has a peer")]
    AlreadyHasPeer,
    /// An IPv6 destination on an IPv4-only socket.
    #[error("IPv6 target on an IPv4-only socket")]
    Ipv6OnIpv4Socket,
    /// Every peer slot is in use.
    #[error("no free peer slot")]
    NoFreeSlot,
    /// The address cannot be connected to (port 0, unspecified, broadcast or multicast).
    #[error("address cannot be connected to (port 0, unspecified, broadcast or multicast)")]
    Unanswerable,
}

/// Errors of the ENet host and peer API, native ([`crate::UdpHost`]) and Godot
/// ([`crate::godot`]).
///
/// Each variant maps to the Godot `Error` code Godot returns (or would print) in the same
/// situation; see [`Error::godot_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host is already created (`ERR_ALREADY_IN_USE`).
    #[error("the host is already active")]
    AlreadyInUse,
    /// The host is not created, or was destroyed (`ERR_UNCONFIGURED`).
    #[error("the host is not active")]
    Unconfigured,
    /// A parameter is out of range (`ERR_INVALID_PARAMETER`).
    #[error("invalid parameter: {0}")]
    InvalidParameter(Invalid),
    /// A channel at or above the limit (`ERR_INVALID_PARAMETER`): `limit` is the number of
    /// channels the host or peer has.
    #[error("invalid channel {channel}: the limit is {limit}")]
    InvalidChannel {
        /// The channel asked for.
        channel: u8,
        /// How many channels there are (valid channels are `0..limit`).
        limit: usize,
    },
    /// The socket could not be created or bound (`ERR_CANT_CREATE`).
    #[error("cannot create host: {0}")]
    CantCreate(#[source] std::io::Error),
    /// A host name did not resolve (`ERR_CANT_RESOLVE`).
    #[error("cannot resolve {0:?}")]
    CantResolve(String),
    /// The peer is not connected or no longer active, or a native [`crate::PeerId`] is stale
    /// (its connection is over) or out of range (`ERR_UNCONFIGURED`).
    #[error("peer is not active")]
    PeerInactive,
    /// ENet refused the operation (`FAILED`), e.g. sending before the connection completed.
    #[error("operation failed: {0}")]
    Failed(#[from] enet_proto::Error),
    /// Nothing is available (`ERR_UNAVAILABLE`), e.g. no packet queued.
    #[error("nothing available")]
    Unavailable,
    /// No free peer slot, or this connection already has a peer (`ERR_CANT_CONNECT`).
    #[error("cannot connect: {0}")]
    CantConnect(CantConnect),
    /// A socket error while servicing (`ERR_CONNECTION_ERROR`).
    #[error("socket error: {0}")]
    Io(#[source] std::io::Error),
    /// DTLS setup was refused (`FAILED`, or `ERR_INVALID_PARAMETER` for the wrong kind of
    /// TLS options), see [`crate::dtls::DtlsError`].
    #[cfg(feature = "dtls")]
    #[error("DTLS: {0}")]
    Dtls(#[from] crate::dtls::DtlsError),
}

impl Error {
    /// [`Error::InvalidParameter`] with [`Invalid::OutOfRange`].
    pub fn out_of_range(name: &'static str, value: i64, min: i64, max: i64) -> Error {
        Error::InvalidParameter(Invalid::OutOfRange {
            name,
            value,
            min,
            max,
        })
    }

    /// The Godot `Error` this corresponds to.
    pub fn godot_error(&self) -> GodotError {
        match self {
            Error::AlreadyInUse => GodotError::AlreadyInUse,
            Error::Unconfigured | Error::PeerInactive => GodotError::Unconfigured,
            Error::InvalidParameter(_) | Error::InvalidChannel { .. } => {
                GodotError::InvalidParameter
            }
            Error::CantCreate(_) => GodotError::CantCreate,
            Error::CantResolve(_) => GodotError::CantResolve,
            Error::Failed(_) => GodotError::Failed,
            Error::Unavailable => GodotError::Unavailable,
            Error::CantConnect(_) => GodotError::CantConnect,
            Error::Io(_) => GodotError::ConnectionError,
            #[cfg(feature = "dtls")]
            Error::Dtls(
                crate::dtls::DtlsError::WrongOptions(_)
                | crate::dtls::DtlsError::InvalidHostname(_),
            ) => GodotError::InvalidParameter,
            #[cfg(feature = "dtls")]
            Error::Dtls(_) => GodotError::Failed,
        }
    }

    /// The numeric Godot `Error` code.
    pub fn godot_code(&self) -> i32 {
        self.godot_error().code()
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_godot() {
        assert_eq!(Error::AlreadyInUse.godot_code(), 22);
        assert_eq!(Error::Unconfigured.godot_code(), 3);
        assert_eq!(Error::InvalidParameter(Invalid::PortZero).godot_code(), 31);
        assert_eq!(
            Error::out_of_range("max_peers", 0, 1, 4095).to_string(),
            "invalid parameter: max_peers must be 1..=4095, got 0"
        );
        let e = Error::InvalidChannel {
            channel: 7,
            limit: 2,
        };
        assert_eq!(e.godot_code(), 31);
        assert_eq!(e.to_string(), "invalid channel 7: the limit is 2");
        assert_eq!(
            Error::CantCreate(std::io::Error::other("x")).godot_code(),
            20
        );
        assert_eq!(Error::Unavailable.godot_code(), 2);
        assert_eq!(
            Error::Failed(enet_proto::Error::NotConnected).godot_code(),
            1
        );
        assert_eq!(Error::PeerInactive.godot_code(), 3);
    }
}
