//! Batched DTLS I/O on Linux: ciphertext datagrams read with `recvmmsg` and written with
//! `sendmmsg` (via `crate::sys`), up to [`crate::sys::BATCH`] per call, with the driver's
//! error policy per datagram (`super::super::batched::send_pending`).
//!
//! The batch buffers are the DTLS host's own: each receive buffer holds the largest DTLS
//! record the layer accepts (ENet's largest datagram plus record overhead), which the plain
//! driver's buffers (ENet's largest datagram) would cut short.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::super::addr::{normalize_addr, socket_dest};
use super::super::batched::send_pending;
use super::super::{UdpHost, MAX_DATAGRAMS_PER_WAKE};
use super::send_one;
use crate::dtls::MAX_RECORD;
use crate::io_policy::{is_ignorable_recv_error, MAX_DATAGRAM_SIZE};
use crate::sys::{RecvBatch, SendBatch, BATCH};

/// A DTLS host's batch buffers.
pub(super) struct DtlsBatch {
    rx: RecvBatch,
    tx: SendBatch,
}

impl DtlsBatch {
    /// Buffers for [`BATCH`] datagrams each way: about 2 × 32 × 4.6 KiB.
    pub(super) fn new() -> DtlsBatch {
        DtlsBatch {
            // One byte more than accepted, so that a longer datagram shows as truncated.
            rx: RecvBatch::new(MAX_RECORD + 1),
            // Without GSO: each DTLS record stays a datagram of its own.
            tx: SendBatch::new(MAX_DATAGRAM_SIZE + 128, false),
        }
    }
}

impl UdpHost {
    /// [`UdpHost::flush`] through DTLS: timers, then each engine datagram sealed into the
    /// send batch, which goes out with one `sendmmsg` per [`BATCH`] datagrams.
    pub(in crate::udp) fn flush_dtls(&mut self) -> io::Result<()> {
        let Some(d) = self.dtls.as_deref_mut() else {
            return Ok(());
        };
        let v6 = self.local_addr.is_ipv6();
        let (socket, stats, host) = (&self.socket, &mut self.stats, &mut self.host);
        let tx = &mut d.batch.tx;
        // Datagrams left over by a socket error in the previous flush go first.
        send_pending(tx, stats, |tx| tx.send(socket, usize::MAX))?;
        let mut fatal = None;
        let mut queue = |to: SocketAddr, bytes: &[u8]| {
            if tx.is_full() {
                if let Err(e) = send_pending(tx, stats, |tx| tx.send(socket, usize::MAX)) {
                    fatal.get_or_insert(e);
                }
                if tx.is_full() {
                    // The socket failed with datagrams still waiting: this one is lost.
                    stats.send_errors += 1;
                    return;
                }
            }
            let buf = tx.next_buf();
            buf.clear();
            buf.extend_from_slice(bytes);
            tx.push(socket_dest(to, v6));
        };
        let now = Instant::now();
        d.layer.poll(now, &mut queue);
        while let Some(to) = host.poll_transmit(now, &mut d.tx) {
            d.layer.seal(now, to, &d.tx, &mut queue);
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        send_pending(tx, stats, |tx| tx.send(socket, usize::MAX))
    }

    /// Reads datagrams through DTLS until the socket would block or
    /// [`MAX_DATAGRAMS_PER_WAKE`] were read, up to [`BATCH`] per `recvmmsg`. What DTLS
    /// answers right away (cookies, handshake flights) is written at once, one datagram
    /// per call.
    pub(in crate::udp) fn receive_dtls(&mut self) -> io::Result<()> {
        let Some(d) = self.dtls.as_deref_mut() else {
            return Ok(());
        };
        let v6 = self.local_addr.is_ipv6();
        let (socket, stats, host) = (&self.socket, &mut self.stats, &mut self.host);
        let mut fatal = None;
        let mut n = 0;
        while n < MAX_DATAGRAMS_PER_WAKE {
            let want = (MAX_DATAGRAMS_PER_WAKE - n).min(BATCH);
            stats.receive_calls += 1;
            match d.batch.rx.recv(socket, want) {
                Ok(got) => {
                    n += got;
                    let now = Instant::now();
                    for i in 0..got {
                        // A datagram cut short is longer than any record the layer accepts:
                        // it drops and counts it, as on the unbatched path.
                        // The socket has GRO off (see `install_dtls`): one datagram each.
                        let message = d.batch.rx.get(i);
                        let (data, from) = (message.data, message.from);
                        stats.datagrams_received += 1;
                        let Some(from) = from else { continue };
                        let from = normalize_addr(from);
                        let mut send = |to: SocketAddr, bytes: &[u8]| {
                            send_one(socket, stats, &mut fatal, v6, to, bytes)
                        };
                        let mut deliver =
                            |from: SocketAddr, plain: &[u8]| host.handle_datagram(now, from, plain);
                        d.layer.receive(now, from, data, &mut send, &mut deliver);
                    }
                    if got < want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if is_ignorable_recv_error(e.kind()) => {
                    n += 1;
                    stats.ignored_errors += 1;
                }
                Err(e) => return Err(e),
            }
        }
        fatal.map_or(Ok(()), Err)
    }
}
