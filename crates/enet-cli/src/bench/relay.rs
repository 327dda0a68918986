//! The lossy link of workload v: a UDP relay between the load generator and the server,
//! run on two threads of the orchestrator (one per direction), that delays every datagram
//! by half the round trip and drops a seeded pattern of them.
//!
//! Whether datagram n of a direction is dropped depends only on the seed, the direction and
//! n, so both implementations meet the identical drops. One load-generator socket is
//! served: the first address that sends to the relay is where replies go.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::Link;

/// Socket buffers of the relay's sockets: generous, so that the relay itself loses nothing.
const RELAY_BUFFER: usize = 4 * 1024 * 1024;

/// A running relay; [`Relay::stop`] ends it.
pub(super) struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

/// Whether datagram `n` of direction `dir` is dropped (splitmix64 of seed, direction, n).
pub(super) fn dropped(link: &Link, dir: u64, n: u64) -> bool {
    let mut z = link
        .seed
        .wrapping_add(dir.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < link.loss
}

fn bind() -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind(("127.0.0.1", 0))?;
    let r = socket2::SockRef::from(&s);
    // Harmless if the kernel grants less.
    let _ = r.set_recv_buffer_size(RELAY_BUFFER);
    let _ = r.set_send_buffer_size(RELAY_BUFFER);
    Ok(s)
}

impl Relay {
    /// Starts relaying between a new loopback port and `server`.
    pub fn start(server: SocketAddr, link: Link) -> std::io::Result<Relay> {
        let front = bind()?;
        let back = bind()?;
        let port = front.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
        let delay = Duration::from_micros(link.rtt_ms * 500);
        let up = {
            let (rx, tx, stop, client) = (
                front.try_clone()?,
                back.try_clone()?,
                stop.clone(),
                client.clone(),
            );
            std::thread::spawn(move || {
                pump(&rx, 0, &link, delay, &stop, |from| {
                    let mut c = client.lock().unwrap_or_else(|e| e.into_inner());
                    c.get_or_insert(from);
                    drop(c);
                    Some((tx.try_clone().ok()?, server))
                })
            })
        };
        let down = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pump(&back, 1, &link, delay, &stop, |_| {
                    let to = (*client.lock().unwrap_or_else(|e| e.into_inner()))?;
                    Some((front.try_clone().ok()?, to))
                })
            })
        };
        Ok(Relay {
            port,
            stop,
            threads: vec![up, down],
        })
    }

    /// The port the load generator sends to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the relay; the datagrams it dropped (towards the server, towards the client).
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        let mut d = self.threads.into_iter().map(|t| t.join().unwrap_or(0));
        (d.next().unwrap_or(0), d.next().unwrap_or(0))
    }
}

/// Moves datagrams from `rx` to where `route(sender)` says, `delay` later, dropping the
/// seeded pattern; returns how many it dropped.
fn pump(
    rx: &UdpSocket,
    dir: u64,
    link: &Link,
    delay: Duration,
    stop: &AtomicBool,
    mut route: impl FnMut(SocketAddr) -> Option<(UdpSocket, SocketAddr)>,
) -> u64 {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut out: Option<(UdpSocket, SocketAddr)> = None;
    let mut buf = vec![0u8; 65536];
    let (mut n, mut drops) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while queue.front().is_some_and(|(due, _)| *due <= now) {
            let (_, d) = queue.pop_front().expect("front");
            if let Some((s, to)) = &out {
                let _ = s.send_to(&d, to);
            }
            spare.push(d);
        }
        let wait = queue.front().map_or(Duration::from_millis(5), |(due, _)| {
            due.saturating_duration_since(now)
        });
        let _ = rx.set_read_timeout(Some(
            wait.clamp(Duration::from_micros(50), Duration::from_millis(5)),
        ));
        match rx.recv_from(&mut buf) {
            Ok((len, from)) => {
                if out.is_none() {
                    out = route(from);
                }
                n += 1;
                if dropped(link, dir, n) {
                    drops += 1;
                    continue;
                }
                let mut d = spare.pop().unwrap_or_default();
                d.clear();
                d.extend_from_slice(&buf[..len]);
                queue.push_back((Instant::now() + delay, d));
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {}
        }
    }
    drops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_pattern_is_seeded_and_near_the_rate() {
        let link = Link {
            rtt_ms: 40,
            loss: 0.05,
            seed: 7,
        };
        let a: Vec<bool> = (0..20_000).map(|n| dropped(&link, 0, n)).collect();
        let b: Vec<bool> = (0..20_000).map(|n| dropped(&link, 0, n)).collect();
        assert_eq!(a, b, "same seed, same pattern");
        let rate = a.iter().filter(|&&d| d).count() as f64 / a.len() as f64;
        assert!((0.04..0.06).contains(&rate), "{rate}");
        let other: Vec<bool> = (0..20_000).map(|n| dropped(&link, 1, n)).collect();
        assert_ne!(a, other, "the directions differ");
        let none = Link { loss: 0.0, ..link };
        assert!((0..1000).all(|n| !dropped(&none, 0, n)));
    }

    #[test]
    fn relays_with_delay_and_drops() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let link = Link {
            rtt_ms: 40,
            loss: 0.2,
            seed: 1,
        };
        let relay = Relay::start(server.local_addr().unwrap(), link).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let expect: Vec<u64> = (1..=50).filter(|&n| !dropped(&link, 0, n)).collect();
        let t0 = Instant::now();
        for n in 1..=50u64 {
            client
                .send_to(&n.to_le_bytes(), ("127.0.0.1", relay.port()))
                .unwrap();
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let mut reply_to = None;
        while got.len() < expect.len() {
            let (len, from) = server.recv_from(&mut buf).expect("relayed datagram");
            assert_eq!(len, 8);
            got.push(u64::from_le_bytes(buf[..8].try_into().unwrap()));
            reply_to = Some(from);
        }
        assert!(
            t0.elapsed() >= Duration::from_millis(20),
            "delayed half the RTT"
        );
        assert_eq!(got, expect, "the seeded pattern, in order");
        // And back: the reply reaches the client unless the pattern drops it.
        let back_ok = !dropped(&link, 1, 1);
        server.send_to(b"pong", reply_to.unwrap()).unwrap();
        let r = client.recv_from(&mut buf);
        assert_eq!(r.is_ok(), back_ok);
        let (to_server, to_client) = relay.stop();
        assert_eq!(to_server, 50 - expect.len() as u64);
        assert_eq!(to_client, u64::from(!back_ok));
    }
}
