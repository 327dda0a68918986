//! [`TlsOptions`] (Godot's `TLSOptions`: certificates and keys, PEM or DER) and
//! [`DtlsLimits`], and the OpenSSL contexts built from them.

use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    SslContext, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

use super::DtlsError;

/// Limits of a DTLS layer (the server's, mostly), see [`TlsOptions::with_limits`].
///
/// Build it from [`DtlsLimits::default`] and the `with_*` setters (the struct is
/// `#[non_exhaustive]`, so limits added later do not break callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DtlsLimits {
    /// A handshake not complete after this long is abandoned and counted as a failure
    /// (10 s by default).
    pub handshake_timeout: Duration,
    /// At most this many handshakes run at once ([`DEFAULT_MAX_HANDSHAKES`] by default;
    /// Godot allows 16); ClientHellos with a valid cookie beyond it are dropped (the client
    /// retries).
    pub max_handshakes: usize,
    /// At most this many of those handshakes come from one source (an IPv4 address, or an
    /// IPv6 /64 prefix): [`DEFAULT_MAX_HANDSHAKES_PER_SOURCE`] by default, so that one host
    /// with many ports cannot take every handshake slot. Beyond it, ClientHellos with a
    /// valid cookie from that source are dropped (the client retries).
    pub max_handshakes_per_source: usize,
    /// A server holds at most this many sessions, established or handshaking (4,096 by
    /// default: ENet's 4,095 peers and one to spare); ClientHellos beyond it are dropped.
    pub max_sessions: usize,
    /// An established session that receives nothing for this long is dropped (60 s by
    /// default; ENet peers ping about every second).
    pub session_idle_timeout: Duration,
}

/// The default [`DtlsLimits::max_handshakes`]: 256.
///
/// A handshake holds its slot for a few round trips (a LAN or internet handshake completes
/// in well under a second), so 256 slots admit bursts of hundreds of clients connecting at
/// once, far beyond a game server's usual connect rate, while bounding what stalled
/// handshakes can pin: about 54 KiB each usually and about 410 KiB at the measured worst
/// (see the [module documentation](crate::dtls), "Memory"), so at most about 103 MiB for
/// 256, where 1,024 allowed over 400 MiB. (Each accepted handshake also costs the server a
/// signature, another reason not to run a thousand at once.)
pub const DEFAULT_MAX_HANDSHAKES: usize = 256;

/// The default [`DtlsLimits::max_handshakes_per_source`]: 8 (several clients behind one
/// NAT can still handshake at the same moment).
pub const DEFAULT_MAX_HANDSHAKES_PER_SOURCE: usize = 8;

