//! [`DtlsError`]: why DTLS setup was refused or why a DTLS session failed.

/// A DTLS setup or session error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtlsError {
    /// Client options given to a server setup, or server options to a client setup
    /// (Godot: `ERR_INVALID_PARAMETER`).
    #[error("wrong TLS options: {0}")]
    WrongOptions(&'static str),
    /// The host already runs DTLS (Godot: `FAILED`).
    #[error("DTLS is already set up on this host")]
    AlreadyUpgraded,
    /// A certificate could not be parsed (neither PEM nor DER).
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// A private key could not be parsed (neither PEM nor DER).
    #[error("invalid private key: {0}")]
    InvalidKey(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// OpenSSL refused the configuration.
    #[error("OpenSSL setup failed: {0}")]
    Setup(String),
    /// The server's certificate has expired (or is not yet valid).
    #[error("the server's certificate has expired or is not yet valid: {0}")]
    CertificateExpired(String),
    /// The server's certificate does not name the expected host.
    #[error("the server's certificate does not match the host name {0:?}")]
    HostnameMismatch(String),
    /// The server's certificate chain is not trusted (unknown CA, self-signed...).
    #[error("the server's certificate is not trusted: {0}")]
    UntrustedCertificate(String),
    /// The handshake failed for another reason (alert from the peer, protocol error).
    #[error("DTLS handshake failed: {0}")]
    HandshakeFailed(String),
    /// An established session failed (a record OpenSSL refused to read or write); the
    /// session is closed (the peer is sent a close_notify or OpenSSL's alert) and a new
    /// handshake starts with the next datagram.
    #[error("DTLS session failed: {0}")]
    SessionFailed(String),
    /// A host name to verify the server against (or send as SNI) that is empty, longer
    /// than 255 bytes or contains a NUL byte.
    #[error("invalid host name {0:?}: empty, over 255 bytes or with a NUL byte")]
    InvalidHostname(String),
    /// `UdpHost::inject_datagram` (a test seam) on a DTLS host:
    /// a plaintext datagram would bypass DTLS, so it is refused.
    #[error("plaintext datagrams cannot be injected into a DTLS host")]
    PlaintextOnDtlsHost,
    /// The handshake did not complete within the configured timeout.
    #[error("DTLS handshake timed out")]
    HandshakeTimeout,
}
