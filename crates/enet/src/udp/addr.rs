//! Address helpers of the driver: IPv4-mapped IPv6 addresses normalised to IPv4 on the way
//! in and IPv4 destinations mapped back on the way out of an IPv6 socket, and the creation
//! of the socket itself (dual stack, large buffers).

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// Maps an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to its IPv4 form; other addresses
/// are returned unchanged.
pub fn normalize_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// Socket buffer size requested for both directions (the C library asks for 256 KiB; we ask
/// for more so that bursts from many peers are not dropped by the kernel).
pub const SOCKET_BUFFER_SIZE: usize = 1 << 20;

/// Opens the UDP socket: dual-stack for the IPv6 wildcard, `buffer_size` buffers where the
/// OS allows (failures to enlarge them are ignored, as in C).
pub(super) fn open_socket(addr: SocketAddr, buffer_size: usize) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // "::" serves IPv4 too; harmless for a specific IPv6 address.
        let _ = socket.set_only_v6(false);
    }
    let _ = socket.set_recv_buffer_size(buffer_size);
    let _ = socket.set_send_buffer_size(buffer_size);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The address to hand the socket for destination `to`: IPv4 destinations are given in
/// IPv4-mapped form when the socket is IPv6 (`v6_socket`).
pub(super) fn socket_dest(to: SocketAddr, v6_socket: bool) -> SocketAddr {
    match to {
        SocketAddr::V4(v4) if v6_socket => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        other => other,
    }
}
