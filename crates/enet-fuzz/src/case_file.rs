//! The text format of a saved case: every injected datagram with its time, source and bytes
//! (hex), so a case reproduces even after the mutator changes.
//!
//! ```text
//! enet-fuzz case 1
//! seed 0123456789abcdef
//! variant plain
//! message server dropped the bystander at 1234 µs
//! inject 5000 10.0.0.3:40001 8000ffff...
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::world::{Injection, Variant};

const MAGIC: &str = "enet-fuzz case 1";
/// Longest accepted datagram in a case file (a bound on what a file can make us allocate).
const MAX_DATAGRAM: usize = 65_536;
/// Most injections accepted in a case file.
const MAX_INJECTIONS: usize = 1_000_000;

/// A case read back from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The seed it was generated from (informational).
    pub seed: u64,
    /// The engine variant.
    pub variant: Variant,
    /// The datagrams.
    pub injections: Vec<Injection>,
}

/// The file text of a case.
pub fn write(seed: u64, variant: Variant, message: &str, case: &[Injection]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MAGIC}");
    let _ = writeln!(s, "seed {seed:016x}");
    let _ = writeln!(s, "variant {}", variant.name());
    let _ = writeln!(s, "message {}", message.replace(['\n', '\r'], " "));
    for i in case {
        let _ = write!(s, "inject {} {} ", i.at_us, i.from);
        for b in &i.bytes {
            let _ = write!(s, "{b:02x}");
        }
        s.push('\n');
    }
    s
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || s.len() / 2 > MAX_DATAGRAM {
        return Err(format!("bad hex length {}", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

/// Parses a case file.
pub fn read(text: &str) -> Result<Case, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err(format!("not a case file (first line must be {MAGIC:?})"));
    }
    let mut seed = None;
    let mut variant = None;
    let mut injections = Vec::new();
    for (n, line) in lines.enumerate() {
        let n = n + 2;
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "seed" => {
                seed = Some(
                    u64::from_str_radix(rest, 16).map_err(|e| format!("line {n}: seed: {e}"))?,
                )
            }
            "variant" => {
                variant = Some(
                    Variant::from_name(rest)
                        .ok_or_else(|| format!("line {n}: unknown variant {rest:?}"))?,
                )
            }
            "message" | "" => {}
            "inject" => {
                if injections.len() >= MAX_INJECTIONS {
                    return Err(format!("more than {MAX_INJECTIONS} injections"));
                }
                let mut f = rest.split(' ');
                let (Some(t), Some(a), b) = (f.next(), f.next(), f.next().unwrap_or("")) else {
                    return Err(format!("line {n}: inject needs time, address, bytes"));
                };
                let at_us = t.parse().map_err(|e| format!("line {n}: time: {e}"))?;
                let from: SocketAddr = a.parse().map_err(|e| format!("line {n}: address: {e}"))?;
                let bytes = hex(b).map_err(|e| format!("line {n}: {e}"))?;
                injections.push(Injection { at_us, from, bytes });
            }
            other => return Err(format!("line {n}: unknown key {other:?}")),
        }
    }
    let mut case = Case {
        seed: seed.ok_or("no seed line")?,
        variant: variant.ok_or("no variant line")?,
        injections,
    };
    case.injections.sort_by_key(|i| i.at_us);
    Ok(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files() {
        let inj = vec![
            Injection {
                at_us: 5,
                from: "10.0.0.3:40001".parse().unwrap(),
                bytes: vec![0, 1, 0xff],
            },
            Injection {
                at_us: 9,
                from: "[::1]:0".parse().unwrap(),
                bytes: vec![],
            },
        ];
        let text = write(0xabc, Variant::RangeCoder, "two\nlines", &inj);
        let c = read(&text).unwrap();
        assert_eq!(
            c,
            Case {
                seed: 0xabc,
                variant: Variant::RangeCoder,
                injections: inj
            }
        );
        for bad in [
            "",
            "nope",
            "enet-fuzz case 1\nvariant plain",
            "enet-fuzz case 1\nseed 1",
            "enet-fuzz case 1\nseed 1\nvariant x",
            "enet-fuzz case 1\nseed 1\nvariant plain\ninject 1 nope 00",
            "enet-fuzz case 1\nseed 1\nvariant plain\ninject 1 1.2.3.4:5 0",
            "enet-fuzz case 1\nseed 1\nvariant plain\ninject 1 1.2.3.4:5 zz",
            "enet-fuzz case 1\nseed 1\nvariant plain\nwhat 1",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }
}
