//! The server's stateless cookie exchange: OpenSSL's `DTLSv1_listen` (not wrapped by the
//! `openssl` crate, so declared here; this is the DTLS layer's only `unsafe` code) on one
//! reusable listener session, and the cookie callbacks it calls.
//!
//! A datagram from an address without a session is fed to the listener. `DTLSv1_listen`
//! parses it without keeping any state: a ClientHello without a valid cookie is answered
//! with a HelloVerifyRequest carrying a cookie (a SHA-256 of a random 32-byte secret, a
//! 30-second epoch and the address, cut to [`COOKIE_LEN`] bytes; the current and the
//! previous epoch are accepted); anything else is dropped. Only a ClientHello returning a
//! valid cookie turns the listener into that address's session (and a new listener is made).

use std::net::SocketAddr;
use std::os::raw::{c_int, c_void};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use foreign_types::ForeignTypeRef;
use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContext, SslContextBuilder, SslRef, SslStream};

use super::options::HANDSHAKE_MTU;
use super::stream::DgramIo;
use super::DtlsError;

/// Bytes of cookie sent in a HelloVerifyRequest.
pub(crate) const COOKIE_LEN: usize = 16;
/// Seconds a cookie epoch lasts (a cookie is accepted for one to two epochs).
const EPOCH_SECS: u64 = 30;

extern "C" {
    // int DTLSv1_listen(SSL *s, BIO_ADDR *client); in libssl since OpenSSL 1.1.0.
    fn DTLSv1_listen(s: *mut openssl_sys::SSL, client: *mut c_void) -> c_int;
    // BIO_ADDR *BIO_ADDR_new(void); void BIO_ADDR_free(BIO_ADDR *); in libcrypto.
    fn BIO_ADDR_new() -> *mut c_void;
    fn BIO_ADDR_free(a: *mut c_void);
}

/// Sets `SSL_CTX_set_max_cert_list` (a macro over `SSL_CTX_ctrl`, so not in the `openssl`
/// crate): the largest certificate list, and (in DTLS) handshake message, a peer may send.
pub(crate) fn set_max_cert_list(b: &mut SslContextBuilder, bytes: usize) -> Result<(), DtlsError> {
    // SSL_CTRL_SET_MAX_CERT_LIST.
    const SET_MAX_CERT_LIST: c_int = 51;
    let bytes = std::os::raw::c_long::try_from(bytes)
        .map_err(|_| DtlsError::Setup("max_cert_list out of range".into()))?;
    // SAFETY: `b.as_ptr()` is the builder's valid SSL_CTX; this ctrl only stores a number
    // and takes no pointer argument (null is what the macro passes).
    unsafe {
        openssl_sys::SSL_CTX_ctrl(b.as_ptr(), SET_MAX_CERT_LIST, bytes, std::ptr::null_mut());
    }
    Ok(())
}

/// The ex-data slot holding the remote address the cookie callbacks hash.
fn addr_index() -> Result<Index<Ssl, Mutex<SocketAddr>>, DtlsError> {
    static INDEX: OnceLock<Index<Ssl, Mutex<SocketAddr>>> = OnceLock::new();
    if let Some(i) = INDEX.get() {
        return Ok(*i);
    }
    let i = Ssl::new_ex_index().map_err(|e| DtlsError::Setup(e.to_string()))?;
    // A racing thread may have set another index first: use whichever won.
    Ok(*INDEX.get_or_init(|| i))
}

fn compute_cookie(secret: &[u8; 32], epoch: u64, addr: &SocketAddr) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    h.update(secret);
    h.update(&epoch.to_be_bytes());
    match addr {
        SocketAddr::V4(a) => h.update(&a.ip().octets()),
        SocketAddr::V6(a) => h.update(&a.ip().octets()),
    }
    h.update(&addr.port().to_be_bytes());
    h.finish()
}

