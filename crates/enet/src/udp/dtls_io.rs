//! The DTLS seam of [`UdpHost`] (feature `dtls`): once `dtls_server_setup` or
//! `dtls_client_setup` has run, every datagram read from the socket goes through the
//! host's [`DtlsLayer`](crate::dtls::DtlsLayer) before the engine sees it, and every
//! datagram the engine produces is sealed by it as one DTLS record before it is written.
//!
//! On Linux a DTLS host reads and writes its ciphertext datagrams in batches
//! (`recvmmsg`/`sendmmsg`, up to [`crate::sys::BATCH`] per call, with batch buffers of its
//! own, sized for the largest DTLS record); elsewhere (and with the `portable-io` feature)
//! one datagram per system call (`recv_from`/`send_to`). The link conditioner and the
//! send-error hook apply to plain hosts only.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::addr::{normalize_addr, socket_dest};
use super::{IoStats, UdpHost};
use crate::dtls::{DtlsError, DtlsLayer, DtlsStats, TlsOptions};
use crate::io_policy::{classify_send_error, SendFailure, MAX_DATAGRAM_SIZE};
#[cfg(not(batched_io))]
use {super::MAX_DATAGRAMS_PER_WAKE, crate::io_policy::is_ignorable_recv_error};

#[cfg(batched_io)]
mod batched;

/// The DTLS state of a [`UdpHost`] and its datagram buffers.
pub(crate) struct DtlsIo {
    layer: DtlsLayer,
    /// Socket receive buffer (large enough to see any UDP datagram whole).
    #[cfg(not(batched_io))]
    rx: Vec<u8>,
    /// Batch buffers for `recvmmsg`/`sendmmsg`.
    #[cfg(batched_io)]
    batch: batched::DtlsBatch,
    /// The engine's outgoing datagram.
    tx: Vec<u8>,
    /// A handle of the host's socket, for the close_notify alerts sent on drop.
    socket: Option<std::net::UdpSocket>,
    v6_socket: bool,
}

impl Drop for DtlsIo {
    /// The host is going away: each established session gets a close_notify, so that its
    /// peer drops it at once instead of after its idle timeout.
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            let v6 = self.v6_socket;
            self.layer.close_all(&mut |to, bytes| {
                let _ = socket.send_to(bytes, socket_dest(to, v6));
            });
        }
    }
}

/// Writes one datagram to the socket with the driver's error policy: "would block" and
/// destination errors drop it and are counted; a socket error is kept in `fatal`.
pub(super) fn send_one(
    socket: &std::net::UdpSocket,
    stats: &mut IoStats,
    fatal: &mut Option<io::Error>,
    v6_socket: bool,
    to: SocketAddr,
    bytes: &[u8],
) {
    let dest = socket_dest(to, v6_socket);
    loop {
        match socket.send_to(bytes, dest) {
            Ok(_) => {
                stats.datagrams_sent += 1;
                return;
            }
            Err(e) => match classify_send_error(&e) {
                SendFailure::Retry => continue,
                SendFailure::WouldBlock => {
                    stats.send_would_block += 1;
                    return;
                }
                SendFailure::Destination => {
                    stats.send_errors += 1;
                    return;
                }
                SendFailure::Socket => {
                    fatal.get_or_insert(e);
                    return;
                }
            },
        }
    }
}

impl UdpHost {
    /// Turns this host into a DTLS server (Godot's `dtls_server_setup`): from now on only
    /// clients completing a DTLS 1.2 handshake with the certificate of `options` (server
    /// options, [`TlsOptions::server`]) reach ENet, and every datagram is encrypted.
    ///
    /// Call it right after binding, before peers connect. Fails with
    /// [`DtlsError::WrongOptions`] for client options and [`DtlsError::AlreadyUpgraded`]
    /// if DTLS is already set up.
    pub fn dtls_server_setup(&mut self, options: TlsOptions) -> Result<(), DtlsError> {
        if self.dtls.is_some() {
            return Err(DtlsError::AlreadyUpgraded);
        }
        if !options.is_server() {
            return Err(DtlsError::WrongOptions("client options given to a server"));
        }
        self.install_dtls(DtlsLayer::server(&options)?);
        Ok(())
    }

    /// Turns this host into a DTLS client (Godot's `dtls_client_setup`): the first datagram
    /// to a server starts a DTLS 1.2 handshake verifying its certificate against `options`
    /// ([`TlsOptions::client`] or [`TlsOptions::client_unsafe`]) and `hostname` (unless
    /// the options override the name); until it completes, ENet's first datagrams (its
    /// CONNECTs; up to [`crate::dtls::MAX_HELD_DATAGRAMS`]) are held and sent as soon as it does, and further ones are dropped and
    /// ENet retries them.
    ///
    /// Call it before the first [`UdpHost::flush`] or [`UdpHost::service`] after
    /// [`UdpHost::connect`]. Fails with [`DtlsError::WrongOptions`] for server options and
    /// [`DtlsError::AlreadyUpgraded`] if DTLS is already set up.
    pub fn dtls_client_setup(
        &mut self,
        hostname: &str,
        options: TlsOptions,
    ) -> Result<(), DtlsError> {
        if self.dtls.is_some() {
            return Err(DtlsError::AlreadyUpgraded);
        }
        if options.is_server() {
            return Err(DtlsError::WrongOptions("server options given to a client"));
        }
        self.install_dtls(DtlsLayer::client(&options, hostname)?);
        Ok(())
    }

