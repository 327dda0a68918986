//! Session renewal (RFC 6347 §4.2.8): a ClientHello with a valid cookie from the address of
//! an established session (a client that crashed and restarted on the same port) starts a
//! new handshake beside the session; the session is replaced only once that handshake
//! completes, and left alone if it fails or times out.
//!
//! The cookie proves the address, and completing the handshake proves the peer holds
//! fresh keys, so an off-path attacker (spoofed ClientHellos) cannot end a session: it only
//! earns stateless HelloVerifyRequests. Even a replay of a genuine ClientHello with its
//! cookie only starts a renewal that cannot complete and times out. A renewal counts as a
//! pending handshake (and against [`DtlsLimits::max_handshakes`](crate::dtls::DtlsLimits)),
//! at most one per address; a failed one is dropped silently (no alert, which would reach
//! the established peer).
//!
//! While a renewal runs, the address's handshake and change_cipher_spec records, and any
//! record of epoch 0, go to it; application data and alerts of later epochs go to the
//! established session.

use std::net::SocketAddr;
use std::time::Instant;

use openssl::ssl::{ErrorCode, SslStream};

use super::{clear_errors, pending_sub, DtlsLayer};
use crate::dtls::stream::DgramIo;
use crate::dtls::DtlsError;

/// A new handshake from the address of an established session.
pub(super) struct Renewal {
    pub(super) tls: SslStream<DgramIo>,
    pub(super) since: Instant,
    /// Records of a later epoch given to this handshake (see `budget`).
    pub(super) future_records: u32,
}

/// Whether `data` starts with a DTLS ClientHello record of epoch 0.
pub(super) fn is_client_hello(data: &[u8]) -> bool {
    data.len() > 13 && data[0] == 22 && data[3] == 0 && data[4] == 0 && data[13] == 1
}

/// Whether `data` belongs to a renewal rather than to the established session: handshake
/// (22) and change_cipher_spec (20) records, and records of epoch 0.
pub(super) fn is_handshake_traffic(data: &[u8]) -> bool {
    matches!(data.first(), Some(20 | 22)) || (data.len() >= 13 && data[3] == 0 && data[4] == 0)
}

/// Where a renewal stands after a step.
#[derive(PartialEq, Eq)]
pub(super) enum Step {
    Pending,
    Replaced,
    Ended,
}

impl DtlsLayer {
    /// One datagram for `from`'s renewal; true if it completed and replaced the session.
    pub(super) fn renewal_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> bool {
        let Some(r) = self
            .sessions
            .get_mut(&from)
            .and_then(|s| s.renewal.as_mut())
        else {
            return false;
        };
        if !super::budget::take_future_records(&mut r.future_records, data) {
            self.stats.dropped_records += 1;
            return false;
        }
        r.tls.get_mut().put(data);
        clear_errors();
        let res = r.tls.do_handshake();
        r.tls.get_mut().discard();
        self.renewal_step(now, from, res, send) == Step::Replaced
    }

    /// A renewal's timer turn (retransmission or timeout); false once it is over.
    pub(super) fn renewal_poke(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> bool {
        let timeout = self.limits.handshake_timeout;
        let Some(r) = self
            .sessions
            .get_mut(&addr)
            .and_then(|s| s.renewal.as_mut())
        else {
            return false;
        };
        if now.duration_since(r.since) > timeout {
            self.fail_renewal(addr, DtlsError::HandshakeTimeout);
            return false;
        }
        clear_errors();
        let res = r.tls.do_handshake();
        self.renewal_step(now, addr, res, send) == Step::Pending
    }

    /// The outcome of one handshake step of `addr`'s renewal.
    fn renewal_step(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        res: Result<(), openssl::ssl::Error>,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> Step {
        let Some(s) = self.sessions.get_mut(&addr) else {
            return Step::Ended;
        };
        let Some(r) = s.renewal.as_mut() else {
            return Step::Ended;
        };
        match res {
            Err(e) if e.code() == ErrorCode::WANT_READ => {
                r.tls.get_mut().drain(|d| send(addr, d));
                Step::Pending
            }
            Ok(()) => {
                r.tls.get_mut().drain(|d| send(addr, d));
                if let Some(r) = s.renewal.take() {
                    // The old session is dropped without a close_notify: its peer is gone.
                    s.tls = Some(r.tls);
                }
                s.since = now;
                s.last_rx = now;
                pending_sub(&mut self.stats, &mut self.pending_by_source, addr);
                self.stats.handshakes_completed += 1;
                self.stats.sessions_replaced += 1;
                tracing::debug!(%addr, "DTLS session replaced by a new handshake");
                Step::Replaced
            }
            Err(e) => {
                r.tls.get_mut().clear_out();
                self.fail_renewal(addr, DtlsError::HandshakeFailed(e.to_string()));
                Step::Ended
            }
        }
    }

    /// Abandons `addr`'s renewal; the established session stays.
    pub(super) fn fail_renewal(&mut self, addr: SocketAddr, err: DtlsError) {
        let Some(s) = self.sessions.get_mut(&addr) else {
            return;
        };
        if s.renewal.take().is_none() {
            return;
        }
        tracing::debug!(%addr, error = %err, "DTLS renewal handshake failed");
        pending_sub(&mut self.stats, &mut self.pending_by_source, addr);
        self.stats.failures += 1;
        if err == DtlsError::HandshakeTimeout {
            self.stats.handshake_timeouts += 1;
        }
        self.last_error = Some(err);
    }
}
