//! Batched I/O on Linux: datagrams read with `recvmmsg` and written with `sendmmsg`
//! (the system calls are wrapped in `crate::sys`), up to [`crate::sys::BATCH`] per call,
//! with the driver's error policy applied per datagram of a batch.
//!
//! With GSO on ([`crate::udp::UdpHostBuilder::gso`], the default), runs of equal-size
//! datagrams to one peer leave as one GSO message and the socket has GRO on: a received
//! message the kernel coalesced is split back into its datagrams here, each counted and
//! checked against [`crate::io_policy::MAX_DATAGRAM_SIZE`] on its own.

use std::io;
use std::net::UdpSocket;
use std::time::Instant;

use super::{addr::normalize_addr, addr::socket_dest, IoStats, UdpHost, MAX_DATAGRAMS_PER_WAKE};
use crate::io_policy::{
    classify_send_error, is_ignorable_recv_error, is_oversize, SendErrorHook, SendFailure,
    RECV_BUFFER_SIZE,
};

/// Receive and send batches of the Linux driver.
pub(super) struct Batch {
    rx: crate::sys::RecvBatch,
    tx: crate::sys::SendBatch,
}

/// Sends the datagrams waiting in `tx` with `send` (one `sendmmsg` each time), continuing
/// after partial sends. `sendmmsg` stops at the first datagram it cannot send and reports
/// the ones before it; the next call then starts with that datagram and gets its error. A
/// datagram refused with "would block" or an error about its destination is dropped and
/// counted, and the rest of the batch goes on; an error of the socket drops that datagram
/// and is returned, the rest stays in `tx` for the next flush.
#[cfg(batched_io)]
pub(super) fn send_pending(
    tx: &mut crate::sys::SendBatch,
    stats: &mut IoStats,
    mut send: impl FnMut(&mut crate::sys::SendBatch) -> io::Result<usize>,
) -> io::Result<()> {
    while tx.has_pending() {
        match send(tx) {
            Ok(n) if n > 0 => {
                stats.datagrams_sent += n as u64;
                let (gso_sends, gso_failures) = tx.take_gso_counts();
                stats.gso_sends += gso_sends;
                stats.gso_failures += gso_failures;
                tx.advance(n);
            }
            Ok(_) => {
                // Not expected from sendmmsg; treat like "would block" so as not to spin.
                stats.send_would_block += 1;
                tx.advance(1);
            }
            Err(e) => match classify_send_error(&e) {
                SendFailure::Retry => {}
                SendFailure::WouldBlock => {
                    stats.send_would_block += 1;
                    tracing::trace!(to = ?tx.first_dest(), "send would block; datagram dropped");
                    tx.advance(1);
                }
                SendFailure::Destination => {
                    stats.send_errors += 1;
                    tracing::debug!(to = ?tx.first_dest(), error = %e, "send refused for this destination; datagram dropped");
                    tx.advance(1);
                }
                SendFailure::Socket => {
                    tx.advance(1);
                    return Err(e);
                }
            },
        }
    }
    Ok(())
}

/// One send attempt of the first waiting datagrams: with a send-error hook installed (a
/// test seam), the first datagram alone, after the hook had its say; otherwise one
/// `sendmmsg` of all of them.
#[cfg(batched_io)]
fn send_batch_once(
    socket: &UdpSocket,
    hook: &mut Option<SendErrorHook>,
    tx: &mut crate::sys::SendBatch,
) -> io::Result<usize> {
    let Some(h) = hook else {
        return tx.send(socket, usize::MAX);
    };
    let Some((to, bytes)) = tx.first() else {
        return Ok(0);
    };
    match h(normalize_addr(to), bytes) {
        Some(e) => Err(e),
        None => tx.send(socket, 1),
    }
}

impl UdpHost {
    /// [`UdpHost::flush`] with `sendmmsg`.
    pub(super) fn flush_io(&mut self) -> io::Result<()> {
        self.flush_batched()
    }

    /// The batch buffers, allocated on first use. With GSO on, GRO is turned on for the
    /// socket then (receive buffers of 64 KiB each, allocated zeroed so that only the
    /// pages messages reach become resident); where the kernel refuses GRO, the buffers
    /// hold one datagram each.
    #[cfg(batched_io)]
    fn take_batch(&mut self) -> Box<Batch> {
        self.batch.take().unwrap_or_else(|| {
            let gro = self.gso && crate::sys::set_gro(&self.socket, true).is_ok();
            Box::new(Batch {
                rx: if gro {
                    crate::sys::RecvBatch::with_gro()
                } else {
                    crate::sys::RecvBatch::new(RECV_BUFFER_SIZE)
                },
                tx: crate::sys::SendBatch::new(RECV_BUFFER_SIZE, self.gso),
            })
        })
    }

