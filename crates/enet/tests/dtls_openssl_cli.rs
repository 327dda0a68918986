//! Interop at the DTLS layer with an independent implementation, OpenSSL's command line
//! (feature `dtls`): our client completes a handshake with `openssl s_server -dtls1_2`
//! (verifying its certificate), and our server accepts `openssl s_client -dtls1_2`, with RSA
//! and ECDSA certificates; application data crosses both ways. The `openssl` program must
//! be installed (CI installs it); without it the tests skip, unless
//! `ENET_REQUIRE_REFERENCES=1`.
#![cfg(feature = "dtls")]

mod dtls_support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dtls_support::*;
use enet::dtls::TlsOptions;
use enet::udp::UdpHost;
use enet::HostConfig;

fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("ENET_REQUIRE_REFERENCES").is_none(),
            "the openssl program is required (ENET_REQUIRE_REFERENCES=1)"
        );
        eprintln!("openssl program not found: skipping");
    }
    ok
}

/// A fresh directory with the PKI's files: ca.pem, key.pem, cert.pem.
fn files(pki: &Pki, alg: Alg) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("enet-dtls-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, cert) = pki.leaf("localhost", alg);
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    dir
}

/// A child process killed (and reaped) when dropped, with its output collected.
struct Proc {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let o = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    let mut o = o.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Proc { child, out }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn wait_for(&self, text: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.output().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn our_client_against_s_server(alg: Alg) {
    if !have_openssl() {
        return;
    }
    let pki = Pki::new();
    let dir = files(&pki, alg);
    let port = free_udp_port();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let mut server = Proc::spawn(&[
        "s_server",
        "-dtls1_2",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &p("cert.pem"),
        "-key",
        &p("key.pem"),
    ]);
    assert!(
        server.wait_for("ACCEPT", Duration::from_secs(20)),
        "s_server did not start: {}",
        server.output()
    );
    let mut client = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    client
        .connect(format!("127.0.0.1:{port}").parse().unwrap(), 1, 0)
        .unwrap();
    client
        .dtls_client_setup(
            "localhost",
            TlsOptions::client(Some(&pki.ca_pem()), None).unwrap(),
        )
        .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && client.dtls_stats().unwrap().handshakes_completed == 0 {
        client.service(Duration::from_millis(5)).unwrap();
        assert!(
            client.dtls_last_error().is_none(),
            "{:?}",
            client.dtls_last_error()
        );
    }
    let st = client.dtls_stats().unwrap();
    assert_eq!(st.handshakes_completed, 1, "{st:?}\n{}", server.output());
    // ENet's CONNECT (retransmitted) reaches s_server as application data, and a line
    // typed into s_server comes back decrypted (ENet then drops it as malformed).
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && client.dtls_stats().unwrap().records_sent == 0 {
        client.service(Duration::from_millis(20)).unwrap();
    }
    server.send_line("hello from s_server");
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && client.dtls_stats().unwrap().records_received == 0 {
        client.service(Duration::from_millis(5)).unwrap();
    }
    let st = client.dtls_stats().unwrap();
    assert!(st.records_sent >= 1 && st.records_received >= 1, "{st:?}");
    assert_eq!(st.failures, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn s_client_against_our_server(alg: Alg) {
    if !have_openssl() {
        return;
    }
    let pki = Pki::new();
    let dir = files(&pki, alg);
    let (key, cert) = (
        std::fs::read(dir.join("key.pem")).unwrap(),
        std::fs::read(dir.join("cert.pem")).unwrap(),
    );
    let mut server = UdpHost::bind(localhost(), HostConfig::default()).unwrap();
    server
        .dtls_server_setup(TlsOptions::server(&key, &cert).unwrap())
        .unwrap();
    let port = server.local_addr().port();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let mut client = Proc::spawn(&[
        "s_client",
        "-dtls1_2",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-CAfile",
        &p("ca.pem"),
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
    ]);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && server.dtls_stats().unwrap().handshakes_completed == 0 {
        server.service(Duration::from_millis(5)).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    assert_eq!(st.handshakes_completed, 1, "{st:?}\n{}", client.output());
    assert!(st.cookies_sent >= 1, "the cookie exchange ran: {st:?}");
    // s_client reports a verified DTLS 1.2 session.
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && !client.output().contains("Verify return code: 0 (ok)") {
        server.service(Duration::from_millis(5)).unwrap();
    }
    let out = client.output();
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("DTLSv1.2"), "{out}");
    client.send_line("hello from s_client");
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && server.dtls_stats().unwrap().records_received == 0 {
        server.service(Duration::from_millis(5)).unwrap();
    }
    let st = server.dtls_stats().unwrap();
    assert!(st.records_received >= 1, "{st:?}");
    assert_eq!((st.sessions, st.failures), (1, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn our_client_completes_a_handshake_with_s_server_rsa() {
    our_client_against_s_server(Alg::Rsa);
}

#[test]
fn our_client_completes_a_handshake_with_s_server_ecdsa() {
    our_client_against_s_server(Alg::Ecdsa);
}

#[test]
fn our_server_accepts_s_client_rsa() {
    s_client_against_our_server(Alg::Rsa);
}

#[test]
fn our_server_accepts_s_client_ecdsa() {
    s_client_against_our_server(Alg::Ecdsa);
}