    fn install_dtls(&mut self, layer: DtlsLayer) {
        // Each ciphertext record must stay a datagram of its own: no GRO on this socket
        // (a plain host turns it on with its first I/O), and the plain batches go.
        #[cfg(batched_io)]
        {
            if self.batch.take().is_some() {
                let _ = crate::sys::set_gro(&self.socket, false);
            }
        }
        self.dtls = Some(Box::new(DtlsIo {
            layer,
            #[cfg(not(batched_io))]
            rx: vec![0; 65536],
            #[cfg(batched_io)]
            batch: batched::DtlsBatch::new(),
            tx: Vec::with_capacity(MAX_DATAGRAM_SIZE),
            // Without a handle (out of descriptors) no close_notify is sent on drop: peers
            // then drop the session when it idles out.
            socket: self.socket.try_clone().ok(),
            v6_socket: self.local_addr.is_ipv6(),
        }));
    }

    /// Whether DTLS is set up on this host.
    pub fn is_dtls(&self) -> bool {
        self.dtls.is_some()
    }

    /// The DTLS layer's counters, or `None` without DTLS.
    pub fn dtls_stats(&self) -> Option<DtlsStats> {
        self.dtls.as_ref().map(|d| d.layer.stats())
    }

    /// The last DTLS handshake or session error (e.g. why a client refused the server's
    /// certificate), or `None`.
    pub fn dtls_last_error(&self) -> Option<&DtlsError> {
        self.dtls.as_ref().and_then(|d| d.layer.last_error())
    }

    /// On a DTLS server, stops (or resumes) answering new handshakes; established sessions
    /// are kept (Godot's `refuse_new_connections` on a DTLS host). No effect otherwise.
    pub fn set_dtls_refuse_new_connections(&mut self, refuse: bool) {
        if let Some(d) = self.dtls.as_mut() {
            d.layer.set_refuse(refuse);
        }
    }

    /// When the DTLS layer next needs a turn (see `service`).
    pub(super) fn dtls_next_timeout(&self) -> Option<Instant> {
        self.dtls.as_ref().and_then(|d| d.layer.next_timeout())
    }

    /// [`UdpHost::flush`] through DTLS: timers, then each engine datagram sealed and sent.
    #[cfg(not(batched_io))]
    pub(super) fn flush_dtls(&mut self) -> io::Result<()> {
        let Some(d) = self.dtls.as_deref_mut() else {
            return Ok(());
        };
        let v6 = self.local_addr.is_ipv6();
        let (socket, stats) = (&self.socket, &mut self.stats);
        let mut fatal = None;
        let mut send =
            |to: SocketAddr, bytes: &[u8]| send_one(socket, stats, &mut fatal, v6, to, bytes);
        let now = Instant::now();
        d.layer.poll(now, &mut send);
        while let Some(to) = self.host.poll_transmit(now, &mut d.tx) {
            d.layer.seal(now, to, &d.tx, &mut send);
        }
        fatal.map_or(Ok(()), Err)
    }

    /// [`UdpHost::socket_send`] on a DTLS host: `bytes` sealed as one record to an
    /// established session; dropped for other addresses (and never starts a handshake).
    /// Empty `bytes` or more than [`MAX_DATAGRAM_SIZE`] give [`io::ErrorKind::InvalidInput`]
    /// (the peer would drop them) and leave the session alone.
    pub(super) fn socket_send_dtls(&mut self, to: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let Some(d) = self.dtls.as_deref_mut() else {
            return Ok(());
        };
        if bytes.is_empty() || bytes.len() > MAX_DATAGRAM_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a DTLS datagram carries 1..={MAX_DATAGRAM_SIZE} bytes, got {}",
                    bytes.len()
                ),
            ));
        }
        let to = normalize_addr(to);
        let v6 = self.local_addr.is_ipv6();
        let (socket, stats) = (&self.socket, &mut self.stats);
        let mut fatal = None;
        let mut send =
            |to: SocketAddr, bytes: &[u8]| send_one(socket, stats, &mut fatal, v6, to, bytes);
        d.layer
            .seal_established(Instant::now(), to, bytes, &mut send);
        fatal.map_or(Ok(()), Err)
    }

    /// Reads datagrams through DTLS until the socket would block or
    /// [`MAX_DATAGRAMS_PER_WAKE`] were read.
    #[cfg(not(batched_io))]
    pub(super) fn receive_dtls(&mut self) -> io::Result<()> {
        let Some(d) = self.dtls.as_deref_mut() else {
            return Ok(());
        };
        let v6 = self.local_addr.is_ipv6();
        let mut fatal = None;
        let mut n = 0;
        while n < MAX_DATAGRAMS_PER_WAKE {
            self.stats.receive_calls += 1;
            match self.socket.recv_from(&mut d.rx) {
                Ok((len, from)) => {
                    n += 1;
                    self.stats.datagrams_received += 1;
                    let from = normalize_addr(from);
                    let now = Instant::now();
                    let (socket, stats, host) = (&self.socket, &mut self.stats, &mut self.host);
                    let mut send = |to: SocketAddr, bytes: &[u8]| {
                        send_one(socket, stats, &mut fatal, v6, to, bytes)
                    };
                    let mut deliver =
                        |from: SocketAddr, plain: &[u8]| host.handle_datagram(now, from, plain);
                    d.layer
                        .receive(now, from, &d.rx[..len], &mut send, &mut deliver);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => n += 1,
                Err(e) if crate::io_policy::is_recv_truncation(&e) => {
                    n += 1;
                    self.stats.datagrams_received += 1;
                    self.stats.oversize_dropped += 1;
                }
                Err(e) if is_ignorable_recv_error(e.kind()) => {
                    n += 1;
                    self.stats.ignored_errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        fatal.map_or(Ok(()), Err)
    }
}
