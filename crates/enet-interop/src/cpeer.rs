//! [`CPeer`]: the C peer as a child process: spawning it as a server or a client, writing
//! commands to its stdin, and reading its stdout lines as [`CEvent`]s with timeouts.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{
    flags_arg, CEvent, CPeerOpts, ConnectInfo, Received, StatsReport, CPEER_BIN, SKIP_MESSAGE,
};

/// How many raw stdout lines a [`CPeer`] remembers for diagnostics.
const HISTORY: usize = 40;

/// A running C peer process. Killed (and reaped) when dropped.
///
/// Events are read by a background thread; [`CPeer::next_event`] returns
/// them in order. The `expect*` helpers search for a matching event and keep
/// the events they skip in a backlog that later calls see first, so nothing
/// is lost.
pub struct CPeer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    eof: bool,
    backlog: VecDeque<CEvent>,
    history: VecDeque<String>,
    port: u16,
}

impl CPeer {
    /// Spawns the C peer with raw arguments and waits up to 10 s for its
    /// first line, which must be `listening <port>` or `connecting <port>`.
    pub fn try_spawn(name: &str, args: &[String]) -> io::Result<CPeer> {
        let bin = CPEER_BIN.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, SKIP_MESSAGE))?;
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name(format!("cpeer-{name}-stdout"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    match line {
                        Ok(l) => {
                            if tx.send(l).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            })?;
        let mut peer = CPeer {
            name: name.to_owned(),
            child,
            stdin,
            rx,
            eof: false,
            backlog: VecDeque::new(),
            history: VecDeque::new(),
            port: 0,
        };
        match peer.pull(Instant::now() + Duration::from_secs(10)) {
            Some(CEvent::Listening { port } | CEvent::Connecting { port }) => {
                peer.port = port;
                Ok(peer)
            }
            other => Err(io::Error::other(format!(
                "C peer {name} ({args:?}) did not start: first event {other:?}"
            ))),
        }
    }

    /// Spawns a C server (see [`CPeerOpts::server_args`]) and waits for its
    /// `listening` line.
    pub fn try_spawn_server(opts: &CPeerOpts) -> io::Result<CPeer> {
        Self::try_spawn("server", &opts.server_args())
    }

    /// Like [`CPeer::try_spawn_server`], panicking on failure.
    pub fn spawn_server(opts: &CPeerOpts) -> CPeer {
        Self::try_spawn_server(opts).unwrap_or_else(|e| panic!("spawn C server: {e}"))
    }

    /// Spawns a C client connecting to `host:port` (see
    /// [`CPeerOpts::client_args`]) and waits for its `connecting` line. The
    /// connection itself completes later (a [`CEvent::Connect`]).
    pub fn try_spawn_client(host: &str, port: u16, opts: &CPeerOpts) -> io::Result<CPeer> {
        Self::try_spawn("client", &opts.client_args(host, port))
    }

    /// Like [`CPeer::try_spawn_client`], panicking on failure.
    pub fn spawn_client(host: &str, port: u16, opts: &CPeerOpts) -> CPeer {
        Self::try_spawn_client(host, port, opts).unwrap_or_else(|e| panic!("spawn C client: {e}"))
    }

    /// The C host's local UDP port: the listening port of a server, the
    /// ephemeral source port of a client.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// OS process id of the C peer.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last raw stdout lines (up to 40), oldest first, for diagnostics.
    pub fn history(&self) -> Vec<String> {
        self.history.iter().cloned().collect()
    }

    /// Writes one command line (a newline is appended) to the C peer's
    /// stdin and flushes it. Panics if the process's stdin is closed.
    pub fn send_line(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("C peer {name}: stdin closed"));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|_| stdin.flush()) {
            panic!(
                "C peer {name}: writing {line:?} failed: {e}; history {:?}",
                self.history
            );
        }
    }

    /// Sends `send <peer> <channel> <flags> <len> <seed>`; `peer` is an index
    /// or `"all"`, `flags` ENet flag bits (see [`flags_arg`]).
    pub fn send(&mut self, peer: &str, channel: u8, flag_bits: u32, len: usize, seed: u32) {
        self.send_line(&format!(
            "send {peer} {channel} {} {len} {seed}",
            flags_arg(flag_bits)
        ));
    }

    /// Sends `sendn <count> <peer> <channel> <flags> <len> <seed0>`.
    pub fn sendn(
        &mut self,
        count: u32,
        peer: &str,
        channel: u8,
        flag_bits: u32,
        len: usize,
        seed0: u32,
    ) {
        self.send_line(&format!(
            "sendn {count} {peer} {channel} {} {len} {seed0}",
            flags_arg(flag_bits)
        ));
    }

    /// Closes the C peer's stdin (it then quits gracefully, as on `quit`).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Takes the next raw line from the reader thread, waiting until
    /// `deadline`. Returns `None` on timeout or end of output.
    fn pull(&mut self, deadline: Instant) -> Option<CEvent> {
        if self.eof {
            return None;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok(line) => {
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                let ev = CEvent::parse(&line);
                self.history.push_back(line);
                Some(ev)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
        }
    }

    /// True once the C peer's stdout has closed and every line was read
    /// (the backlog may still hold events).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// The next event in order (backlog first), waiting up to `timeout`.
    /// `None` on timeout or when the process has exited and all output was
    /// consumed.
    pub fn next_event(&mut self, timeout: Duration) -> Option<CEvent> {
        if let Some(ev) = self.backlog.pop_front() {
            return Some(ev);
        }
        self.pull(Instant::now() + timeout)
    }

    /// Returns the first event (backlog first, then new ones, up to
    /// `timeout`) for which `pred` is true; the events skipped stay in the
    /// backlog in order. `None` on timeout or end of output.
    pub fn try_expect(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&CEvent) -> bool,
    ) -> Option<CEvent> {
        if let Some(pos) = self.backlog.iter().position(&mut pred) {
            return self.backlog.remove(pos);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let ev = self.pull(deadline)?;
            if pred(&ev) {
                return Some(ev);
            }
            self.backlog.push_back(ev);
        }
    }

    /// Like [`CPeer::try_expect`], but panics (naming `what` and showing the
    /// recent output) on timeout, on end of output, or as soon as an
    /// [`CEvent::Error`] arrives that `pred` does not accept.
    pub fn expect(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&CEvent) -> bool,
    ) -> CEvent {
        let mut error = None;
        let found = self.try_expect(timeout, |ev| {
            if pred(ev) {
                return true;
            }
            if let CEvent::Error(e) = ev {
                error = Some(e.clone());
                return true;
            }
            false
        });
        match (found, error) {
            (Some(CEvent::Error(e)), Some(_)) => {
                self.fail(&format!("expecting {what}: got error `{e}`"))
            }
            (Some(ev), _) => ev,
            (None, _) => self.fail(&format!(
                "timed out after {timeout:?} expecting {what} (eof: {})",
                self.eof
            )),
        }
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "C peer {} (pid {}): {msg}\nbacklog: {:?}\nlast lines: {:#?}",
            self.name,
            self.child.id(),
            self.backlog.iter().take(20).collect::<Vec<_>>(),
            self.history
        )
    }

    /// Waits for a [`CEvent::Connect`] and returns it.
    pub fn expect_connect(&mut self, timeout: Duration) -> ConnectInfo {
        match self.expect(timeout, "connect", |e| matches!(e, CEvent::Connect(_))) {
            CEvent::Connect(c) => c,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Disconnect`] and returns `(peer, data)`.
    pub fn expect_disconnect(&mut self, timeout: Duration) -> (u32, u32) {
        match self.expect(timeout, "disconnect", |e| {
            matches!(e, CEvent::Disconnect { .. })
        }) {
            CEvent::Disconnect { peer, data } => (peer, data),
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Refused`] and returns its data.
    pub fn expect_refused(&mut self, timeout: Duration) -> u32 {
        match self.expect(timeout, "refused", |e| matches!(e, CEvent::Refused { .. })) {
            CEvent::Refused { data } => data,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Sent`] and returns its count.
    pub fn expect_sent(&mut self, timeout: Duration) -> u32 {
        match self.expect(timeout, "sent", |e| matches!(e, CEvent::Sent { .. })) {
            CEvent::Sent { count } => count,
            _ => unreachable!(),
        }
    }

    /// Waits for a [`CEvent::Done`] acknowledging `command`.
    pub fn expect_done(&mut self, command: &str, timeout: Duration) {
        self.expect(
            timeout,
            &format!("ok {command}"),
            |e| matches!(e, CEvent::Done(c) if c == command),
        );
    }

    /// Waits for one [`CEvent::Receive`] and returns it.
    pub fn expect_receive(&mut self, timeout: Duration) -> Received {
        self.expect_receives(1, timeout).pop().expect("one packet")
    }

    /// Collects `count` [`CEvent::Receive`] events in arrival order within
    /// `timeout` in total (other events stay in the backlog). Panics if they
    /// do not all arrive or on an unexpected [`CEvent::Error`].
    pub fn expect_receives(&mut self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::with_capacity(count);
        while got.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!("receive #{} of {count}", got.len() + 1);
            match self.expect(left, &what, |e| matches!(e, CEvent::Receive(_))) {
                CEvent::Receive(r) => got.push(r),
                _ => unreachable!(),
            }
        }
        got
    }

    /// Sends `stats` and collects the report up to its `stats end` line.
    pub fn stats(&mut self, timeout: Duration) -> StatsReport {
        self.send_line("stats");
        let deadline = Instant::now() + timeout;
        let mut report = StatsReport::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = self.expect(left, "stats", |e| matches!(e, CEvent::Stats { .. }));
            let CEvent::Stats { subject, values } = ev else {
                unreachable!()
            };
            let map: BTreeMap<String, u64> = values.into_iter().collect();
            match subject.as_str() {
                "end" => return report,
                "host" => report.host = map,
                idx => match idx.parse() {
                    Ok(i) => {
                        report.peers.insert(i, map);
                    }
                    Err(_) => self.fail(&format!("bad stats subject {idx:?}")),
                },
            }
        }
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `quit`, closes stdin and waits up to `timeout` for a clean exit.
    /// Returns the exit status, or `None` if it did not exit in time (it is
    /// then killed on drop). Events printed meanwhile (disconnects, `bye`)
    /// stay readable.
    pub fn quit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(stdin) = self.stdin.as_mut() {
            // The process may already be gone; a failed write is fine here.
            let _ = writeln!(stdin, "quit").and_then(|_| stdin.flush());
        }
        self.stdin = None;
        self.wait_exit(timeout)
    }
}

impl Drop for CPeer {
    fn drop(&mut self) {
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for CPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CPeer")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish()
    }
}
