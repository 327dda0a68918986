//! The service loop ([`UdpHost::service`], as `enet_host_service`): timers and send,
//! receive (returning at once when that made a Receive event), send again, then wait on the socket
//! (after an optional busy-poll spin) until a datagram, a timer or the caller's timeout is
//! due.
//!
//! System calls per wake-up are what a server with sparse traffic pays for, so the loop
//! avoids the ones that cannot find anything: acknowledgements leave with the replies of
//! the same round (one datagram where there were two), a waiting call made right after a
//! read that emptied the socket's queue goes straight to the wait, and a busy-poll spin
//! probes by reading (`recvmmsg`), so that the probe that finds datagrams has also read them.
//! A call whose timeout has passed still reads on while each read stops at its limit
//! without making an event (bounded), so that a tick-driven caller's drain empties the
//! socket.

use std::io;
use std::time::{Duration, Instant};

use enet_proto::Event;

use super::busy_poll::BusyPoll;
use super::{UdpHost, MAX_DATAGRAMS_PER_WAKE};

#[cfg(not(unix))]
use crate::io_policy::is_ignorable_recv_error;

/// A waiting [`UdpHost::service`] that starts within this time of a read that emptied the
/// socket's queue does not read first but waits at once (`poll` returns at once if a
/// datagram came in between): the gap between a caller's last `service(0)` and its next
/// waiting call is about a microsecond, and a datagram rarely arrives in it.
const RECENT_DRAIN: Duration = Duration::from_micros(10);

/// Datagrams a call whose timeout has passed reads beyond its first round while each read
/// stops at [`MAX_DATAGRAMS_PER_WAKE`] without making an event: 16 × 256 = 4,096 (about what
/// a full 1 MiB socket buffer holds of small ones), plus at most one read's overshoot (with
/// GRO, one read may hold 32 messages of up to 64 coalesced datagrams each).
pub(super) const MAX_EXTRA_DATAGRAMS: usize = 16 * MAX_DATAGRAMS_PER_WAKE;

