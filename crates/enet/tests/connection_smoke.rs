use std::time::{Duration, Instant};

use enet::{EnetConnection, EventType, PeerHandle, FLAG_RELIABLE};

fn pump(
    a: &mut EnetConnection,
    b: &mut EnetConnection,
    limit: Duration,
    mut f: impl FnMut(usize, &mut EnetConnection, enet::ServiceEvent) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        for (i, c) in [&mut *a, &mut *b].into_iter().enumerate() {
            let ev = c.service(Duration::from_millis(1)).unwrap();
            if ev.kind != EventType::None && f(i, c, ev) {
                return true;
            }
        }
    }
    false
}

#[test]
fn connect_send_receive() {
    let mut server = EnetConnection::new();
    server
        .create_host_bound("127.0.0.1", 0, 32, 0, 0, 0)
        .unwrap();
    let port = server.get_local_port().unwrap();
    let mut client = EnetConnection::new();
    client.create_host(1, 0, 0, 0).unwrap();
    let cpeer = client.connect_to_host("127.0.0.1", port, 3, 1234).unwrap();
    let mut speer: Option<PeerHandle> = None;
    let mut up = 0;
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(5),
        |i, _, ev| {
            assert_eq!(ev.kind, EventType::Connect);
            if i == 0 {
                assert_eq!(ev.data, 1234);
                speer = ev.peer;
            }
            up += 1;
            up == 2
        }
    ));
    assert_eq!(client.peer(cpeer).get_channels().unwrap(), 3);
    client.peer(cpeer).send(2, b"hello", FLAG_RELIABLE).unwrap();
    assert!(pump(
        &mut server,
        &mut client,
        Duration::from_secs(5),
        |i, c, ev| {
            assert_eq!((i, ev.kind, ev.channel), (0, EventType::Receive, 2));
            let mut p = c.peer(ev.peer.unwrap());
            assert_eq!(p.get_packet_flags().unwrap(), FLAG_RELIABLE);
            assert_eq!(&p.get_packet().unwrap()[..], b"hello");
            true
        }
    ));
    assert_eq!(server.get_peers(), vec![speer.unwrap()]);
}
