//! Shared helpers: address parsing, output (text or JSON lines), signals, payloads.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use enet_multiplayer::TransferMode;

/// A CLI error: one line on stderr and exit code 1.
pub type CliResult = Result<i32, String>;

/// Exit code of a usage error (as clap's).
pub const USAGE_EXIT: i32 = 2;

/// Reports a usage error that only the combination of arguments reveals: one line on
/// stderr and exit code 2, like the value parsers' errors.
pub fn usage_error(msg: &str) -> CliResult {
    eprintln!("enet: {msg} (try --help)");
    Ok(USAGE_EXIT)
}

// Value parsers for clap (`#[arg(value_parser = ...)]`). Each one rejects anything outside
// its inclusive range, non-numbers, NaN, infinities and empty strings with a message that
// names the range; clap turns that into a usage error (exit code 2).

/// A finite number in `lo..=hi`, `what` naming the unit in the error message.
pub fn number_in(
    lo: f64,
    hi: f64,
    what: &'static str,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let bad = || format!("expected {what} in {lo}..={hi}");
        let v: f64 = s.trim().parse().map_err(|_| bad())?;
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(bad())
        }
    }
}

/// A duration in seconds, finite, in `lo..=hi`.
pub fn seconds(
    lo: f64,
    hi: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    number_in(lo, hi, "seconds")
}

/// A whole number in `lo..=hi` of any integer type that holds that range.
pub fn count<T>(
    lo: u64,
    hi: u64,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    move |s: &str| {
        let bad = || format!("expected a whole number in {lo}..={hi}");
        let v: u64 = s.trim().parse().map_err(|_| bad())?;
        if (lo..=hi).contains(&v) {
            T::try_from(v).map_err(|_| bad())
        } else {
            Err(bad())
        }
    }
}

/// Splits `HOST:PORT` (IPv6 in brackets: `[::1]:7777`) into host and port.
pub fn split_host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("bad address {s:?}: expected [IPv6]:PORT"))?;
        (h.to_string(), p)
    } else {
        let (h, p) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("bad address {s:?}: expected HOST:PORT"))?;
        if h.contains(':') {
            return Err(format!("bad address {s:?}: put IPv6 addresses in brackets"));
        }
        (h.to_string(), p)
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("bad port in {s:?}: expected 1..=65535"))?;
    if port == 0 || host.is_empty() {
        return Err(format!(
            "bad address {s:?}: expected HOST:PORT with port 1..=65535"
        ));
    }
    Ok((host, port))
}

/// `--compress`: ENet datagram compression, Godot's modes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compress {
    /// No compression.
    None,
    /// ENet's built-in range coder.
    RangeCoder,
    /// FastLZ.
    Fastlz,
    /// zlib.
    Zlib,
    /// Zstandard.
    Zstd,
}

impl Compress {
    /// The library's mode.
    pub fn mode(self) -> enet::CompressionMode {
        use enet::CompressionMode as M;
        match self {
            Compress::None => M::None,
            Compress::RangeCoder => M::RangeCoder,
            Compress::Fastlz => M::FastLz,
            Compress::Zlib => M::Zlib,
            Compress::Zstd => M::Zstd,
        }
    }
}

/// Parses a transfer mode name.
pub fn parse_mode(s: &str) -> Result<TransferMode, String> {
    match s {
        "reliable" => Ok(TransferMode::Reliable),
        "unreliable" => Ok(TransferMode::Unreliable),
        "unreliable-ordered" | "ordered" => Ok(TransferMode::UnreliableOrdered),
        _ => Err(format!(
            "unknown mode {s:?}: use reliable, unreliable or unreliable-ordered"
        )),
    }
}

/// The CLI name of a transfer mode.
pub fn mode_name(m: TransferMode) -> &'static str {
    match m {
        TransferMode::Reliable => "reliable",
        TransferMode::Unreliable => "unreliable",
        TransferMode::UnreliableOrdered => "unreliable-ordered",
    }
}

/// ENet packet flags for a transfer mode (Godot's mapping).
pub fn mode_flags(m: TransferMode) -> u32 {
    match m {
        TransferMode::Reliable => enet::godot::FLAG_RELIABLE,
        TransferMode::Unreliable => {
            enet::godot::FLAG_UNSEQUENCED | enet::godot::FLAG_UNRELIABLE_FRAGMENT
        }
        TransferMode::UnreliableOrdered => enet::godot::FLAG_UNRELIABLE_FRAGMENT,
    }
}

/// Transfer mode of received ENet flags (Godot's mapping).
pub fn flags_mode(flags: u32) -> TransferMode {
    if flags & enet::godot::FLAG_RELIABLE != 0 {
        TransferMode::Reliable
    } else if flags & enet::godot::FLAG_UNSEQUENCED != 0 {
        TransferMode::Unreliable
    } else {
        TransferMode::UnreliableOrdered
    }
}

