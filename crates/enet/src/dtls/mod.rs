//! DTLS 1.2 under ENet (Godot's `ENetConnection.dtls_server_setup` / `dtls_client_setup`),
//! on OpenSSL; compiled with the `dtls` feature.
//!
//! The layer sits between the UDP socket and the sans-IO engine of a
//! [`UdpHost`](crate::udp::UdpHost), at one per-datagram seam: every datagram read from the
//! socket is given to the layer, which hands the engine the decrypted ENet datagram (if
//! any), and every datagram the engine produces is sealed as exactly one DTLS
//! application-data record, as Godot does. Nothing of it reaches `enet-proto`.
//!
//! What it does, and where it is sturdier than Godot's `godot.cpp`:
//!
//! * One DTLS session per remote address, found by a hash-map lookup per datagram (Godot
//!   polls every DTLS peer on every receive).
//! * The server keeps **no state** for an address before that address has returned a valid
//!   cookie: unknown addresses go through OpenSSL's stateless `DTLSv1_listen` (the
//!   `listen` module), which answers a ClientHello with a HelloVerifyRequest carrying a
//!   keyed-hash cookie of the address and a 30-second epoch. A spoofed ClientHello flood costs
//!   the server one hash and one small reply per datagram, and no memory.
//! * Handshakes time out ([`DtlsLimits::handshake_timeout`], 10 s by default) and at most
//!   [`DtlsLimits::max_handshakes`] ([`DEFAULT_MAX_HANDSHAKES`], 256; Godot: 16) run at
//!   once, at most [`DtlsLimits::max_handshakes_per_source`]
//!   ([`DEFAULT_MAX_HANDSHAKES_PER_SOURCE`], 8) from one IPv4 address or IPv6 /64, so that
//!   one host with many ports cannot take every slot; established sessions that receive
//!   nothing for [`DtlsLimits::session_idle_timeout`] (60 s) are dropped (ENet pings every
//!   second or so).
//! * What a client that returned a valid cookie can make a pending handshake hold is
//!   bounded: the server context's `max_cert_list` is lowered to OpenSSL's floor (a
//!   handshake message of at most about 17 KiB instead of 100 KiB; the server takes no client
//!   certificates), a handshake takes at most 16 records of the next epoch (OpenSSL would
//!   buffer 100), and renegotiation is disabled.
//! * A session that fails (OpenSSL refuses one of its records) tells its peer, with
//!   OpenSSL's alert or a close_notify, so that the peer starts a new handshake at once
//!   rather than after its idle timeout ([`DtlsError::SessionFailed`]). An empty datagram
//!   or one over ENet's largest is refused without touching the session
//!   ([`DtlsStats::refused_sends`]).
//! * Records that fail (garbage, replayed, wrong epoch, unknown session, oversize) are
//!   dropped and counted in [`DtlsStats`], never a panic; established sessions carry on.
//! * The client verifies the server's chain and host name ([`TlsOptions::client`]) and
//!   reports why it refused in a typed [`DtlsError`].
//!
//! * A client holds its first outgoing ENet datagrams while its handshake runs (at most
//!   [`MAX_HELD_DATAGRAMS`] and [`MAX_HELD_BYTES`]) and sends them when it completes, so
//!   the CONNECTs leave with the handshake; Godot drops them ("busy") and ENet resends
//!   the CONNECT about 500 ms later.
//! * A client that crashed and restarts on the same port reconnects at once (RFC 6347
//!   §4.2.8): a ClientHello from the address of an established session goes through the
//!   cookie exchange, and a valid cookie starts a new handshake beside the session, which
//!   it replaces only once complete. Spoofed ClientHellos only earn stateless cookie
//!   replies, and a replayed one a handshake that cannot complete, so neither can end a
//!   session.
//!
//! **Other differences from Godot.** An established session ends with the peer's
//! close_notify (sent when a host goes away, here as in Godot), a fatal alert, a new
//! handshake from its address, or after [`DtlsLimits::session_idle_timeout`]. Certificate
//! refusals are reported as typed errors
//! ([`UdpHost::dtls_last_error`](crate::udp::UdpHost::dtls_last_error)) rather than only
//! printed; the ENet connection then times out as in Godot. Requires OpenSSL 1.1.1 or later
//! (`DTLSv1_listen` with `BIO_ADDR`).
//!
//! **The socket.** [`UdpHost::socket`](crate::udp::UdpHost::socket) is the host's own
//! socket: a datagram read from it never reaches DTLS (or ENet), and one written to it
//! bypasses DTLS. Use [`UdpHost::socket_send`](crate::udp::UdpHost::socket_send), which
//! seals. `UdpHost::inject_datagram` (a test seam) is refused on a DTLS host.
//!
//! **Memory.** A session is an OpenSSL `SSL` object with its DTLS record buffers (each
//! sized for a 16 KiB record), two datagram buffers of up to 4 KiB and a map entry (while
//! a client handshakes, up to [`MAX_HELD_BYTES`] of held datagrams; while a server renews a
//! session, a second `SSL` object until the new handshake ends): about
//! **47 KiB per established session**, measured on Linux with OpenSSL 3.0 (200 DTLS clients
//! of `enet serve --raw`: 74 KiB of server RSS per peer, against 27 KiB per peer without
//! DTLS). A server with 1,000 peers thus holds about 46 MiB for DTLS. A pending handshake
//! holds about 54 KiB, and **at worst about 410 KiB**: a client that returned a valid cookie
//! and then sends the 16 largest next-epoch records the layer lets through and nearly
//! complete fragments of the 11 largest handshake messages OpenSSL then buffers (measured
//! over 200 such stalled handshakes, Linux, OpenSSL 3.0; a session being renewed holds a
//! pending handshake's worth more). With the default limits one source can thus pin about
//! 3.3 MiB (8 handshakes) and all pending handshakes about 103 MiB (256), each freed after
//! [`DtlsLimits::handshake_timeout`]. Sessions are bounded by
//! [`DtlsLimits::max_sessions`], and addresses that have not returned a cookie cost
//! nothing. (OpenSSL's `SSL_MODE_RELEASE_BUFFERS` would shrink idle sessions
//! but allocate per record, so it is not used.)

