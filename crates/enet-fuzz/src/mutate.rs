//! Turning a recorded exchange into a fuzz case: man-in-the-middle mutations of the
//! recorded client's datagrams (flipped bits, interesting values, truncation, splices of
//! other datagrams, duplicates, drops, delays, replays) and spoofed datagrams from other
//! addresses (unanswerable ones such as port 0, broadcast and multicast included).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use enet_proto::sim::SimRng;

use crate::world::{Injection, Recording, BYSTANDER, CLIENT, END_US, SERVER};

/// Largest datagram a mutation produces (the UDP driver drops longer ones before the engine
/// sees them).
const MAX_LEN: usize = 4096;

const INTERESTING_8: [u8; 8] = [0, 1, 0x0F, 0x7F, 0x80, 0xC0, 0xFE, 0xFF];
const INTERESTING_16: [u16; 9] = [0, 1, 0x00FF, 0x0FFF, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 4096];
const INTERESTING_32: [u32; 8] = [
    0,
    1,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x0100_0000,
    0x0200_0000,
    65536,
];

fn pick<T: Copy>(rng: &mut SimRng, xs: &[T]) -> T {
    xs[rng.range_u64(0, xs.len() as u64) as usize]
}

fn index(rng: &mut SimRng, len: usize) -> usize {
    rng.range_u64(0, len.max(1) as u64) as usize
}

/// A random source address other than the bystander's and the server's.
fn spoofed_source(rng: &mut SimRng) -> SocketAddr {
    let port = rng.range_u64(0, 65536) as u16;
    let addr = match rng.range_u64(0, 10) {
        0 => SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 0),
        1 => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        2 => SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), port),
        3 => SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), port),
        4 => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        5 => CLIENT,
        6 => SocketAddr::new(CLIENT.ip(), port),
        // Same host as the bystander, another port.
        7 => SocketAddr::new(BYSTANDER.ip(), port),
        _ => SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 1, rng.range_u64(1, 255) as u8)),
            port,
        ),
    };
    if addr == BYSTANDER || addr == SERVER {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)), port)
    } else {
        addr
    }
}

/// Material for splices: a recorded datagram from either direction.
fn material<'a>(rng: &mut SimRng, rec: &'a Recording) -> &'a [u8] {
    let n = rec.to_server.len() + rec.to_client.len();
    let i = index(rng, n);
    if i < rec.to_server.len() {
        &rec.to_server[i].bytes
    } else {
        &rec.to_client[i - rec.to_server.len()]
    }
}

