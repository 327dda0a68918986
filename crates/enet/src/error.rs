//! Errors, with the Godot `Error` code each one corresponds to.

/// Godot's `Error` enum values (`core/error/error_list.h`) used by the ENet classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
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

/// Errors of the ENet host and peer API.
///
/// Each variant maps to the Godot `Error` code Godot returns (or would print) in the same
/// situation; see [`Error::godot_code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host is already created (`ERR_ALREADY_IN_USE`).
    #[error("the host is already active")]
    AlreadyInUse,
    /// The host is not created, or was destroyed (`ERR_UNCONFIGURED`).
    #[error("the host is not active")]
    Unconfigured,
    /// A parameter is out of range (`ERR_INVALID_PARAMETER`).
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
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
    /// The peer is not connected or no longer active (`ERR_UNCONFIGURED`).
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
    CantConnect(&'static str),
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
            Error::Dtls(crate::dtls::DtlsError::WrongOptions(_)) => GodotError::InvalidParameter,
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
        assert_eq!(Error::InvalidParameter("x").godot_code(), 31);
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
