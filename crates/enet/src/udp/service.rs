//! The service loop ([`UdpHost::service`], as `enet_host_service`): receive, timers, send,
//! then wait on the socket (after an optional busy-poll spin) until a datagram, a timer or
//! the caller's timeout is due.

use std::io;
use std::time::{Duration, Instant};

use enet_proto::Event;

use super::UdpHost;
#[cfg(not(unix))]
use crate::io_policy::is_ignorable_recv_error;

impl UdpHost {
    /// Services the host (`enet_host_service`): returns a queued event at once; otherwise
    /// receives datagrams, runs timers and sends, waiting on the socket for up to `timeout`
    /// until an event occurs. Returns `Ok(None)` when `timeout` passes without one.
    ///
    /// With a zero `timeout` it does one round of I/O without waiting.
    pub fn service(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if let Some(ev) = self.host.poll_event() {
            return Ok(Some(ev));
        }
        let deadline = Instant::now().checked_add(timeout);
        loop {
            #[cfg(feature = "dtls")]
            if self.dtls.is_some() {
                self.receive_dtls()?;
            } else {
                self.receive_available()?;
            }
            #[cfg(not(feature = "dtls"))]
            self.receive_available()?;
            self.release_conditioned()?;
            self.run_timers();
            self.flush()?;
            self.release_conditioned()?;
            if let Some(ev) = self.host.poll_event() {
                return Ok(Some(ev));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            let timer = match (self.host.poll_timeout(), self.conditioner_next()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            #[cfg(feature = "dtls")]
            let timer = match (timer, self.dtls_next_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wake = match (deadline, timer) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            let wait = match wake {
                Some(w) => w.saturating_duration_since(now),
                // No deadline and no timer: wait for a datagram in long slices.
                None => Duration::from_secs(3600),
            };
            if wait.is_zero() {
                // A timer is due now: run it on the next round.
                continue;
            }
            self.wait_for_datagram(wait)?;
        }
    }

    /// Sleeps until the socket is readable or `wait` has passed (`poll(2)`: precise, one
    /// system call). The next round reads whatever arrived.
    #[cfg(unix)]
    fn wait_for_datagram(&mut self, wait: Duration) -> io::Result<()> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let start = Instant::now();
        let mut fds = [PollFd::new(&self.socket, PollFlags::IN)];
        let spin = self.busy_poll.budget().min(wait);
        if spin.is_zero() {
            self.busy_poll.record_sleep();
        } else {
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            self.stats.spins += 1;
            loop {
                if matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0) {
                    self.busy_poll.record_spin(true);
                    return Ok(());
                }
                if start.elapsed() >= spin {
                    break;
                }
                std::hint::spin_loop();
            }
            // Counted even when cut short by the caller's timeout: a caller that keeps
            // waiting briefly on an idle socket must not keep spinning.
            self.busy_poll.record_spin(false);
        }
        self.stats.waits += 1;
        let left = wait.saturating_sub(start.elapsed());
        let timeout = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: left.subsec_nanos() as _,
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) => Ok(()),
            Err(e) if e == rustix::io::Errno::INTR => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Blocks on the socket for at most `wait` and handles the datagram that arrives, if
    /// any. The socket is non-blocking again afterwards.
    #[cfg(not(unix))]
    fn wait_for_datagram(&mut self, wait: Duration) -> io::Result<()> {
        self.stats.waits += 1;
        #[cfg(feature = "dtls")]
        if self.dtls.is_some() {
            // A DTLS host only waits here (peeking); the next round reads the datagram
            // through the DTLS layer.
            self.socket.set_nonblocking(false)?;
            let mut probe = [0u8; 1];
            let _ = self
                .socket
                .set_read_timeout(Some(wait))
                .and_then(|_| self.socket.peek_from(&mut probe));
            return self.socket.set_nonblocking(true);
        }
        self.socket.set_nonblocking(false)?;
        let result = self
            .socket
            .set_read_timeout(Some(wait))
            .and_then(|_| self.socket.recv_from(&mut self.recv_buf));
        let restore = self.socket.set_nonblocking(true);
        let outcome = match result {
            Ok((len, from)) => {
                self.handle(len, from);
                Ok(())
            }
            Err(e) if crate::io_policy::is_recv_truncation(&e) => {
                self.stats.datagrams_received += 1;
                self.stats.oversize_dropped += 1;
                Ok(())
            }
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(()),
                k if is_ignorable_recv_error(k) => {
                    self.stats.ignored_errors += 1;
                    Ok(())
                }
                _ => Err(e),
            },
        };
        restore.and(outcome)
    }

    /// Runs the engine's timers if one is due.
    fn run_timers(&mut self) {
        let now = Instant::now();
        if self.host.poll_timeout().is_some_and(|t| t <= now) {
            self.host.handle_timeout(now);
        }
    }
}
