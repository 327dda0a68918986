//! [`DtlsLayer`]: the DTLS sessions of one host, keyed by remote address, and what happens
//! to each datagram crossing the seam between the socket and the ENet engine.
//!
//! The layer does no I/O itself: the caller (`udp::dtls_io`) gives it each received
//! datagram with a `send` callback for the datagrams DTLS wants on the wire and a `deliver`
//! callback for decrypted ENet datagrams, and gives it each ENet datagram to seal. All
//! per-datagram work is one hash-map lookup plus OpenSSL's record processing; the only
//! walks over several sessions are the timer rounds (pending handshakes every 100 ms, idle
//! sessions every second), never per datagram.
//!
//! Submodules: `accept` (the server's cookie exchange and new handshakes), `renew` (a new
//! handshake replacing an established session), `held` (a client's datagrams held during
//! its handshake), `budget` (pending handshakes per source, later-epoch records per
//! handshake), `ending` (failures and closes), `timers` (retransmission, timeouts,
//! sweeping).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use openssl::ssl::{ErrorCode, Ssl, SslContext, SslRef, SslStream};

use super::listen::Listener;
use super::options::{self, TlsOptions, HANDSHAKE_MTU};
use super::stream::DgramIo;
use super::{DtlsError, DtlsLimits, DtlsStats};
use crate::io_policy::MAX_DATAGRAM_SIZE;

mod accept;
mod budget;
mod ending;
mod held;
mod renew;
mod timers;

use budget::{pending_add, pending_sub};
use held::Held;
pub use held::{MAX_HELD_BYTES, MAX_HELD_DATAGRAMS};
use renew::Renewal;

/// Largest datagram accepted from the socket: ENet's largest datagram plus the largest
/// DTLS 1.2 record overhead (header, explicit IV, MAC, CBC padding).
pub(crate) const MAX_RECORD: usize = MAX_DATAGRAM_SIZE + 512;
/// How often pending handshakes are given a chance to retransmit or time out.
const POKE_INTERVAL: Duration = Duration::from_millis(100);
/// How often idle sessions and old failure markers are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Records read from one datagram at most (a peer may pack several).
const MAX_RECORDS_PER_DATAGRAM: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Handshaking,
    Established,
    /// Client only: the handshake with this server failed; sends are dropped (ENet times
    /// the peer out, as in Godot) until the marker expires.
    Failed,
}

struct Session {
    tls: Option<SslStream<DgramIo>>,
    state: State,
    since: Instant,
    last_rx: Instant,
    /// ENet datagrams held while the handshake runs (a client's first CONNECT).
    held: Held,
    /// Server: a new handshake from this established address (see `renew`).
    renewal: Option<Box<Renewal>>,
    /// Records of a later epoch given to this session's handshake (see `budget`).
    future_records: u32,
}

impl Session {
    fn handshaking(tls: SslStream<DgramIo>, now: Instant) -> Session {
        Session {
            tls: Some(tls),
            state: State::Handshaking,
            since: now,
            last_rx: now,
            held: Held::default(),
            renewal: None,
            future_records: 0,
        }
    }

    /// Ends this session's own part; true if a renewal took its place (as a handshaking
    /// session, still counted as a pending handshake), false if it should be forgotten.
    /// Held datagrams are dropped (returned as a count).
    fn end(&mut self) -> (bool, u64) {
        let held = std::mem::take(&mut self.held).len() as u64;
        match self.renewal.take() {
            Some(r) => {
                *self = Session::handshaking(r.tls, r.since);
                self.future_records = r.future_records;
                (true, held)
            }
            None => (false, held),
        }
    }
}

enum Role {
    Server {
        ctx: SslContext,
        listener: Option<Listener>,
    },
    Client {
        ctx: SslContext,
        /// The name the server's certificate must carry.
        verify_name: String,
        verify: bool,
    },
}

/// The DTLS state of one host.
pub(crate) struct DtlsLayer {
    role: Role,
    sessions: HashMap<SocketAddr, Session>,
    limits: DtlsLimits,
    stats: DtlsStats,
    /// Addresses that were handshaking at the last poke (may hold finished ones).
    pending_list: Vec<SocketAddr>,
    /// Pending handshakes per source (see [`source_of`]); no entry for zero.
    pending_by_source: HashMap<IpAddr, usize>,
    last_error: Option<DtlsError>,
    refuse: bool,
    /// Decrypted datagram buffer (a DTLS record carries up to 16 KiB).
    plain: Vec<u8>,
    next_poke: Instant,
    next_sweep: Instant,
}