/// Applies 1..=4 byte-level mutations to `d`.
fn mutate_bytes(rng: &mut SimRng, rec: &Recording, d: &mut Vec<u8>) {
    let rounds = 1 + rng.range_u64(0, 4);
    for _ in 0..rounds {
        match rng.range_u64(0, 11) {
            0 if !d.is_empty() => {
                let i = index(rng, d.len());
                d[i] ^= 1 << rng.range_u64(0, 8);
            }
            1 if !d.is_empty() => {
                let i = index(rng, d.len());
                d[i] = pick(rng, &INTERESTING_8);
            }
            2 if d.len() >= 2 => {
                let i = index(rng, d.len() - 1);
                let v = pick(rng, &INTERESTING_16);
                let b = if rng.chance(0.5) {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                d[i..i + 2].copy_from_slice(&b);
            }
            3 if d.len() >= 4 => {
                let i = index(rng, d.len() - 3);
                let v = pick(rng, &INTERESTING_32);
                d[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            4 => {
                let n = index(rng, d.len() + 1);
                d.truncate(n);
            }
            5 => {
                let n = 1 + index(rng, 64);
                for _ in 0..n {
                    d.push(rng.next_u64() as u8);
                }
            }
            6 => {
                // Splice a piece of another datagram in (commands from elsewhere).
                let m = material(rng, rec);
                if !m.is_empty() {
                    let a = index(rng, m.len());
                    let b = a + 1 + index(rng, m.len() - a);
                    let at = index(rng, d.len() + 1);
                    let piece = m[a..b].to_vec();
                    d.splice(at..at, piece);
                }
            }
            7 if d.len() > 4 => {
                // Repeat the commands (everything after a 4-byte header) several times.
                let tail = d[4.min(d.len())..].to_vec();
                for _ in 0..1 + index(rng, 16) {
                    d.extend_from_slice(&tail);
                }
            }
            8 if d.len() >= 2 => {
                // Header: peer id, session bits and flags.
                let i = index(rng, 2);
                d[i] = rng.next_u64() as u8;
            }
            9 if d.len() > 2 => {
                // Delete a range.
                let a = index(rng, d.len());
                let b = a + 1 + index(rng, (d.len() - a).min(32));
                d.drain(a..b.min(d.len()));
            }
            _ => {
                // Replace the whole datagram by another one.
                *d = material(rng, rec).to_vec();
            }
        }
    }
    d.truncate(MAX_LEN);
}

/// Builds the injections of case `seed` from a recording: the recorded client's datagrams
/// with man-in-the-middle mutations, plus spoofed datagrams from other addresses.
pub fn make_case(rec: &Recording, seed: u64) -> Vec<Injection> {
    let mut rng = SimRng::new(seed);
    let mut out: Vec<Injection> = Vec::with_capacity(rec.to_server.len() + 16);
    // How hard this case hits: most cases mutate a few datagrams so the session gets deep.
    let p_mutate = pick(&mut rng, &[0.02, 0.05, 0.1, 0.3, 1.0]);
    for inj in &rec.to_server {
        let mut d = inj.clone();
        if !rng.chance(p_mutate) {
            out.push(d);
            continue;
        }
        match rng.range_u64(0, 10) {
            0 => continue, // dropped
            1 => {
                // Duplicated, the copy later.
                let mut dup = d.clone();
                dup.at_us += rng.range_u64(0, 200_000);
                out.push(dup);
                out.push(d);
            }
            2 => {
                // Delayed (reordered).
                d.at_us += rng.range_u64(1, 300_000);
                out.push(d);
            }
            _ => {
                mutate_bytes(&mut rng, rec, &mut d.bytes);
                out.push(d);
            }
        }
    }
    // Spoofed datagrams.
    let spoofs = match rng.range_u64(0, 4) {
        0 => 0,
        1 => 1 + rng.range_u64(0, 4),
        2 => 1 + rng.range_u64(0, 16),
        _ => 1 + rng.range_u64(0, 48),
    };
    let flood_connects = rng.chance(0.2);
    let first_connect = rec.to_server.first().map(|i| i.bytes.clone());
    for _ in 0..spoofs {
        let at_us = rng.range_u64(0, END_US - 400_000);
        let from = spoofed_source(&mut rng);
        let bytes = match (flood_connects, &first_connect) {
            (true, Some(c)) if rng.chance(0.8) => c.clone(),
            _ => match rng.range_u64(0, 3) {
                0 => {
                    let n = index(&mut rng, 64);
                    (0..n).map(|_| rng.next_u64() as u8).collect()
                }
                1 => material(&mut rng, rec).to_vec(),
                _ => {
                    let mut d = material(&mut rng, rec).to_vec();
                    mutate_bytes(&mut rng, rec, &mut d);
                    d
                }
            },
        };
        out.push(Injection { at_us, from, bytes });
    }
    out.sort_by_key(|i| i.at_us);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{record, Variant};

    #[test]
    fn cases_are_deterministic_and_bounded() {
        let rec = record(Variant::Plain).unwrap();
        for seed in 0..200 {
            let a = make_case(&rec, seed);
            assert_eq!(a, make_case(&rec, seed));
            assert!(a.iter().all(|i| i.bytes.len() <= MAX_LEN));
            assert!(a.iter().all(|i| i.from != BYSTANDER && i.from != SERVER));
            assert!(a.windows(2).all(|w| w[0].at_us <= w[1].at_us));
        }
        assert_ne!(make_case(&rec, 1), make_case(&rec, 2));
    }
}