#[cfg(dtls_unsupported_ssl)]
compile_error!(
    "the `dtls` feature needs OpenSSL 1.1.0 or later (LibreSSL and BoringSSL lack DTLSv1_listen with BIO_ADDR); point openssl-sys at OpenSSL, e.g. with OPENSSL_DIR"
);

pub mod certs;
mod error;
mod layer;
#[allow(unsafe_code)]
mod listen;
mod options;
mod stream;
#[cfg(test)]
mod tests;

pub mod godot;

pub use error::DtlsError;
pub(crate) use layer::DtlsLayer;
#[cfg(batched_io)]
pub(crate) use layer::MAX_RECORD;
pub use layer::{MAX_HELD_BYTES, MAX_HELD_DATAGRAMS};
/// The `openssl` crate this layer is built on, for building certificates and keys with the
/// same version.
pub use openssl;
pub use options::{
    DtlsLimits, TlsOptions, DEFAULT_MAX_HANDSHAKES, DEFAULT_MAX_HANDSHAKES_PER_SOURCE,
};

/// Counters of a host's DTLS layer (see [`UdpHost::dtls_stats`](crate::udp::UdpHost::dtls_stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DtlsStats {
    /// Established DTLS sessions.
    pub sessions: usize,
    /// Handshakes under way (on a server: only addresses that returned a valid cookie;
    /// renewals of established sessions included).
    pub pending_handshakes: usize,
    /// Remote addresses the layer holds any state for (sessions, handshakes and, on a
    /// client, failed destinations kept so as not to retry at once).
    pub tracked_addresses: usize,
    /// HelloVerifyRequests sent (stateless cookie replies).
    pub cookies_sent: u64,
    /// Handshakes completed.
    pub handshakes_completed: u64,
    /// Handshakes or sessions that failed (alerts, verification failures, timeouts).
    pub failures: u64,
    /// Handshakes that timed out (also counted in `failures`).
    pub handshake_timeouts: u64,
    /// Received datagrams dropped: garbage, replayed or undecryptable records, records for
    /// unknown sessions, oversize datagrams, ClientHellos over the handshake limit or while
    /// refusing new connections.
    pub dropped_records: u64,
    /// Outgoing ENet datagrams dropped because their session was still handshaking and
    /// already held [`MAX_HELD_DATAGRAMS`] datagrams or [`MAX_HELD_BYTES`] bytes (ENet
    /// retries them, as with Godot's "busy"), or had failed, or failed with datagrams held.
    pub busy_drops: u64,
    /// Outgoing ENet datagrams held while their session's handshake ran and sent as soon
    /// as it completed (a client's first CONNECT, which Godot drops and ENet then
    /// retransmits about 500 ms later).
    pub held_sent: u64,
    /// Established sessions replaced by a new handshake from the same address (a client
    /// restarted on the same port; RFC 6347 §4.2.8), counted when the new one completes.
    pub sessions_replaced: u64,
    /// Outgoing datagrams refused without touching their session: empty, or over
    /// [`MAX_DATAGRAM_SIZE`](crate::udp::MAX_DATAGRAM_SIZE) bytes (ENet never produces
    /// them; [`UdpHost::socket_send`](crate::udp::UdpHost::socket_send) refuses them with
    /// an error first).
    pub refused_sends: u64,
    /// Application-data records sent.
    pub records_sent: u64,
    /// Application-data records received and handed to ENet.
    pub records_received: u64,
}
