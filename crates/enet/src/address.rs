//! Address parsing and normalisation the way Godot does it.
//!
//! * `"*"` is the wildcard: bind to every IPv4 and IPv6 address on one dual-stack socket.
//! * A string containing `:` is an IPv6 literal, one made of four dot-separated parts an IPv4
//!   literal; anything else is a host name, resolved (IPv4 or IPv6, first result).
//! * An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) and its IPv4 form are the same peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::error::{Error, Invalid, Result};

/// A bind address: every interface, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindAddress {
    /// `"*"`: all IPv4 and IPv6 interfaces (one dual-stack socket where the OS allows).
    Any,
    /// One address.
    Ip(IpAddr),
}

impl BindAddress {
    /// Parses Godot's bind address syntax: `"*"` or an IP literal (no host names).
    pub fn parse(s: &str) -> Result<BindAddress> {
        if s == "*" {
            return Ok(BindAddress::Any);
        }
        parse_ip_literal(s)
            .map(BindAddress::Ip)
            .ok_or_else(|| Error::InvalidParameter(Invalid::BindAddress(s.to_string())))
    }
}

/// Parses an IP literal (IPv4 dotted quad or IPv6), or returns `None`.
pub fn parse_ip_literal(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else if s.split('.').count() == 4 {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    } else {
        None
    }
}

/// Resolves an IP literal or host name with a port (1..=65535) to a socket address.
///
/// `prefer_v4` picks an IPv4 result first when both families resolve (useful when the local
/// socket is IPv4-only).
pub fn resolve(host: &str, port: u16, prefer_v4: bool) -> Result<SocketAddr> {
    if port == 0 {
        return Err(Error::InvalidParameter(Invalid::PortZero));
    }
    if let Some(ip) = parse_ip_literal(host) {
        return Ok(normalize(SocketAddr::new(ip, port)));
    }
    if host.is_empty() {
        return Err(Error::CantResolve(host.to_string()));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| Error::CantResolve(host.to_string()))?
        .map(normalize)
        .collect();
    let pick = if prefer_v4 {
        addrs.iter().find(|a| a.is_ipv4()).or(addrs.first())
    } else {
        addrs.first()
    };
    pick.copied()
        .ok_or_else(|| Error::CantResolve(host.to_string()))
}

/// Maps an IPv4-mapped IPv6 address to its IPv4 form; other addresses are returned as is.
pub fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

/// Godot's string form of an address: IPv4 (and IPv4-mapped) as a dotted quad, IPv6 as
/// eight lowercase hex groups without zero compression.
pub fn godot_ip_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6
                .segments()
                .iter()
                .map(|s| format!("{s:x}"))
                .collect::<Vec<_>>()
                .join(":"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_godot() {
        assert_eq!(BindAddress::parse("*").unwrap(), BindAddress::Any);
        assert_eq!(
            BindAddress::parse("127.0.0.1").unwrap(),
            BindAddress::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            BindAddress::parse("::1").unwrap(),
            BindAddress::Ip("::1".parse().unwrap())
        );
        assert!(BindAddress::parse("localhost").is_err());
        assert!(BindAddress::parse("1.2.3").is_err());
        assert!(BindAddress::parse("300.1.1.1").is_err());
        assert_eq!(
            BindAddress::parse("x").unwrap_err().godot_code(),
            crate::GodotError::InvalidParameter.code()
        );
    }

    #[test]
    fn mapped_ipv4_is_the_same_peer() {
        let mapped: SocketAddr = "[::ffff:10.1.2.3]:99".parse().unwrap();
        assert_eq!(normalize(mapped), "10.1.2.3:99".parse().unwrap());
        let v6: SocketAddr = "[::1]:5".parse().unwrap();
        assert_eq!(normalize(v6), v6);
    }

    #[test]
    fn resolves_literals_and_localhost() {
        assert_eq!(
            resolve("127.0.0.1", 7, false).unwrap(),
            "127.0.0.1:7".parse().unwrap()
        );
        assert_eq!(
            resolve("::1", 7, false).unwrap(),
            "[::1]:7".parse().unwrap()
        );
        let l = resolve("localhost", 9, true).unwrap();
        assert!(l.ip().is_loopback());
        assert!(matches!(
            resolve("127.0.0.1", 0, false),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(
            resolve("no-such-host.invalid", 80, false),
            Err(Error::CantResolve(_))
        ));
    }

    #[test]
    fn godot_strings() {
        assert_eq!(godot_ip_string("::1".parse().unwrap()), "0:0:0:0:0:0:0:1");
        assert_eq!(
            godot_ip_string("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4"
        );
        assert_eq!(godot_ip_string("8.8.4.4".parse().unwrap()), "8.8.4.4");
    }
}