impl UdpHost {
    /// Services the host (`enet_host_service`): returns a queued event at once; otherwise
    /// runs timers, sends, receives datagrams and sends again, waiting on the socket for up
    /// to `timeout` until an event occurs. Returns `Ok(None)` when `timeout` passes without
    /// one.
    ///
    /// As in the C library, a call that returns a received packet it just read leaves the
    /// acknowledgements of that read queued: they go out with the next call (or
    /// [`UdpHost::flush`]), together with whatever the caller sends in reply. Before a
    /// connect or disconnect event they are sent at once.
    ///
    /// With a zero `timeout` it does one round of I/O without waiting; if that round's read
    /// stopped at [`MAX_DATAGRAMS_PER_WAKE`] and made no event, it reads on (about 4,096 more
    /// datagrams at most), so that a caller draining the host once a frame (`service(ZERO)` until
    /// `None`) empties the socket instead of stopping behind a run of acknowledgements.
    pub fn service(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if let Some(ev) = self.host.poll_event() {
            self.busy_poll.record_event();
            return Ok(Some(ev));
        }
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        // A waiting call right after a read that emptied the queue (the caller's
        // `service(0)` loop has just ended): reading again would almost surely find
        // nothing, and the wait notices a datagram that came in between at once.
        self.skip_receive = !timeout.is_zero()
            && self
                .drained_at
                .is_some_and(|t| start.saturating_duration_since(t) < RECENT_DRAIN);
        let mut extra_datagrams = 0;
        let mut first_round = true;
        loop {
            // Send first (as `enet_host_service` does): acknowledgements of the datagrams
            // whose events the last call returned leave together with what the caller
            // queued in reply, in one datagram per peer instead of two.
            self.run_timers();
            self.flush()?;
            self.release_conditioned()?;
            // Datagrams read this round (none counted for a DTLS host, which never reads
            // on past its limit).
            #[cfg(feature = "dtls")]
            let read = if self.dtls.is_some() {
                self.receive_dtls()?;
                0
            } else {
                self.receive_available()?
            };
            #[cfg(not(feature = "dtls"))]
            let read = self.receive_available()?;
            // Whether the read stopped at its limit with datagrams still queued.
            let full = read >= MAX_DATAGRAMS_PER_WAKE;
            if !first_round {
                extra_datagrams += read;
            }
            first_round = false;
            self.skip_receive = false;
            self.release_conditioned()?;
            // The acknowledgements of received packets wait for the caller's replies (they
            // go out on the next call, or flush). Those of datagrams that made no event
            // (pings, parts of a fragmented packet) or a connect or disconnect event do
            // not: a caller may stop servicing once connected.
            let deferred = self.host.next_event_is_receive();
            if !deferred {
                self.flush()?;
                self.release_conditioned()?;
            }
            if let Some(ev) = self.host.poll_event() {
                self.busy_poll.record_event();
                return Ok(Some(ev));
            }
            if deferred {
                self.flush()?;
                self.release_conditioned()?;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                // Out of time, but the read stopped at its limit and those datagrams made
                // no event (acknowledgements, pings): the socket holds more. Read on rather
                // than leave them for the next call, which for a tick-driven caller
                // (`service(ZERO)` until None, once a frame) is a frame away: meanwhile the
                // queue grows until the kernel drops. Bounded, so a flood cannot hold the
                // call.
                if full && extra_datagrams < MAX_EXTRA_DATAGRAMS {
                    continue;
                }
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
            self.wait_for_datagram(now, wait)?;
        }
    }

    /// Sleeps until the socket is readable or `wait` has passed (`poll(2)`: precise, one
    /// system call), after a busy-poll spin when the policy asks for one. The next round
    /// reads whatever arrived (or, when the spin read it, handles its events).
    #[cfg(unix)]
    fn wait_for_datagram(&mut self, now: Instant, wait: Duration) -> io::Result<()> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let spin = self.busy_poll.budget().min(wait);
        let mut waited = Duration::ZERO;
        if spin.is_zero() {
            self.busy_poll.record_sleep();
        } else {
            self.stats.spins += 1;
            let found = self.spin(now, spin)?;
            // Counted even when cut short by the caller's timeout: a caller that keeps
            // waiting briefly on an idle socket must not keep spinning.
            self.busy_poll.record_spin(found);
            if found {
                return Ok(());
            }
            waited = now.elapsed();
        }
        self.stats.waits += 1;
        let left = wait.saturating_sub(waited);
        let timeout = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&self.socket, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) => Ok(()),
            Err(e) if e == rustix::io::Errno::INTR => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Busy-polls the socket for up to `spin` from `start`; returns whether a datagram
    /// came. A plain host probes by reading (one `recvmmsg` per probe, no `poll`):
    /// datagrams found are handled at once and the next round does not read again. A DTLS
    /// host, whose reads go through its DTLS layer, probes with `poll`.
    #[cfg(unix)]
    fn spin(&mut self, start: Instant, spin: Duration) -> io::Result<bool> {
        #[cfg(feature = "dtls")]
        if self.dtls.is_some() {
            use rustix::event::{poll, PollFd, PollFlags, Timespec};
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let mut fds = [PollFd::new(&self.socket, PollFlags::IN)];
            loop {
                if matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0) {
                    return Ok(true);
                }
                if start.elapsed() >= spin {
                    return Ok(false);
                }
                std::hint::spin_loop();
            }
        }
        let mut last = start;
        loop {
            if self.receive_available()? > 0 {
                // Read up to a short batch just now: the next round goes straight to the
                // events (and to sending what they call for).
                self.skip_receive = true;
                return Ok(true);
            }
            let now = Instant::now();
            if now.saturating_duration_since(last) >= BusyPoll::PREEMPTION_GAP {
                // The scheduler ran something else between two probes: the CPU is wanted.
                self.stats.preempted_spins += 1;
                self.busy_poll.record_preempted();
                return Ok(false);
            }
            if now.saturating_duration_since(start) >= spin {
                return Ok(false);
            }
            last = now;
            std::hint::spin_loop();
        }
    }

    /// Blocks on the socket for at most `wait` and handles the datagram that arrives, if
    /// any. The socket is non-blocking again afterwards.
    #[cfg(not(unix))]
    fn wait_for_datagram(&mut self, _now: Instant, wait: Duration) -> io::Result<()> {
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
        self.stats.receive_calls += 1;
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
