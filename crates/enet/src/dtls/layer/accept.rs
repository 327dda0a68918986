//! The server's side of a datagram from an address without an established session, or a
//! ClientHello from one with a session: OpenSSL's stateless cookie exchange (`listen`
//! module) and, for a valid cookie within the limits, a new handshake (or a renewal of the
//! address's session, `renew`).

use std::net::SocketAddr;
use std::time::Instant;

use openssl::ssl::ErrorCode;

use super::budget::{pending_add, source_of};
use super::renew::Renewal;
use super::{clear_errors, DtlsLayer, Role, Session};
use crate::dtls::listen::{Listened, Listener};
use crate::dtls::DtlsError;

impl DtlsLayer {
    /// A datagram from an address without a session, on a server: the stateless cookie
    /// exchange; a valid cookie starts a handshake (within the limits).
    pub(super) fn listen(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        let Role::Server { ctx, listener } = &mut self.role else {
            return;
        };
        // Only handshake records are worth OpenSSL's time.
        if self.refuse || data.len() < 13 || data[0] != 22 {
            self.stats.dropped_records += 1;
            return;
        }
        if listener.is_none() {
            match Listener::new(ctx) {
                Ok(l) => *listener = Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "DTLS listener could not be created");
                    self.stats.dropped_records += 1;
                    return;
                }
            }
        }
        let Some(l) = listener.as_mut() else { return };
        match l.listen(from, data) {
            Listened::NotYet => {
                if l.tls.get_mut().drain(|d| send(from, d)) > 0 {
                    self.stats.cookies_sent += 1;
                } else {
                    self.stats.dropped_records += 1;
                }
            }
            Listened::Accepted => {
                // An established address renews its session; others need a free slot.
                let renewing = self.sessions.contains_key(&from);
                let from_source = self
                    .pending_by_source
                    .get(&source_of(from))
                    .copied()
                    .unwrap_or(0);
                if self.stats.pending_handshakes >= self.limits.max_handshakes
                    || from_source >= self.limits.max_handshakes_per_source
                    || (!renewing && self.sessions.len() >= self.limits.max_sessions)
                {
                    l.tls.get_mut().clear_out();
                    self.stats.dropped_records += 1;
                    return;
                }
                let Some(Listener { mut tls, .. }) = listener.take() else {
                    return;
                };
                clear_errors();
                let r = tls.do_handshake();
                tls.get_mut().drain(|d| send(from, d));
                match r {
                    Err(e) if e.code() == ErrorCode::WANT_READ => {
                        match self.sessions.get_mut(&from) {
                            Some(s) => {
                                s.renewal = Some(Box::new(Renewal {
                                    tls,
                                    since: now,
                                    future_records: 0,
                                }));
                            }
                            None => {
                                self.sessions.insert(from, Session::handshaking(tls, now));
                            }
                        }
                        pending_add(&mut self.stats, &mut self.pending_by_source, from);
                        self.pending_list.push(from);
                    }
                    Ok(()) | Err(_) => {
                        self.stats.failures += 1;
                        drop(openssl::error::ErrorStack::get());
                        self.last_error = Some(DtlsError::HandshakeFailed(
                            r.err()
                                .map_or_else(|| "unexpected".into(), |e| e.to_string()),
                        ));
                    }
                }
            }
        }
    }
}
