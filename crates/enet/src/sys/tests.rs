//! Tests of the batched system calls over loopback: address conversion, how GSO groups
//! waiting datagrams into messages, that a GSO message reaches a plain socket as separate
//! datagrams and a GRO socket as one message that splits back into them, and the fallback
//! when the kernel refuses GSO.

use super::*;
use std::time::{Duration, Instant};

#[test]
fn sockaddr_round_trip() {
    for s in [
        "127.0.0.1:9000",
        "10.1.2.3:4",
        "[::1]:5",
        "[::ffff:127.0.0.1]:65535",
        "[fe80::1%3]:77",
    ] {
        let a: SocketAddr = s.parse().unwrap();
        let mut ss = zeroed_storage();
        let len = from_std(a, &mut ss);
        assert_eq!(to_std(&ss, len), Some(a), "{s}");
    }
    assert_eq!(to_std(&zeroed_storage(), 0), None);
}

/// Datagram `k` of a test burst: `len` bytes that tell `k` and their position apart.
fn datagram(k: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (k * 31 + j * 7) as u8).collect()
}

fn push(tx: &mut SendBatch, to: SocketAddr, bytes: &[u8]) {
    let buf = tx.next_buf();
    buf.clear();
    buf.extend_from_slice(bytes);
    tx.push(to);
}

#[test]
fn runs_group_equal_sizes_to_one_destination() {
    let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:1001".parse().unwrap();
    let mut tx = SendBatch::new(2048, true);
    // a:100 a:100 a:60 | a:100 | b:100 b:100 | a:100 a:120 | a:120 | a:0
    for (to, len) in [
        (a, 100),
        (a, 100),
        (a, 60),
        (a, 100),
        (b, 100),
        (b, 100),
        (a, 100),
        (a, 120),
        (a, 0),
    ] {
        push(&mut tx, to, &datagram(0, len));
    }
    let end = tx.len;
    let mut runs = Vec::new();
    let mut i = 0;
    while i < end {
        let r = tx.run_len(i, end);
        runs.push(r);
        i += r;
    }
    // A shorter datagram ends its run, a longer one or another destination starts a new
    // one, and an empty one is never part of a run.
    assert_eq!(runs, [3, 1, 2, 1, 1, 1]);

    // The limits: at most GSO_MAX_SEGMENTS datagrams and GSO_MAX_BYTES per message.
    let mut tx = SendBatch::new(4096, true);
    for _ in 0..BATCH {
        push(&mut tx, a, &datagram(0, 4000));
    }
    assert_eq!(tx.run_len(0, BATCH), GSO_MAX_BYTES / 4000);
    let mut tx = SendBatch::new(16, true);
    for _ in 0..BATCH {
        push(&mut tx, a, &[1]);
    }
    assert_eq!(tx.run_len(0, BATCH), BATCH.min(GSO_MAX_SEGMENTS));
}

#[test]
fn datagrams_of_a_message() {
    let data: Vec<u8> = (0..250u8).collect();
    let msg = |len: usize, segment_size: usize, truncated: bool| Message {
        data: &data[..len],
        from: None,
        truncated,
        segment_size,
    };
    let split: Vec<_> = msg(250, 100, false).datagrams().collect();
    assert_eq!(
        split,
        [
            (&data[..100], false),
            (&data[100..200], false),
            (&data[200..250], false)
        ]
    );
    assert!(msg(250, 100, false).is_coalesced());
    // One datagram (no segment size, or no longer than it) stays whole.
    assert_eq!(
        msg(250, 0, false).datagrams().collect::<Vec<_>>(),
        [(&data[..], false)]
    );
    assert!(!msg(100, 100, false).is_coalesced());
    assert_eq!(msg(100, 100, false).datagrams().count(), 1);
    // An empty datagram counts as one; a truncated message flags its last piece.
    assert_eq!(
        msg(0, 0, false).datagrams().collect::<Vec<_>>(),
        [(&data[..0], false)]
    );
    let cut: Vec<_> = msg(200, 100, true).datagrams().map(|d| d.1).collect();
    assert_eq!(cut, [false, true]);
}

