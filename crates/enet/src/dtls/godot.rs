//! Godot's DTLS methods of `ENetConnection` (`dtls_server_setup`, `dtls_client_setup`) on
//! [`EnetConnection`], with Godot's error codes: no host → `ERR_UNCONFIGURED`, the wrong
//! kind of [`TlsOptions`] → `ERR_INVALID_PARAMETER`, DTLS already set up → `FAILED`.

use super::{DtlsError, DtlsStats, TlsOptions};
use crate::error::{Error, Result};
use crate::godot::EnetConnection;

impl EnetConnection {
    /// Godot's `dtls_server_setup(server_options)`: the host becomes a DTLS server (see
    /// [`UdpHost::dtls_server_setup`](crate::udp::UdpHost::dtls_server_setup)). Call it
    /// right after [`EnetConnection::create_host_bound`].
    pub fn dtls_server_setup(&mut self, server_options: TlsOptions) -> Result<()> {
        let udp = &mut self.active()?.udp;
        udp.dtls_server_setup(server_options).map_err(Error::Dtls)
    }

    /// Godot's `dtls_client_setup(hostname, client_options)`: the host becomes a DTLS
    /// client verifying servers against `client_options` and `hostname` (see
    /// [`UdpHost::dtls_client_setup`](crate::udp::UdpHost::dtls_client_setup)). Call it
    /// after [`EnetConnection::connect_to_host`] and before the first `service`.
    pub fn dtls_client_setup(&mut self, hostname: &str, client_options: TlsOptions) -> Result<()> {
        let udp = &mut self.active()?.udp;
        udp.dtls_client_setup(hostname, client_options)
            .map_err(Error::Dtls)
    }

    /// The DTLS counters, or `None` without a host or without DTLS.
    pub fn dtls_stats(&self) -> Option<DtlsStats> {
        self.udp_host()?.dtls_stats()
    }

    /// The last DTLS handshake or session error (e.g. why the server's certificate was
    /// refused), or `None`.
    pub fn dtls_last_error(&self) -> Option<DtlsError> {
        self.udp_host()?.dtls_last_error().cloned()
    }
}
