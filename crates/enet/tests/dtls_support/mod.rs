//! Shared by the DTLS tests: certificates made at test time (a CA, leaves signed by it,
//! expired ones, RSA and ECDSA), a recording UDP relay, and a pump for two hosts.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use enet::dtls::openssl::asn1::Asn1Time;
use enet::dtls::openssl::bn::{BigNum, MsbOption};
use enet::dtls::openssl::ec::{EcGroup, EcKey};
use enet::dtls::openssl::hash::MessageDigest;
use enet::dtls::openssl::nid::Nid;
use enet::dtls::openssl::pkey::{PKey, Private};
use enet::dtls::openssl::rsa::Rsa;
use enet::dtls::openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use enet::dtls::openssl::x509::{X509Builder, X509NameBuilder, X509};
use enet::udp::UdpHost;
use enet::Event;

/// Key algorithm of a generated certificate.
#[derive(Clone, Copy, Debug)]
pub enum Alg {
    Rsa,
    Ecdsa,
}

pub fn new_key(alg: Alg) -> PKey<Private> {
    match alg {
        Alg::Rsa => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        Alg::Ecdsa => {
            let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
            PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A certificate for `cn` signed by `issuer` (or self-signed), valid from `from` to
/// `until` (seconds relative to now), naming `cn` as DNS name when `dns`.
pub fn cert(
    key: &PKey<Private>,
    cn: &str,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    valid: (i64, i64),
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(120, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    match issuer {
        Some((c, _)) => b.set_issuer_name(c.subject_name()).unwrap(),
        None => b.set_issuer_name(&name).unwrap(),
    }
    b.set_pubkey(key).unwrap();
    let now = unix_now();
    b.set_not_before(&Asn1Time::from_unix(now + valid.0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + valid.1).unwrap())
        .unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    } else {
        let ctx = match issuer {
            Some((c, _)) => b.x509v3_context(Some(c), None),
            None => b.x509v3_context(None, None),
        };
        let san = SubjectAlternativeName::new().dns(cn).build(&ctx).unwrap();
        b.append_extension(san).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

const DAY: i64 = 86_400;

/// A CA and what it signs.
pub struct Pki {
    pub ca: X509,
    pub ca_key: PKey<Private>,
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = new_key(Alg::Rsa);
        let ca = cert(&ca_key, "enet-rs test CA", None, true, (-DAY, 30 * DAY));
        Pki { ca, ca_key }
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.to_pem().unwrap()
    }

    /// A leaf for `cn` as (key PEM, cert PEM).
    pub fn leaf(&self, cn: &str, alg: Alg) -> (Vec<u8>, Vec<u8>) {
        self.leaf_valid(cn, alg, (-DAY, 30 * DAY))
    }

    /// An expired leaf for `cn`.
    pub fn expired_leaf(&self, cn: &str) -> (Vec<u8>, Vec<u8>) {
        self.leaf_valid(cn, Alg::Rsa, (-10 * DAY, -DAY))
    }

    fn leaf_valid(&self, cn: &str, alg: Alg, valid: (i64, i64)) -> (Vec<u8>, Vec<u8>) {
        let key = new_key(alg);
        let c = cert(&key, cn, Some((&self.ca, &self.ca_key)), false, valid);
        (key.private_key_to_pem_pkcs8().unwrap(), c.to_pem().unwrap())
    }
}

/// A UDP relay between one client and `server`, recording every byte it forwards.
pub struct Relay {
    pub addr: SocketAddr,
    server: SocketAddr,
    inject: UdpSocket,
    log: Arc<Mutex<Vec<u8>>>,
    /// Each datagram from the client, in order.
    from_client: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    pub fn start(server: SocketAddr) -> Relay {
        Relay::with_filter(server, |_, _| true)
    }

    /// A relay forwarding only the datagrams `pass(from_client, bytes)` accepts (all are
    /// recorded).
    pub fn with_filter(
        server: SocketAddr,
        mut pass: impl FnMut(bool, &[u8]) -> bool + Send + 'static,
    ) -> Relay {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let from_client = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let inject = sock.try_clone().unwrap();
        let (l, s, fc) = (log.clone(), stop.clone(), from_client.clone());
        let thread = std::thread::spawn(move || {
            let mut client: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                l.lock().unwrap().extend_from_slice(&buf[..n]);
                if !pass(from != server, &buf[..n]) {
                    continue;
                }
                let to = if from == server {
                    match client {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    client = Some(from);
                    fc.lock().unwrap().push(buf[..n].to_vec());
                    server
                };
                let _ = sock.send_to(&buf[..n], to);
            }
        });
        Relay {
            addr,
            server,
            inject,
            log,
            from_client,
            stop,
            thread: Some(thread),
        }
    }

    /// The datagrams the client sent so far.
    pub fn client_datagrams(&self) -> Vec<Vec<u8>> {
        self.from_client.lock().unwrap().clone()
    }

    /// Sends `bytes` to the server as if from the client (the relay's address).
    pub fn inject(&self, bytes: &[u8]) {
        self.inject.send_to(bytes, self.server).unwrap();
    }

    /// Everything forwarded so far, concatenated.
    pub fn recorded(&self) -> Vec<u8> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Services both hosts in turn until `pred` accepts an event of `which` (0 = a, 1 = b).
pub fn pump(
    a: &mut UdpHost,
    b: &mut UdpHost,
    limit: Duration,
    mut pred: impl FnMut(usize, &Event) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        for (i, h) in [&mut *a, &mut *b].into_iter().enumerate() {
            if let Some(ev) = h.service(Duration::from_millis(1)).unwrap() {
                if pred(i, &ev) {
                    return true;
                }
            }
        }
    }
    false
}

pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A UDP socket connected to one address, as the stream of a raw OpenSSL DTLS client.
pub struct UdpIo(pub UdpSocket);

impl std::io::Read for UdpIo {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.recv(buf)
    }
}

impl std::io::Write for UdpIo {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.send(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A DTLS 1.2 client driven by hand (OpenSSL, no ENet): it can stop half-way through a
/// handshake, to play a stalling or hostile client.
pub struct RawDtlsClient {
    pub tls: enet::dtls::openssl::ssl::SslStream<UdpIo>,
}

impl RawDtlsClient {
    pub fn new(server: SocketAddr) -> RawDtlsClient {
        use enet::dtls::openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(server).unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut b = SslContext::builder(SslMethod::dtls()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        b.set_min_proto_version(Some(SslVersion::DTLS1_2)).unwrap();
        let ctx = b.build();
        let mut ssl = Ssl::new(&ctx).unwrap();
        ssl.set_connect_state();
        let tls = enet::dtls::openssl::ssl::SslStream::new(ssl, UdpIo(sock)).unwrap();
        RawDtlsClient { tls }
    }

    /// One non-blocking handshake step; true once complete.
    pub fn step(&mut self) -> bool {
        match self.tls.do_handshake() {
            Ok(()) => true,
            Err(e) if e.code() == enet::dtls::openssl::ssl::ErrorCode::WANT_READ => false,
            Err(e) => panic!("raw client handshake: {e}"),
        }
    }

    /// Drives the handshake for `time`; true if it completed.
    pub fn drive(&mut self, time: Duration) -> bool {
        let end = Instant::now() + time;
        while Instant::now() < end {
            match self.tls.do_handshake() {
                Ok(()) => return true,
                Err(e) if e.code() == enet::dtls::openssl::ssl::ErrorCode::WANT_READ => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Err(e) => panic!("raw client handshake: {e}"),
            }
        }
        false
    }
}
