//! How a session ends: a failure (a client keeps a marker, a server forgets the address;
//! an established session's peer is told with OpenSSL's alert or a close_notify) or the
//! peer's close_notify. A renewal under way carries on in the session's place.

use std::net::SocketAddr;
use std::time::Instant;

use super::budget::pending_sub;
use super::{clear_errors, DtlsLayer, Session, State};
use crate::dtls::DtlsError;

impl DtlsLayer {
    /// Drops the state of `addr` after a failure (a client keeps a marker so as not to
    /// start over at once; a server forgets the address).
    pub(super) fn fail(&mut self, now: Instant, addr: SocketAddr, err: DtlsError) {
        tracing::debug!(%addr, error = %err, "DTLS session failed");
        self.stats.failures += 1;
        if err == DtlsError::HandshakeTimeout {
            self.stats.handshake_timeouts += 1;
        }
        self.last_error = Some(err);
        let server = self.is_server();
        if let Some(s) = self.sessions.get_mut(&addr) {
            match s.state {
                State::Handshaking => {
                    pending_sub(&mut self.stats, &mut self.pending_by_source, addr)
                }
                State::Established => self.stats.sessions -= 1,
                State::Failed => {}
            }
            let (renewed, held) = s.end();
            self.stats.busy_drops += held;
            if renewed {
                // A new handshake from this address carries on alone.
            } else if server {
                self.sessions.remove(&addr);
            } else {
                s.tls = None;
                s.state = State::Failed;
                s.since = now;
            }
        }
    }

    /// An established session of `addr` failed: its peer is told (OpenSSL's own fatal
    /// alert if it queued one, else a close_notify) so that it drops the session at once
    /// instead of after its idle timeout, then the session is dropped as by [`Self::fail`].
    pub(super) fn fail_session(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        err: DtlsError,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        if let Some(Session {
            tls: Some(tls),
            state: State::Established,
            ..
        }) = self.sessions.get_mut(&addr)
        {
            // After a fatal error OpenSSL has queued its alert (already drained by the
            // caller) and refuses to shut down; otherwise this writes a close_notify.
            clear_errors();
            let _ = tls.shutdown();
            tls.get_mut().drain(|d| send(addr, d));
            clear_errors();
        }
        self.fail(now, addr, err);
    }

    /// Test seam: `addr`'s session fails as when OpenSSL refuses one of its records.
    #[cfg(test)]
    pub(crate) fn fail_session_for_test(
        &mut self,
        addr: SocketAddr,
        send: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        let err = DtlsError::SessionFailed("test".into());
        self.fail_session(Instant::now(), addr, err, send);
    }

    /// Forgets `addr` without counting a failure (the peer closed the session).
    pub(super) fn close(&mut self, addr: SocketAddr) {
        if let Some(s) = self.sessions.get_mut(&addr) {
            match s.state {
                State::Handshaking => {
                    pending_sub(&mut self.stats, &mut self.pending_by_source, addr)
                }
                State::Established => self.stats.sessions -= 1,
                State::Failed => {}
            }
            let (renewed, held) = s.end();
            self.stats.busy_drops += held;
            if !renewed {
                self.sessions.remove(&addr);
            }
        }
    }
}