    /// Test seam: makes the kernel's next GSO sends fail as on a device without checksum
    /// offload, so that the fallback can be seen on loopback.
    #[cfg(test)]
    pub(super) fn fail_gso_sends(&mut self) {
        let mut batch = self.take_batch();
        batch.tx.fail_gso = Some(libc::EIO);
        self.batch = Some(batch);
    }

    /// Whether GSO is in use now (on, and not turned off after the kernel refused it).
    #[cfg(test)]
    pub(super) fn gso_active(&self) -> bool {
        self.gso && self.batch.as_ref().is_none_or(|b| b.tx.gso())
    }

    /// [`UdpHost::flush`] with `sendmmsg`: the datagrams the engine produces are collected
    /// into batches of [`crate::sys::BATCH`], each sent with one system call.
    #[cfg(batched_io)]
    fn flush_batched(&mut self) -> io::Result<()> {
        let mut batch = self.take_batch();
        let result = self.flush_with(&mut batch.tx);
        self.batch = Some(batch);
        result
    }

    #[cfg(batched_io)]
    fn flush_with(&mut self, tx: &mut crate::sys::SendBatch) -> io::Result<()> {
        let v6_socket = self.local_addr.is_ipv6();
        // Datagrams left over by an error in the previous flush go first.
        let (socket, hook) = (&self.socket, &mut self.send_hook);
        send_pending(tx, &mut self.stats, |tx| send_batch_once(socket, hook, tx))?;
        loop {
            let now = Instant::now();
            let mut drained = false;
            while !tx.is_full() {
                let Some(to) = self.host.poll_transmit(now, tx.next_buf()) else {
                    drained = true;
                    break;
                };
                if let Some(c) = self.conditioner.as_mut() {
                    if let Some(net) = c.outgoing.as_mut() {
                        net.send(now, self.local_addr, to, tx.next_buf());
                        continue;
                    }
                }
                let to = socket_dest(to, v6_socket);
                tx.push(to);
            }
            let (socket, hook) = (&self.socket, &mut self.send_hook);
            send_pending(tx, &mut self.stats, |tx| send_batch_once(socket, hook, tx))?;
            if drained {
                return Ok(());
            }
        }
    }

    /// Reads datagrams until the socket would block or [`MAX_DATAGRAMS_PER_WAKE`] were read,
    /// up to [`crate::sys::BATCH`] messages per `recvmmsg` (each datagram of a coalesced
    /// message counts), and returns how many were read. A batch
    /// shorter than asked for means the queue was empty: no further call is made to see
    /// "would block". Returns 0 at once when the service loop asked to skip this read.
    #[cfg(batched_io)]
    pub(super) fn receive_available(&mut self) -> io::Result<usize> {
        if std::mem::take(&mut self.skip_receive) {
            return Ok(0);
        }
        let mut batch = self.take_batch();
        let result = self.receive_with(&mut batch.rx);
        self.batch = Some(batch);
        result
    }

    #[cfg(batched_io)]
    fn receive_with(&mut self, rx: &mut crate::sys::RecvBatch) -> io::Result<usize> {
        let mut n = 0;
        self.drained_at = None;
        while n < MAX_DATAGRAMS_PER_WAKE {
            let want = (MAX_DATAGRAMS_PER_WAKE - n).min(crate::sys::BATCH);
            self.stats.receive_calls += 1;
            match rx.recv(&self.socket, want) {
                Ok(got) => {
                    let now = Instant::now();
                    for i in 0..got {
                        let message = rx.get(i);
                        let from = message.from.map(normalize_addr);
                        if message.is_coalesced() {
                            self.stats.gro_splits += 1;
                        }
                        // Each datagram of a coalesced message counts, and is checked, as if
                        // it had been read on its own.
                        for (data, truncated) in message.datagrams() {
                            n += 1;
                            self.stats.datagrams_received += 1;
                            if is_oversize(data.len(), truncated) {
                                self.stats.oversize_dropped += 1;
                                continue;
                            }
                            let Some(from) = from else { continue };
                            match self.conditioner.as_mut().and_then(|c| c.incoming.as_mut()) {
                                Some(net) => net.send(now, from, self.local_addr, data),
                                None => self.host.handle_datagram(now, from, data),
                            }
                        }
                    }
                    if got < want {
                        self.drained_at = Some(now);
                        return Ok(n);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained_at = Some(Instant::now());
                    return Ok(n);
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
