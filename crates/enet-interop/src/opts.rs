//! [`CPeerOpts`]: the C peer's command line, one builder method per option.

/// Options for spawning a [`CPeer`](crate::CPeer); each field maps to one command-line
/// option of the C peer. Start from [`CPeerOpts::new`] and chain the builder
/// methods.
#[derive(Clone, Debug, Default)]
pub struct CPeerOpts {
    /// Server only: UDP port to bind; 0 (the default) picks an ephemeral one.
    pub port: u16,
    /// Local address to bind (`--bind`); `None` means the C peer's default,
    /// `127.0.0.1`.
    pub bind: Option<String>,
    /// Server only: number of peer slots (`--peers`, C default 32).
    pub peers: Option<u32>,
    /// Server: channel limit; client: channel count requested (`--channels`).
    pub channels: Option<u32>,
    /// Client only: connect data (`--data`).
    pub data: Option<u32>,
    /// Enable ENet's CRC-32 checksums (`--checksum`).
    pub checksum: bool,
    /// Enable ENet's range coder (`--range-coder`).
    pub range_coder: bool,
    /// Echo every received packet back (`--echo`).
    pub echo: bool,
    /// Server only: Godot-style id checks on connect (`--godot-ids`).
    pub godot_ids: bool,
    /// Append hex dumps of payloads to receive events (`--print-data`).
    pub print_data: bool,
    /// Incoming bandwidth given to `enet_host_create` (`--in-bw`).
    pub in_bandwidth: Option<u32>,
    /// Outgoing bandwidth given to `enet_host_create` (`--out-bw`).
    pub out_bandwidth: Option<u32>,
    /// `host->mtu` (`--mtu`).
    pub mtu: Option<u32>,
    /// On every connect, send [`pattern`](crate::pattern)`(`[`GREET_SEED`](crate::GREET_SEED)`, n)`
    /// reliably on channel 0 from inside the connect handler (`--greet n`, 1..=1024).
    pub greet: Option<u32>,
    /// Extra raw arguments appended to the command line.
    pub extra_args: Vec<String>,
}

impl CPeerOpts {
    /// Default options (ephemeral server port, everything else off/default).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`CPeerOpts::port`].
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Sets [`CPeerOpts::bind`].
    pub fn bind(mut self, addr: &str) -> Self {
        self.bind = Some(addr.to_owned());
        self
    }
    /// Sets [`CPeerOpts::peers`].
    pub fn peers(mut self, n: u32) -> Self {
        self.peers = Some(n);
        self
    }
    /// Sets [`CPeerOpts::channels`].
    pub fn channels(mut self, n: u32) -> Self {
        self.channels = Some(n);
        self
    }
    /// Sets [`CPeerOpts::data`].
    pub fn data(mut self, d: u32) -> Self {
        self.data = Some(d);
        self
    }
    /// Sets [`CPeerOpts::checksum`].
    pub fn checksum(mut self) -> Self {
        self.checksum = true;
        self
    }
    /// Sets [`CPeerOpts::range_coder`].
    pub fn range_coder(mut self) -> Self {
        self.range_coder = true;
        self
    }
    /// Sets [`CPeerOpts::echo`].
    pub fn echo(mut self) -> Self {
        self.echo = true;
        self
    }
    /// Sets [`CPeerOpts::godot_ids`].
    pub fn godot_ids(mut self) -> Self {
        self.godot_ids = true;
        self
    }
    /// Sets [`CPeerOpts::print_data`].
    pub fn print_data(mut self) -> Self {
        self.print_data = true;
        self
    }
    /// Sets [`CPeerOpts::in_bandwidth`] and [`CPeerOpts::out_bandwidth`].
    pub fn bandwidth(mut self, incoming: u32, outgoing: u32) -> Self {
        self.in_bandwidth = Some(incoming);
        self.out_bandwidth = Some(outgoing);
        self
    }
    /// Sets [`CPeerOpts::mtu`].
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }
    /// Sets [`CPeerOpts::greet`].
    pub fn greet(mut self, len: u32) -> Self {
        self.greet = Some(len);
        self
    }
    /// Appends one raw argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_owned());
        self
    }

    /// Options shared by both kinds.
    fn common_args(&self, args: &mut Vec<String>) {
        let mut num = |name: &str, v: Option<u32>| {
            if let Some(v) = v {
                args.push(name.to_owned());
                args.push(v.to_string());
            }
        };
        num("--channels", self.channels);
        num("--in-bw", self.in_bandwidth);
        num("--out-bw", self.out_bandwidth);
        num("--mtu", self.mtu);
        num("--greet", self.greet);
        if let Some(b) = &self.bind {
            args.push("--bind".into());
            args.push(b.clone());
        }
        for (on, name) in [
            (self.checksum, "--checksum"),
            (self.range_coder, "--range-coder"),
            (self.echo, "--echo"),
            (self.print_data, "--print-data"),
        ] {
            if on {
                args.push(name.into());
            }
        }
    }

    /// The C peer's command line for a server with these options.
    pub fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "server".to_owned(),
            "--port".to_owned(),
            self.port.to_string(),
        ];
        if let Some(n) = self.peers {
            args.push("--peers".into());
            args.push(n.to_string());
        }
        if self.godot_ids {
            args.push("--godot-ids".into());
        }
        self.common_args(&mut args);
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The C peer's command line for a client of `host:port` with these
    /// options.
    pub fn client_args(&self, host: &str, port: u16) -> Vec<String> {
        let mut args = vec![
            "client".to_owned(),
            "--host".to_owned(),
            host.to_owned(),
            "--port".to_owned(),
            port.to_string(),
        ];
        if let Some(d) = self.data {
            args.push("--data".into());
            args.push(d.to_string());
        }
        self.common_args(&mut args);
        args.extend(self.extra_args.iter().cloned());
        args
    }
}