/// Empties this thread's OpenSSL error queue: `SSL_get_error` misreads the outcome of an
/// operation if errors of an earlier one (say, a garbage record of another session) are
/// still queued. Allocates nothing when the queue is empty.
fn clear_errors() {
    drop(openssl::error::ErrorStack::get());
}

/// The error a failed client handshake or session gets, most specific first.
fn classify(e: &openssl::ssl::Error, ssl: &SslRef, name: &str) -> DtlsError {
    let v = ssl.verify_result();
    let raw = v.as_raw();
    // X509_V_ERR_CERT_NOT_YET_VALID (9), X509_V_ERR_CERT_HAS_EXPIRED (10),
    // X509_V_ERR_HOSTNAME_MISMATCH (62), X509_V_ERR_IP_ADDRESS_MISMATCH (64).
    match raw {
        0 => DtlsError::HandshakeFailed(e.to_string()),
        9 | 10 => DtlsError::CertificateExpired(v.error_string().to_owned()),
        62 | 64 => DtlsError::HostnameMismatch(name.to_owned()),
        _ => DtlsError::UntrustedCertificate(v.error_string().to_owned()),
    }
}

impl DtlsLayer {
    fn new(role: Role, limits: DtlsLimits) -> DtlsLayer {
        let now = Instant::now();
        DtlsLayer {
            role,
            sessions: HashMap::new(),
            limits,
            stats: DtlsStats::default(),
            pending_list: Vec::new(),
            pending_by_source: HashMap::new(),
            last_error: None,
            refuse: false,
            plain: vec![0; 16 * 1024 + 2048],
            next_poke: now,
            next_sweep: now + SWEEP_INTERVAL,
        }
    }

    /// A server layer presenting the certificate of `options` (server options).
    pub(crate) fn server(options: &TlsOptions) -> Result<DtlsLayer, DtlsError> {
        let ctx = options::server_context(options)?;
        let listener = Some(Listener::new(&ctx)?);
        Ok(DtlsLayer::new(
            Role::Server { ctx, listener },
            options.limits,
        ))
    }

    /// A client layer verifying servers against `options` (client options) and `hostname`
    /// (or the options' override), which must be a valid name
    /// ([`DtlsError::InvalidHostname`] otherwise).
    pub(crate) fn client(options: &TlsOptions, hostname: &str) -> Result<DtlsLayer, DtlsError> {
        let verify_name = options::verify_name(options, hostname);
        options::check_verify_name(verify_name)?;
        let ctx = options::client_context(options)?;
        let role = Role::Client {
            ctx,
            verify_name: verify_name.to_owned(),
            verify: !options.is_unsafe(),
        };
        Ok(DtlsLayer::new(role, options.limits))
    }

    /// Whether this is a server layer.
    pub(crate) fn is_server(&self) -> bool {
        matches!(self.role, Role::Server { .. })
    }

    /// Stops (or resumes) accepting new handshakes (Godot's `refuse_new_connections`).
    pub(crate) fn set_refuse(&mut self, refuse: bool) {
        self.refuse = refuse;
    }

    /// The counters, with the current session figures.
    pub(crate) fn stats(&self) -> DtlsStats {
        let mut s = self.stats;
        s.tracked_addresses = self.sessions.len();
        s
    }

    /// The last handshake or session error.
    pub(crate) fn last_error(&self) -> Option<&DtlsError> {
        self.last_error.as_ref()
    }

