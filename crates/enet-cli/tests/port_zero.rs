//! Issue 8: one spoofed CONNECT from UDP port 0 used to stop `enet serve` (the reply to
//! 127.0.0.1:0 failed with EINVAL and the server exited). Now the server stays up and a
//! legitimate client exchanges its echoes while the spoofs keep coming. Needs root for the
//! raw socket; otherwise the test says so and covers nothing here (the library tests cover
//! the send-error path through the send-error hook).

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{enet, summary, Serve};

/// A CONNECT datagram as a real client would send it to `to`.
fn connect_datagram(to: SocketAddr) -> Vec<u8> {
    let now = Instant::now();
    let mut h = enet_proto::Host::new(enet_proto::HostConfig::default(), now).unwrap();
    h.connect(now, to, 4, 12345).unwrap();
    let mut buf = Vec::new();
    h.poll_transmit(now, &mut buf).unwrap();
    buf
}

/// Sends `payload` to `to` from 127.0.0.1 UDP port 0 over a raw IPv4 socket.
fn send_from_port_zero(to: SocketAddr, payload: &[u8]) -> std::io::Result<()> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::UDP))?;
    raw.set_header_included_v4(true)?;
    let total = 28 + payload.len();
    let mut pkt = vec![0x45, 0];
    pkt.extend_from_slice(&(total as u16).to_be_bytes());
    pkt.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    pkt.extend_from_slice(&Ipv4Addr::LOCALHOST.octets());
    pkt.extend_from_slice(&Ipv4Addr::LOCALHOST.octets());
    pkt.extend_from_slice(&[0, 0]);
    pkt.extend_from_slice(&to.port().to_be_bytes());
    pkt.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    pkt.extend_from_slice(&[0, 0]);
    pkt.extend_from_slice(payload);
    raw.send_to(&pkt, &SockAddr::from(to))?;
    Ok(())
}

fn server_survives(extra: &[&str]) {
    let mut serve = Serve::start(extra);
    let to = serve.addr;
    let connect = connect_datagram(to);
    if let Err(e) = send_from_port_zero(to, &connect) {
        eprintln!("raw sockets unavailable ({e}): port-0 spoof against `enet serve` not run");
        return;
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(serve.alive(), "serve {extra:?} died");
    // More spoofs while a legitimate client exchanges 40 echoes.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let spoofer = std::thread::spawn(move || {
        let mut sent = 1;
        while !s.load(Ordering::Relaxed) {
            send_from_port_zero(to, &connect).unwrap();
            sent += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        sent
    });
    let out = enet()
        .args(["connect", &to.to_string(), "--send", "40", "--size", "32"])
        .args(["--mode", "reliable", "--expect-echo", "--json"])
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let spoofs = spoofer.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{extra:?}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary(&stdout);
    assert_eq!(summary["matched"], 40, "{extra:?}: {summary}");
    assert!(serve.alive(), "serve {extra:?} died");
    eprintln!("serve {extra:?}: up after {spoofs} CONNECTs from port 0; 40/40 echoes");
}

#[test]
fn a_connect_from_port_zero_does_not_stop_enet_serve() {
    server_survives(&["--raw"]);
    server_survives(&["--echo"]);
}