/// Most output a buffered [`Out`] holds before it writes without waiting for a flush.
const OUT_BUFFER_LIMIT: usize = 1 << 20;

/// Prints human lines or JSON objects, one per line: at once (`Out::new`), or collected in
/// a buffer that [`Out::flush`] writes in one go (`Out::buffered`, for servers, which flush
/// once per service round instead of paying a write per packet).
pub struct Out {
    /// JSON objects instead of human lines.
    pub json: bool,
    /// Pending output of a buffered `Out`; `None` writes every line at once.
    buf: Option<RefCell<Vec<u8>>>,
}

impl Out {
    /// An `Out` that writes and flushes every line at once.
    pub fn new(json: bool) -> Out {
        Out { json, buf: None }
    }

    /// An `Out` that keeps lines until [`Out::flush`] (or until it is dropped).
    pub fn buffered(json: bool) -> Out {
        Out {
            json,
            buf: Some(RefCell::new(Vec::with_capacity(64 * 1024))),
        }
    }

    /// Prints either `text` or the JSON object `value`.
    pub fn emit(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> serde_json::Value) {
        match &self.buf {
            Some(buf) => {
                let mut b = buf.borrow_mut();
                if self.json {
                    let _ = writeln!(b, "{}", value());
                } else {
                    let _ = writeln!(b, "{}", text());
                }
                let full = b.len() >= OUT_BUFFER_LIMIT;
                drop(b);
                if full {
                    // A long round (a burst of packets with --verbose) writes early rather
                    // than hold its whole output.
                    self.flush();
                }
            }
            None => {
                let mut o = std::io::stdout().lock();
                if self.json {
                    let _ = writeln!(o, "{}", value());
                } else {
                    let _ = writeln!(o, "{}", text());
                }
                let _ = o.flush();
            }
        }
    }

    /// Writes the buffered lines (if any) to stdout in one write and flushes it.
    pub fn flush(&self) {
        let Some(buf) = &self.buf else { return };
        let mut b = buf.borrow_mut();
        if b.is_empty() {
            return;
        }
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(&b);
        let _ = o.flush();
        b.clear();
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A flag set by SIGINT/SIGTERM.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Only one handler per process; a second call (tests) keeps the first.
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

/// Payload with a sequence number and a send timestamp (µs since `epoch`), padded to `size`.
pub fn stamped_payload(seq: u32, epoch: Instant, size: usize) -> Vec<u8> {
    let size = size.max(12);
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&(epoch.elapsed().as_micros() as u64).to_le_bytes());
    v.extend((12..size).map(|i| (i as u32).wrapping_mul(31).wrapping_add(seq) as u8));
    v
}

/// Reads `(seq, sent_us)` back from a stamped payload.
pub fn read_stamp(p: &[u8]) -> Option<(u32, u64)> {
    if p.len() < 12 {
        return None;
    }
    Some((
        u32::from_le_bytes(p[..4].try_into().ok()?),
        u64::from_le_bytes(p[4..12].try_into().ok()?),
    ))
}

/// Percentile of a sorted slice.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port() {
        assert_eq!(
            split_host_port("127.0.0.1:7777").unwrap(),
            ("127.0.0.1".into(), 7777)
        );
        assert_eq!(split_host_port("[::1]:9").unwrap(), ("::1".into(), 9));
        assert_eq!(
            split_host_port("localhost:1").unwrap(),
            ("localhost".into(), 1)
        );
        assert!(split_host_port("nope").is_err());
        assert!(split_host_port("a:0").is_err());
        assert!(split_host_port("a:70000").is_err());
        assert!(split_host_port("::1:5").is_err());
    }

    #[test]
    fn value_parsers_check_ranges() {
        let secs = seconds(0.001, 60.0);
        assert_eq!(secs("1.5"), Ok(1.5));
        assert_eq!(secs(" 60 "), Ok(60.0));
        for bad in [
            "", "nan", "NaN", "inf", "-inf", "-1", "0", "61", "1e30", "x",
        ] {
            let e = secs(bad).unwrap_err();
            assert!(e.contains("0.001..=60"), "{bad:?}: {e}");
        }
        let c = count::<u8>(1, 255);
        assert_eq!(c("255"), Ok(255u8));
        for bad in ["", "0", "256", "-1", "1e3", "1.0", "18446744073709551616"] {
            assert!(c(bad).unwrap_err().contains("1..=255"), "{bad:?}");
        }
        assert_eq!(
            count::<u64>(0, u64::MAX)("18446744073709551615"),
            Ok(u64::MAX)
        );
        assert!(number_in(0.0, 100.0, "percent")("100.5").is_err());
    }

    #[test]
    fn stamps_round_trip() {
        let e = Instant::now();
        let p = stamped_payload(77, e, 64);
        assert_eq!(p.len(), 64);
        assert_eq!(read_stamp(&p).unwrap().0, 77);
    }
}