/// Sends `lens` datagrams (numbered by position) to `to` through `tx` until all are taken.
fn send_all(tx: &mut SendBatch, socket: &UdpSocket, to: SocketAddr, lens: &[usize]) {
    for (k, &len) in lens.iter().enumerate() {
        push(tx, to, &datagram(k, len));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while tx.has_pending() {
        match tx.send(socket, usize::MAX) {
            Ok(n) => tx.advance(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("send failed: {e}"),
        }
    }
}

fn bound() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// A burst that makes runs: 20 × 1200 B, one of 700 B, 9 × 1200 B, 2 × 64 B.
fn burst() -> Vec<usize> {
    let mut lens = vec![1200; 20];
    lens.push(700);
    lens.extend([1200; 9]);
    lens.extend([64, 64]);
    lens
}

#[test]
fn a_gso_message_reaches_a_plain_socket_as_separate_datagrams() {
    let (sender, receiver) = (bound(), bound());
    let lens = burst();
    let mut tx = SendBatch::new(2048, true);
    send_all(&mut tx, &sender, receiver.local_addr().unwrap(), &lens);
    // Two runs of several datagrams (20 × 1200 + 700, 9 × 1200 + 64), then a lone 64.
    assert_eq!(tx.take_gso_counts(), (2, 0));
    assert!(tx.gso());
    let mut buf = [0u8; 4096];
    for (k, &len) in lens.iter().enumerate() {
        let (n, from) = receiver
            .recv_from(&mut buf)
            .expect("every datagram arrives");
        assert_eq!(from, sender.local_addr().unwrap());
        assert_eq!(&buf[..n], &datagram(k, len)[..], "datagram {k}");
    }
    receiver.set_nonblocking(true).unwrap();
    assert!(receiver.recv_from(&mut buf).is_err(), "nothing more");
}

#[test]
fn a_gro_receive_splits_into_the_sent_datagrams() {
    let (sender, receiver) = (bound(), bound());
    set_gro(&receiver, true).expect("UDP_GRO (Linux 5.0+)");
    let lens = burst();
    let mut tx = SendBatch::new(2048, true);
    send_all(&mut tx, &sender, receiver.local_addr().unwrap(), &lens);
    let mut rx = RecvBatch::with_gro();
    let mut got = Vec::new();
    let mut coalesced = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < lens.len() {
        assert!(Instant::now() < deadline, "only {} datagrams", got.len());
        let n = match rx.recv(&receiver, BATCH) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{e}"),
        };
        for i in 0..n {
            let m = rx.get(i);
            assert_eq!(m.from, Some(sender.local_addr().unwrap()));
            coalesced += usize::from(m.is_coalesced());
            for (d, truncated) in m.datagrams() {
                assert!(!truncated);
                got.push(d.to_vec());
            }
        }
    }
    let want: Vec<_> = lens
        .iter()
        .enumerate()
        .map(|(k, &l)| datagram(k, l))
        .collect();
    assert_eq!(got, want);
    // On loopback the GSO messages arrive as they were sent.
    assert!(coalesced >= 1, "no coalesced message");
}

#[test]
fn refused_gso_falls_back_to_single_datagrams_for_good() {
    // EIO: a device without checksum offload: GSO goes off for every destination.
    refused_gso_falls_back(libc::EIO);
    let mut tx = SendBatch::new(2048, true);
    tx.fail_gso = Some(libc::EIO);
    let (sender, receiver) = (bound(), bound());
    send_all(&mut tx, &sender, receiver.local_addr().unwrap(), &[500; 4]);
    assert!(!tx.gso(), "GSO off after the device refused it");
}

#[test]
fn a_path_that_refuses_gso_for_its_mtu_loses_it_alone() {
    // EMSGSIZE: a segment above this path's MTU (which a single datagram of that size
    // crosses, fragmented): that destination's runs leave singly from now on, others keep
    // GSO.
    refused_gso_falls_back(libc::EMSGSIZE);
    let (sender, receiver, other) = (bound(), bound(), bound());
    let to = receiver.local_addr().unwrap();
    let mut tx = SendBatch::new(2048, true);
    tx.fail_gso = Some(libc::EMSGSIZE);
    send_all(&mut tx, &sender, to, &[500; 10]);
    assert_eq!(tx.take_gso_counts(), (0, 1));
    tx.fail_gso = None;
    send_all(&mut tx, &sender, other.local_addr().unwrap(), &[500; 10]);
    assert_eq!(tx.take_gso_counts(), (1, 0), "another path keeps GSO");
    send_all(&mut tx, &sender, to, &[500; 10]);
    assert_eq!(
        tx.take_gso_counts(),
        (0, 0),
        "the refusing path sends singly"
    );
    // Beyond GSO_REFUSED_PATHS refusing paths, GSO goes off for all.
    let mut tx = SendBatch::new(2048, true);
    tx.fail_gso = Some(libc::EMSGSIZE);
    let receivers: Vec<UdpSocket> = (0..=GSO_REFUSED_PATHS).map(|_| bound()).collect();
    for (k, r) in receivers.iter().enumerate() {
        assert!(tx.gso(), "GSO on after {k} refusing paths");
        send_all(&mut tx, &sender, r.local_addr().unwrap(), &[500; 4]);
    }
    assert!(
        !tx.gso(),
        "GSO off after {} refusing paths",
        GSO_REFUSED_PATHS + 1
    );
}

fn refused_gso_falls_back(errno: i32) {
    let (sender, receiver) = (bound(), bound());
    let to = receiver.local_addr().unwrap();
    let mut tx = SendBatch::new(2048, true);
    tx.fail_gso = Some(errno);
    let lens = [500; 10];
    send_all(&mut tx, &sender, to, &lens);
    assert_eq!(tx.take_gso_counts(), (0, 1));
    send_all(&mut tx, &sender, to, &lens);
    assert_eq!(tx.take_gso_counts(), (0, 0));
    let mut buf = [0u8; 4096];
    for round in 0..2 {
        for (k, &len) in lens.iter().enumerate() {
            let n = receiver.recv(&mut buf).expect("no datagram lost");
            assert_eq!(&buf[..n], &datagram(k, len)[..], "round {round}, {k}");
        }
    }
}