impl Default for DtlsLimits {
    fn default() -> Self {
        DtlsLimits {
            handshake_timeout: Duration::from_secs(10),
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            max_handshakes_per_source: DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
            max_sessions: 4096,
            session_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl DtlsLimits {
    /// These limits with another [`DtlsLimits::handshake_timeout`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> DtlsLimits {
        self.handshake_timeout = timeout;
        self
    }

    /// These limits with another [`DtlsLimits::max_handshakes`].
    pub fn with_max_handshakes(mut self, n: usize) -> DtlsLimits {
        self.max_handshakes = n;
        self
    }

    /// These limits with another [`DtlsLimits::max_handshakes_per_source`].
    pub fn with_max_handshakes_per_source(mut self, n: usize) -> DtlsLimits {
        self.max_handshakes_per_source = n;
        self
    }

    /// These limits with another [`DtlsLimits::max_sessions`].
    pub fn with_max_sessions(mut self, n: usize) -> DtlsLimits {
        self.max_sessions = n;
        self
    }

    /// These limits with another [`DtlsLimits::session_idle_timeout`].
    pub fn with_session_idle_timeout(mut self, timeout: Duration) -> DtlsLimits {
        self.session_idle_timeout = timeout;
        self
    }
}

#[derive(Clone)]
pub(crate) enum Kind {
    Client {
        /// `None`: the system's trust store.
        trusted: Option<Vec<X509>>,
        common_name_override: Option<String>,
        verify: bool,
    },
    Server {
        key: PKey<Private>,
        chain: Vec<X509>,
    },
}

/// Godot's `TLSOptions`: what a DTLS client trusts, or what a DTLS server presents.
#[derive(Clone)]
pub struct TlsOptions {
    pub(crate) kind: Kind,
    pub(crate) limits: DtlsLimits,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Client { verify: true, .. } => "client",
            Kind::Client { verify: false, .. } => "client_unsafe",
            Kind::Server { .. } => "server",
        };
        f.debug_struct("TlsOptions")
            .field("kind", &kind)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Parses one or more certificates: PEM (a chain, leaf first) or one DER certificate.
pub(crate) fn parse_certificates(data: &[u8]) -> Result<Vec<X509>, DtlsError> {
    let bad = |e: openssl::error::ErrorStack| DtlsError::InvalidCertificate(e.to_string());
    if is_pem(data) {
        let certs = X509::stack_from_pem(data).map_err(bad)?;
        if certs.is_empty() {
            return Err(DtlsError::InvalidCertificate(
                "no certificate in PEM".into(),
            ));
        }
        Ok(certs)
    } else {
        Ok(vec![X509::from_der(data).map_err(bad)?])
    }
}

/// Parses a private key (RSA or EC), PEM or DER (traditional or PKCS#8).
pub(crate) fn parse_key(data: &[u8]) -> Result<PKey<Private>, DtlsError> {
    let r = if is_pem(data) {
        PKey::private_key_from_pem(data)
    } else {
        PKey::private_key_from_der(data).or_else(|_| PKey::private_key_from_pkcs8(data))
    };
    r.map_err(|e| DtlsError::InvalidKey(e.to_string()))
}

fn is_pem(data: &[u8]) -> bool {
    data.windows(10).take(4096).any(|w| w == b"-----BEGIN")
}

fn setup_err(e: openssl::error::ErrorStack) -> DtlsError {
    DtlsError::Setup(e.to_string())
}

impl TlsOptions {
    /// Client options that verify the server (`TLSOptions.client`): its chain against
    /// `trusted_chain` (PEM, one or more certificates, or one DER certificate; `None`: the
    /// system's trust store) and its name against `common_name_override`, or else the host
    /// name given to `dtls_client_setup`.
    ///
    /// Fails with [`DtlsError::InvalidHostname`] for an override that is empty, longer than
    /// 255 bytes or contains a NUL byte.
    pub fn client(
        trusted_chain: Option<&[u8]>,
        common_name_override: Option<&str>,
    ) -> Result<TlsOptions, DtlsError> {
        if let Some(name) = common_name_override {
            check_verify_name(name)?;
        }
        let trusted = trusted_chain.map(parse_certificates).transpose()?;
        Ok(TlsOptions {
            kind: Kind::Client {
                trusted,
                common_name_override: common_name_override.map(str::to_owned),
                verify: true,
            },
            limits: DtlsLimits::default(),
        })
    }

    /// Client options that accept any server certificate (`TLSOptions.client_unsafe`):
    /// encrypted, but open to a man in the middle. For tests and development.
    pub fn client_unsafe() -> TlsOptions {
        TlsOptions {
            kind: Kind::Client {
                trusted: None,
                common_name_override: None,
                verify: false,
            },
            limits: DtlsLimits::default(),
        }
    }

    /// Server options (`TLSOptions.server`): the private `key` (RSA or EC; PEM or DER) and
    /// the `certificate` (PEM: the leaf, then any intermediates; or one DER certificate).
    pub fn server(key: &[u8], certificate: &[u8]) -> Result<TlsOptions, DtlsError> {
        let key = parse_key(key)?;
        let chain = parse_certificates(certificate)?;
        let leaf_key = chain[0]
            .public_key()
            .map_err(|e| DtlsError::InvalidCertificate(e.to_string()))?;
        if !key.public_eq(&leaf_key) {
            return Err(DtlsError::KeyMismatch);
        }
        Ok(TlsOptions {
            kind: Kind::Server { key, chain },
            limits: DtlsLimits::default(),
        })
    }

    /// These options with other [`DtlsLimits`] (handshake timeout, concurrent handshakes).
    pub fn with_limits(mut self, limits: DtlsLimits) -> TlsOptions {
        self.limits = limits;
        self
    }

    /// Whether these are server options.
    pub fn is_server(&self) -> bool {
        matches!(self.kind, Kind::Server { .. })
    }

    /// Whether these are client options that skip verification.
    pub fn is_unsafe(&self) -> bool {
        matches!(self.kind, Kind::Client { verify: false, .. })
    }
}

/// The settings every DTLS context here shares: DTLS 1.2 only, no MTU queries (the layer
/// sets [`HANDSHAKE_MTU`] on each session).
pub(crate) fn base_builder() -> Result<SslContextBuilder, DtlsError> {
    let mut b = SslContext::builder(SslMethod::dtls()).map_err(setup_err)?;
    b.set_min_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(setup_err)?;
    b.set_max_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(setup_err)?;
    // No renegotiation: a renegotiating client would cost the server signatures and
    // buffers outside the cookie exchange and the handshake limits.
    b.set_options(SslOptions::NO_QUERY_MTU | SslOptions::NO_RENEGOTIATION);
    Ok(b)
}

/// The largest datagram a handshake flight is cut into (application records are as large
/// as the ENet datagram they carry).
pub(crate) const HANDSHAKE_MTU: u32 = 1400;

/// The client context for `options` (which must be client options).
pub(crate) fn client_context(options: &TlsOptions) -> Result<SslContext, DtlsError> {
    let Kind::Client {
        trusted, verify, ..
    } = &options.kind
    else {
        return Err(DtlsError::WrongOptions("server options given to a client"));
    };
    let mut b = base_builder()?;
    if *verify {
        b.set_verify(SslVerifyMode::PEER);
        match trusted {
            Some(certs) => {
                let mut store = X509StoreBuilder::new().map_err(setup_err)?;
                for c in certs {
                    store.add_cert(c.clone()).map_err(setup_err)?;
                }
                b.set_verify_cert_store(store.build()).map_err(setup_err)?;
            }
            None => b.set_default_verify_paths().map_err(setup_err)?,
        }
    } else {
        b.set_verify(SslVerifyMode::NONE);
    }
    Ok(b.build())
}

/// The server context for `options` (which must be server options), with the stateless
/// cookie callbacks installed.
pub(crate) fn server_context(options: &TlsOptions) -> Result<SslContext, DtlsError> {
    let Kind::Server { key, chain } = &options.kind else {
        return Err(DtlsError::WrongOptions("client options given to a server"));
    };
    let mut b = base_builder()?;
    b.set_private_key(key).map_err(setup_err)?;
    b.set_certificate(&chain[0]).map_err(setup_err)?;
    for c in &chain[1..] {
        b.add_extra_chain_cert(c.clone()).map_err(setup_err)?;
    }
    b.check_private_key().map_err(|_| DtlsError::KeyMismatch)?;
    b.set_verify(SslVerifyMode::NONE);
    // The server takes no client certificates: bound the handshake messages a client may
    // announce (and OpenSSL allocates up front when a fragment claims them) to OpenSSL's
    // floor (one maximal record, about 18 KiB) instead of its 100 KiB default.
    super::listen::set_max_cert_list(&mut b, SERVER_MAX_CERT_LIST)?;
    b.set_options(SslOptions::COOKIE_EXCHANGE);
    super::listen::install_cookie_callbacks(&mut b)?;
    Ok(b.build())
}

/// The `max_cert_list` of the server context (bytes): below OpenSSL's floor for DTLS
/// handshake messages, which thus applies (a 12-byte header plus one maximal 18 KiB record).
pub(crate) const SERVER_MAX_CERT_LIST: usize = 4096;

/// Checks a name the client verifies the server against (and sends as SNI): not empty, at
/// most 255 bytes (a DNS name's limit), no NUL byte.
pub(crate) fn check_verify_name(name: &str) -> Result<(), DtlsError> {
    if name.is_empty() || name.len() > 255 || name.contains('\0') {
        return Err(DtlsError::InvalidHostname(name.to_owned()));
    }
    Ok(())
}

/// The name the client checks the server's certificate against.
pub(crate) fn verify_name<'a>(options: &'a TlsOptions, hostname: &'a str) -> &'a str {
    match &options.kind {
        Kind::Client {
            common_name_override: Some(n),
            ..
        } => n,
        _ => hostname,
    }
}
