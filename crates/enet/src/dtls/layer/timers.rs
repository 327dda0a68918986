//! The layer's timers: pending handshakes (renewals included) get a turn every 100 ms
//! (OpenSSL's DTLS timer decides whether to retransmit) and time out; idle sessions and old client failure markers
//! are swept every second. These are the only walks over several sessions, never per
//! datagram.

use std::net::SocketAddr;
use std::time::Instant;

use openssl::ssl::ErrorCode;

use super::{clear_errors, DtlsLayer, State, POKE_INTERVAL, SWEEP_INTERVAL};
use crate::dtls::DtlsError;

impl DtlsLayer {
    /// Timers: pending handshakes retransmit (OpenSSL's own DTLS timer decides) or time
    /// out; idle sessions and old client failure markers are dropped.
    pub(crate) fn poll(&mut self, now: Instant, send: &mut impl FnMut(SocketAddr, &[u8])) {
        if now >= self.next_poke {
            self.next_poke = now + POKE_INTERVAL;
            let mut list = std::mem::take(&mut self.pending_list);
            list.retain(|a| {
                self.sessions
                    .get(a)
                    .is_some_and(|s| s.state == State::Handshaking || s.renewal.is_some())
            });
            let mut i = 0;
            while i < list.len() {
                let addr = list[i];
                if self.poke(now, addr, send) {
                    i += 1;
                } else {
                    list.swap_remove(i);
                }
            }
            self.pending_list = list;
        }
        if now >= self.next_sweep {
            self.next_sweep = now + SWEEP_INTERVAL;
            let idle = self.limits.session_idle_timeout;
            let marker = self.limits.handshake_timeout;
            let before = self.sessions.len();
            let mut closed = 0;
            self.sessions.retain(|_, s| match s.state {
                State::Established if now.duration_since(s.last_rx) > idle => {
                    closed += 1;
                    // A renewal under way carries on as a handshake of its own.
                    s.end().0
                }
                State::Failed => now.duration_since(s.since) <= marker,
                _ => true,
            });
            self.stats.sessions -= closed;
            if before != self.sessions.len() {
                tracing::debug!(
                    removed = before - self.sessions.len(),
                    "DTLS sessions swept"
                );
            }
        }
    }

    /// One pending handshake's timer turn; false once it is no longer pending.
    fn poke(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> bool {
        let timeout = self.limits.handshake_timeout;
        let Some(s) = self.sessions.get_mut(&addr) else {
            return false;
        };
        if s.state == State::Established {
            return self.renewal_poke(now, addr, send);
        }
        if now.duration_since(s.since) > timeout {
            self.fail(now, addr, DtlsError::HandshakeTimeout);
            return false;
        }
        let Some(tls) = s.tls.as_mut() else {
            return false;
        };
        clear_errors();
        let r = tls.do_handshake();
        tls.get_mut().drain(|d| send(addr, d));
        match r {
            Err(e) if e.code() == ErrorCode::WANT_READ => true,
            Ok(()) => {
                self.established(now, addr, send);
                false
            }
            Err(e) => {
                let err = self.error_for(&e, addr);
                self.fail(now, addr, err);
                false
            }
        }
    }
}
