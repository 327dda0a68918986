//! DTLS options of `enet serve` and `enet connect`, and `enet gen-cert`. With the `dtls`
//! feature they set up DTLS on the host (Godot's `dtls_server_setup` /
//! `dtls_client_setup`); without it, any of them exits 2 with a hint to rebuild.

use std::path::PathBuf;

use enet::godot::EnetConnection;

use crate::common::{usage_error, CliResult};

/// What to print when a DTLS option is used in a build without DTLS.
pub const REBUILD_HINT: &str = "this enet was built without DTLS: rebuild with `cargo build --release -p enet-cli --features dtls` (needs OpenSSL's headers, e.g. libssl-dev)";

/// DTLS options of `enet serve`.
#[derive(clap::Args, Debug, Default)]
pub struct ServeTls {
    /// Serve over DTLS with this certificate (PEM or DER; PEM may hold the chain). Needs
    /// --dtls-key.
    #[arg(long, value_name = "CERT", requires = "dtls_key")]
    pub dtls_cert: Option<PathBuf>,
    /// The private key of --dtls-cert (PEM or DER, RSA or EC).
    #[arg(long, value_name = "KEY", requires = "dtls_cert")]
    pub dtls_key: Option<PathBuf>,
}

/// DTLS options of `enet connect`.
#[derive(clap::Args, Debug, Default)]
pub struct ConnectTls {
    /// Connect over DTLS. The server's certificate is verified against --ca (default: the
    /// system's trust store) and --hostname (default: the host of ADDR), unless --insecure.
    #[arg(long)]
    pub dtls: bool,
    /// Trusted CA certificate(s) for --dtls (PEM or DER; a self-signed server certificate
    /// works as its own CA).
    #[arg(long, value_name = "PEM", requires = "dtls")]
    pub ca: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the host of ADDR).
    #[arg(
        long,
        value_name = "NAME",
        requires = "dtls",
        conflicts_with = "insecure"
    )]
    pub hostname: Option<String>,
    /// Accept any server certificate (encrypted, but open to a man in the middle).
    #[arg(long, requires = "dtls", conflicts_with = "ca")]
    pub insecure: bool,
}

/// Arguments of `enet gen-cert`.
#[derive(clap::Args, Debug)]
pub struct GenCertArgs {
    /// The certificate's common name (and DNS name or IP address), e.g. localhost.
    #[arg(long)]
    pub cn: String,
    /// Directory to write cert.pem and key.pem into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Days the certificate is valid (1..=36500).
    #[arg(long, default_value_t = 365, value_parser = crate::common::count::<u32>(1, 36500))]
    pub days: u32,
}

impl ServeTls {
    /// Whether DTLS was asked for.
    pub fn wanted(&self) -> bool {
        self.dtls_cert.is_some()
    }
}

impl ConnectTls {
    /// Whether DTLS was asked for.
    pub fn wanted(&self) -> bool {
        self.dtls || self.ca.is_some() || self.hostname.is_some() || self.insecure
    }
}

/// Exit code 2 with the rebuild hint if DTLS options were given to a build without DTLS.
pub fn check(wanted: bool) -> Option<CliResult> {
    (wanted && !cfg!(feature = "dtls")).then(|| usage_error(REBUILD_HINT))
}

#[cfg(feature = "dtls")]
fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Sets up the DTLS server on `host` if asked for; true if it did.
#[cfg(feature = "dtls")]
pub fn server_setup(host: &mut EnetConnection, t: &ServeTls) -> Result<bool, String> {
    use enet::dtls::TlsOptions;
    let (Some(cert), Some(key)) = (&t.dtls_cert, &t.dtls_key) else {
        return Ok(false);
    };
    let options =
        TlsOptions::server(&read(key)?, &read(cert)?).map_err(|e| format!("DTLS: {e}"))?;
    host.dtls_server_setup(options)
        .map_err(|e| format!("DTLS setup failed: {e}"))?;
    Ok(true)
}

/// Without DTLS compiled in there is nothing to set up (`check` refused the options).
#[cfg(not(feature = "dtls"))]
pub fn server_setup(_host: &mut EnetConnection, _t: &ServeTls) -> Result<bool, String> {
    Ok(false)
}

/// Sets up the DTLS client on `host` (connecting to `server_host`) if asked for.
#[cfg(feature = "dtls")]
pub fn client_setup(
    host: &mut EnetConnection,
    t: &ConnectTls,
    server_host: &str,
) -> Result<(), String> {
    use enet::dtls::TlsOptions;
    if !t.wanted() {
        return Ok(());
    }
    let options = if t.insecure {
        TlsOptions::client_unsafe()
    } else {
        let ca = t.ca.as_deref().map(read).transpose()?;
        TlsOptions::client(ca.as_deref(), None).map_err(|e| format!("DTLS: {e}"))?
    };
    let name = t.hostname.as_deref().unwrap_or(server_host);
    host.dtls_client_setup(name, options)
        .map_err(|e| format!("DTLS setup failed: {e}"))
}

/// Without DTLS compiled in there is nothing to set up (`check` refused the options).
#[cfg(not(feature = "dtls"))]
pub fn client_setup(
    _host: &mut EnetConnection,
    _t: &ConnectTls,
    _server_host: &str,
) -> Result<(), String> {
    Ok(())
}

/// Why a DTLS client could not connect, if DTLS said why.
pub fn client_failure(host: &EnetConnection) -> Option<String> {
    #[cfg(feature = "dtls")]
    {
        host.dtls_last_error().map(|e| e.to_string())
    }
    #[cfg(not(feature = "dtls"))]
    {
        let _ = host;
        None
    }
}

/// `enet gen-cert`: a self-signed RSA-2048 certificate and key, as Godot's
/// `Crypto.generate_rsa(2048)` plus `generate_self_signed_certificate`.
pub fn gen_cert(a: GenCertArgs) -> CliResult {
    #[cfg(feature = "dtls")]
    {
        let pair = enet::dtls::certs::self_signed_rsa(&a.cn, a.days).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&a.out)
            .map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
        let (cert, key) = (a.out.join("cert.pem"), a.out.join("key.pem"));
        std::fs::write(&cert, &pair.cert_pem)
            .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
        write_private(&key, &pair.key_pem)?;
        println!("wrote {} and {}", cert.display(), key.display());
        Ok(0)
    }
    #[cfg(not(feature = "dtls"))]
    {
        let _ = a;
        usage_error(REBUILD_HINT)
    }
}

/// A temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh self-signed certificate for `enet bench --dtls`, in a new temporary directory.
pub fn bench_certificate() -> Result<TempDir, String> {
    #[cfg(feature = "dtls")]
    {
        let pair = enet::dtls::certs::self_signed_rsa("localhost", 1).map_err(|e| e.to_string())?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("enet-bench-dtls-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dir = TempDir(dir);
        std::fs::write(dir.0.join("cert.pem"), &pair.cert_pem)
            .map_err(|e| format!("cannot write the certificate: {e}"))?;
        write_private(&dir.0.join("key.pem"), &pair.key_pem)?;
        Ok(dir)
    }
    #[cfg(not(feature = "dtls"))]
    {
        Err(REBUILD_HINT.into())
    }
}

/// Writes a private key readable by its owner only (on Unix).
#[cfg(feature = "dtls")]
fn write_private(path: &std::path::Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
