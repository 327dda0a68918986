//! Portable I/O: one `recv_from` / `send_to` system call per datagram. Used where
//! batched I/O (`recvmmsg`/`sendmmsg`) is not available, and on Linux with the
//! `portable-io` feature so that this path is built and tested there too.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::{addr::normalize_addr, addr::socket_dest, UdpHost, MAX_DATAGRAMS_PER_WAKE};
use crate::io_policy::{classify_send_error, is_ignorable_recv_error, is_oversize, SendFailure};

impl UdpHost {
    /// [`UdpHost::flush`] with one `sendto` per datagram.
    pub(super) fn flush_io(&mut self) -> io::Result<()> {
        self.flush_portable()
    }

    /// [`UdpHost::flush`] with one `sendto` per datagram.
    #[cfg(not(batched_io))]
    fn flush_portable(&mut self) -> io::Result<()> {
        let v6_socket = self.local_addr.is_ipv6();
        loop {
            let Some(to) = self.host.poll_transmit(Instant::now(), &mut self.send_buf) else {
                return Ok(());
            };
            if let Some(c) = self.conditioner.as_mut() {
                if let Some(net) = c.outgoing.as_mut() {
                    net.send(Instant::now(), self.local_addr, to, &self.send_buf);
                    continue;
                }
            }
            let to = socket_dest(to, v6_socket);
            loop {
                let sent = match self.send_hook.as_mut() {
                    Some(h) => match h(normalize_addr(to), &self.send_buf) {
                        Some(e) => Err(e),
                        None => self.socket.send_to(&self.send_buf, to),
                    },
                    None => self.socket.send_to(&self.send_buf, to),
                };
                match sent {
                    Ok(_) => {
                        self.stats.datagrams_sent += 1;
                        break;
                    }
                    Err(e) => match classify_send_error(&e) {
                        SendFailure::Retry => continue,
                        SendFailure::WouldBlock => {
                            self.stats.send_would_block += 1;
                            tracing::trace!(%to, "send would block; datagram dropped");
                            break;
                        }
                        SendFailure::Destination => {
                            self.stats.send_errors += 1;
                            tracing::debug!(%to, error = %e, "send refused for this destination; datagram dropped");
                            break;
                        }
                        SendFailure::Socket => return Err(e),
                    },
                }
            }
        }
    }

    /// Hands one datagram to the engine.
    #[cfg(not(batched_io))]
    pub(super) fn handle(&mut self, len: usize, from: SocketAddr) {
        self.stats.datagrams_received += 1;
        if is_oversize(len, false) {
            self.stats.oversize_dropped += 1;
            return;
        }
        if let Some(c) = self.conditioner.as_mut() {
            if let Some(net) = c.incoming.as_mut() {
                net.send(
                    Instant::now(),
                    normalize_addr(from),
                    self.local_addr,
                    &self.recv_buf[..len],
                );
                return;
            }
        }
        self.host
            .handle_datagram(Instant::now(), normalize_addr(from), &self.recv_buf[..len]);
    }

    /// Reads datagrams until the socket would block or [`MAX_DATAGRAMS_PER_WAKE`] were read,
    /// and returns how many read calls were made that did not block (datagrams, ignored
    /// errors). Returns 0 at once when the service loop asked to skip this read.
    #[cfg(not(batched_io))]
    pub(super) fn receive_available(&mut self) -> io::Result<usize> {
        if std::mem::take(&mut self.skip_receive) {
            return Ok(0);
        }
        let mut n = 0;
        self.drained_at = None;
        while n < MAX_DATAGRAMS_PER_WAKE {
            self.stats.receive_calls += 1;
            match self.socket.recv_from(&mut self.recv_buf) {
                Ok((len, from)) => {
                    n += 1;
                    self.handle(len, from);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained_at = Some(Instant::now());
                    return Ok(n);
                }
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
        Ok(n)
    }
}