    /// When [`Self::poll`] next has work (handshake retransmission or timeout, sweeping).
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        if self.stats.pending_handshakes > 0 {
            Some(self.next_poke.min(self.next_sweep))
        } else if self.sessions.is_empty() {
            None
        } else {
            Some(self.next_sweep)
        }
    }

    /// `addr`'s handshake completed: the session is established and the datagrams held
    /// meanwhile are sealed and sent, in order.
    fn established(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        let Some(s) = self.sessions.get_mut(&addr) else {
            return;
        };
        s.state = State::Established;
        s.last_rx = now;
        let held = std::mem::take(&mut s.held);
        pending_sub(&mut self.stats, &mut self.pending_by_source, addr);
        self.stats.sessions += 1;
        self.stats.handshakes_completed += 1;
        tracing::debug!(%addr, held = held.len(), "DTLS handshake complete");
        for d in held.iter() {
            self.stats.held_sent += 1;
            self.seal(now, addr, d, send);
        }
    }

    /// One datagram from the socket: DTLS records for `from`'s session, or a ClientHello
    /// for the stateless listener. Decrypted ENet datagrams go to `deliver`, datagrams
    /// DTLS answers with to `send`.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
        send: &mut impl FnMut(SocketAddr, &[u8]),
        deliver: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        // An empty datagram would read as end-of-file to OpenSSL.
        if data.is_empty() || data.len() > MAX_RECORD {
            self.stats.dropped_records += 1;
            return;
        }
        let server = self.is_server();
        let Some(s) = self.sessions.get_mut(&from) else {
            if server {
                self.listen(now, from, data, send);
            } else {
                self.stats.dropped_records += 1;
            }
            return;
        };
        match s.state {
            State::Failed => self.stats.dropped_records += 1,
            State::Handshaking => {
                let Some(tls) = s.tls.as_mut() else { return };
                if !budget::take_future_records(&mut s.future_records, data) {
                    self.stats.dropped_records += 1;
                    return;
                }
                tls.get_mut().put(data);
                clear_errors();
                let r = tls.do_handshake();
                tls.get_mut().discard();
                tls.get_mut().drain(|d| send(from, d));
                match r {
                    Ok(()) => {
                        self.established(now, from, send);
                        // Records that arrived ahead of the handshake's end may be buffered.
                        self.read_records(now, from, false, send, deliver);
                    }
                    Err(e) if e.code() == ErrorCode::WANT_READ => {}
                    Err(e) => {
                        let err = self.error_for(&e, from);
                        self.fail(now, from, err);
                    }
                }
            }
            State::Established => {
                if s.renewal.is_some() && renew::is_handshake_traffic(data) {
                    if self.renewal_receive(now, from, data, send) {
                        self.read_records(now, from, false, send, deliver);
                    }
                    return;
                }
                if server && renew::is_client_hello(data) {
                    // A client restarted on the same port (or a spoofed or replayed
                    // ClientHello): the stateless cookie exchange; a valid cookie starts a
                    // renewal that replaces the session only once it completes.
                    self.listen(now, from, data, send);
                    return;
                }
                if let Some(tls) = s.tls.as_mut() {
                    tls.get_mut().put(data);
                }
                self.read_records(now, from, true, send, deliver);
            }
        }
    }

    /// Reads the records waiting in `from`'s established session; returns how many ENet
    /// datagrams were delivered. `count_empty`: count a datagram that yields nothing as
    /// dropped.
    fn read_records(
        &mut self,
        now: Instant,
        from: SocketAddr,
        count_empty: bool,
        send: &mut impl FnMut(SocketAddr, &[u8]),
        deliver: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> usize {
        let Some(s) = self.sessions.get_mut(&from) else {
            return 0;
        };
        let Some(tls) = s.tls.as_mut() else { return 0 };
        let mut got = 0;
        let mut outcome = Ok(());
        for _ in 0..MAX_RECORDS_PER_DATAGRAM {
            clear_errors();
            match tls.ssl_read(&mut self.plain) {
                Ok(n) if n <= MAX_DATAGRAM_SIZE => {
                    got += 1;
                    self.stats.records_received += 1;
                    deliver(from, &self.plain[..n]);
                }
                Ok(_) => self.stats.dropped_records += 1,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        tls.get_mut().discard();
        tls.get_mut().drain(|d| send(from, d));
        if got > 0 {
            s.last_rx = now;
        } else if count_empty {
            self.stats.dropped_records += 1;
        }
        match outcome {
            Err(e) if e.code() == ErrorCode::WANT_READ => {}
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                tracing::debug!(%from, "DTLS session closed by the peer");
                self.close(from);
            }
            Err(e) => {
                let err = DtlsError::SessionFailed(e.to_string());
                self.fail_session(now, from, err, send);
            }
            Ok(()) => {}
        }
        got
    }

    fn error_for(&self, e: &openssl::ssl::Error, addr: SocketAddr) -> DtlsError {
        let ssl = self.sessions.get(&addr).and_then(|s| s.tls.as_ref());
        match (&self.role, ssl) {
            (
                Role::Client {
                    verify_name,
                    verify: true,
                    ..
                },
                Some(tls),
            ) => classify(e, tls.ssl(), verify_name),
            _ => DtlsError::HandshakeFailed(e.to_string()),
        }
    }

    /// One ENet datagram to `to`: sealed as one application-data record if the session is
    /// established; on a client, the first datagram to a server starts the handshake.
    /// While a handshake runs, the first datagrams are held (`held`, bounded) and sent when it
    /// completes; others that cannot go yet are dropped ("busy"; ENet retries).
    pub(crate) fn seal(
        &mut self,
        now: Instant,
        to: SocketAddr,
        plain: &[u8],
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        // A caller's mistake, not a session failure: OpenSSL would refuse a record over
        // 16 KiB (and the peer drops datagrams over ENet's largest), and writes nothing for
        // an empty one.
        if plain.is_empty() || plain.len() > MAX_DATAGRAM_SIZE {
            self.stats.refused_sends += 1;
            return;
        }
        match self.sessions.get_mut(&to) {
            Some(Session {
                tls: Some(tls),
                state: State::Established,
                ..
            }) => {
                clear_errors();
                match tls.ssl_write(plain) {
                    Ok(_) => {
                        self.stats.records_sent += 1;
                        tls.get_mut().drain(|d| send(to, d));
                    }
                    Err(e) => {
                        tls.get_mut().clear_out();
                        let err = DtlsError::SessionFailed(e.to_string());
                        self.fail_session(now, to, err, send);
                    }
                }
            }
            Some(Session {
                state: State::Handshaking,
                held,
                ..
            }) => {
                if !held.push(plain) {
                    self.stats.busy_drops += 1;
                }
            }
            Some(_) => self.stats.busy_drops += 1,
            None => {
                if !self.is_server() && self.stats.pending_handshakes < self.limits.max_handshakes {
                    match self.start_client(now, to, send) {
                        Ok(()) => {
                            let held = self
                                .sessions
                                .get_mut(&to)
                                .is_some_and(|s| s.held.push(plain));
                            if !held {
                                self.stats.busy_drops += 1;
                            }
                        }
                        Err(e) => {
                            self.stats.busy_drops += 1;
                            self.fail(now, to, e);
                        }
                    }
                } else {
                    self.stats.busy_drops += 1;
                }
            }
        }
    }

    /// Sends a close_notify alert on every established session (the host is going away,
    /// as Godot does when its DTLS socket closes), so that peers drop their sessions at once.
    pub(crate) fn close_all(&mut self, send: &mut impl FnMut(SocketAddr, &[u8])) {
        for (addr, s) in self.sessions.iter_mut() {
            if let (State::Established, Some(tls)) = (s.state, s.tls.as_mut()) {
                clear_errors();
                let _ = tls.shutdown();
                tls.get_mut().drain(|d| send(*addr, d));
            }
        }
        clear_errors();
    }

    /// Like [`Self::seal`], but only to an established session: never starts a handshake.
    pub(crate) fn seal_established(
        &mut self,
        now: Instant,
        to: SocketAddr,
        plain: &[u8],
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        if self
            .sessions
            .get(&to)
            .is_some_and(|s| s.state == State::Established)
        {
            self.seal(now, to, plain, send);
        } else {
            self.stats.busy_drops += 1;
        }
    }

    /// Starts a client handshake with `to` (sends the ClientHello).
    fn start_client(
        &mut self,
        now: Instant,
        to: SocketAddr,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> Result<(), DtlsError> {
        let Role::Client {
            ctx,
            verify_name,
            verify,
        } = &self.role
        else {
            return Ok(());
        };
        let err = |e: openssl::error::ErrorStack| DtlsError::Setup(e.to_string());
        let mut ssl = Ssl::new(ctx).map_err(err)?;
        ssl.set_connect_state();
        ssl.set_mtu(HANDSHAKE_MTU).map_err(err)?;
        match verify_name.parse::<IpAddr>() {
            Ok(ip) => {
                if *verify {
                    ssl.param_mut().set_ip(ip).map_err(err)?;
                }
            }
            Err(_) => {
                ssl.set_hostname(verify_name).map_err(err)?;
                if *verify {
                    ssl.param_mut().set_host(verify_name).map_err(err)?;
                }
            }
        }
        let mut tls = SslStream::new(ssl, DgramIo::default()).map_err(err)?;
        clear_errors();
        let r = tls.do_handshake();
        tls.get_mut().drain(|d| send(to, d));
        match r {
            Err(e) if e.code() == ErrorCode::WANT_READ => {}
            Ok(()) => {
                return Err(DtlsError::HandshakeFailed(
                    "completed without a reply".into(),
                ))
            }
            Err(e) => return Err(DtlsError::HandshakeFailed(e.to_string())),
        }
        self.sessions.insert(to, Session::handshaking(tls, now));
        pending_add(&mut self.stats, &mut self.pending_by_source, to);
        self.pending_list.push(to);
        Ok(())
    }
}