/// Installs the cookie generation and verification callbacks on a server context.
pub(crate) fn install_cookie_callbacks(b: &mut SslContextBuilder) -> Result<(), DtlsError> {
    let idx = addr_index()?;
    let mut secret = [0u8; 32];
    openssl::rand::rand_bytes(&mut secret).map_err(|e| DtlsError::Setup(e.to_string()))?;
    let start = Instant::now();
    let epoch = move || start.elapsed().as_secs() / EPOCH_SECS;
    b.set_cookie_generate_cb(move |ssl: &mut SslRef, out: &mut [u8]| {
        let addr = *ssl
            .ex_data(idx)
            .ok_or_else(ErrorStack::get)?
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let c = compute_cookie(&secret, epoch(), &addr);
        let n = COOKIE_LEN.min(out.len());
        out[..n].copy_from_slice(&c[..n]);
        Ok(n)
    });
    b.set_cookie_verify_cb(move |ssl: &mut SslRef, cookie: &[u8]| {
        let Some(addr) = ssl
            .ex_data(idx)
            .map(|m| *m.lock().unwrap_or_else(|p| p.into_inner()))
        else {
            return false;
        };
        let now = epoch();
        [now, now.saturating_sub(1)].iter().any(|&e| {
            let c = compute_cookie(&secret, e, &addr);
            cookie.len() == COOKIE_LEN && openssl::memcmp::eq(&c[..COOKIE_LEN], cookie)
        })
    });
    Ok(())
}

/// A new server-side session object (accept state, handshake MTU, address slot).
pub(crate) fn new_server_ssl(ctx: &SslContext, addr: SocketAddr) -> Result<Ssl, DtlsError> {
    let err = |e: ErrorStack| DtlsError::Setup(e.to_string());
    let mut ssl = Ssl::new(ctx).map_err(err)?;
    ssl.set_accept_state();
    ssl.set_mtu(HANDSHAKE_MTU).map_err(err)?;
    ssl.set_ex_data(addr_index()?, Mutex::new(addr));
    Ok(ssl)
}

/// What the listener made of one datagram.
pub(crate) enum Listened {
    /// A ClientHello with a valid cookie: the listener is now that address's session.
    Accepted,
    /// Anything else (a HelloVerifyRequest may have been written to the listener's output).
    NotYet,
}

/// `BIO_ADDR` owned here (DTLSv1_listen writes the peer address it could learn into it).
struct BioAddr(*mut c_void);

impl Drop for BioAddr {
    fn drop(&mut self) {
        // SAFETY: self.0 came from BIO_ADDR_new, is non-null (checked at creation) and is
        // freed exactly once, here.
        unsafe { BIO_ADDR_free(self.0) }
    }
}

// SAFETY: a BIO_ADDR is plain memory (a sockaddr union) with no thread affinity; it is only
// used through &mut self of its single owner.
unsafe impl Send for BioAddr {}

/// The reusable listener session of a DTLS server.
pub(crate) struct Listener {
    pub(crate) tls: SslStream<DgramIo>,
    addr: BioAddr,
    idx: Index<Ssl, Mutex<SocketAddr>>,
}

impl Listener {
    /// A fresh listener on `ctx` (a server context from `options::server_context`).
    pub(crate) fn new(ctx: &SslContext) -> Result<Listener, DtlsError> {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        let ssl = new_server_ssl(ctx, unspecified)?;
        let tls =
            SslStream::new(ssl, DgramIo::default()).map_err(|e| DtlsError::Setup(e.to_string()))?;
        // SAFETY: BIO_ADDR_new has no preconditions; a null result is handled below.
        let raw = unsafe { BIO_ADDR_new() };
        if raw.is_null() {
            return Err(DtlsError::Setup("BIO_ADDR_new failed".into()));
        }
        Ok(Listener {
            tls,
            addr: BioAddr(raw),
            idx: addr_index()?,
        })
    }

    /// Runs `DTLSv1_listen` on one datagram from `from`.
    pub(crate) fn listen(&mut self, from: SocketAddr, data: &[u8]) -> Listened {
        if let Some(m) = self.tls.ssl().ex_data(self.idx) {
            *m.lock().unwrap_or_else(|p| p.into_inner()) = from;
        }
        self.tls.get_mut().put(data);
        drop(ErrorStack::get());
        // SAFETY: the SSL pointer is the live session owned by self.tls, whose read and
        // write BIOs are set (SslStream::new); self.addr is a valid BIO_ADDR owned by self.
        // DTLSv1_listen only reads from and writes to those BIOs and the BIO_ADDR, and
        // returns before this call ends; the session is not used concurrently (&mut self).
        let r = unsafe { DTLSv1_listen(self.tls.ssl().as_ptr(), self.addr.0) };
        self.tls.get_mut().discard();
        // Malformed datagrams leave errors on this thread's OpenSSL queue: clear it.
        drop(ErrorStack::get());
        if r == 1 {
            Listened::Accepted
        } else {
            Listened::NotYet
        }
    }
}
