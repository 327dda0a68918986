//! Interop test support against the C ENet library.
//!
//! The build script compiles `csrc/cpeer.c` against the system C ENet
//! (Debian `libenet-dev` 1.3.17) into a small scriptable program, the *C
//! peer*. [`CPeer`] spawns it as a server or a client, writes commands to its
//! stdin and parses the lines it prints on stdout into [`CEvent`]s, with
//! timeouts. The crate itself is also linked with `-lenet`, so tests may call
//! the C library directly through FFI (only under the cfg `enet_c`, which the build
//! script sets when it found the library).
//!
//! Without the C library the crate still builds: [`CPEER_BIN`] is `None`, spawning a
//! C peer fails with an error, and every C-interop test starts with
//! `if !enet_interop::require_c_library() { return; }`, which prints [`SKIP_MESSAGE`]
//! (or fails under `ENET_REQUIRE_REFERENCES`).
//!
//! # The C peer's protocol
//!
//! Command line (built by [`CPeerOpts`]):
//!
//! ```text
//! cpeer server --port P [--bind ADDR] [--peers N] [--channels N] [--godot-ids] [common]
//! cpeer client --host H --port P [--bind ADDR] [--channels N] [--data D] [common]
//! common: --checksum --range-coder --echo --print-data --in-bw N --out-bw N --mtu N --greet N
//! ```
//!
//! * `--bind` defaults to `127.0.0.1` for both kinds; a client binds port 0.
//! * server `--port 0` picks an ephemeral port; `--peers` defaults to 32,
//!   `--channels` is the host channel limit (default 0 = ENet's maximum, 255).
//! * client `--channels` is the channel count asked for (default 2), `--data`
//!   the connect data (default 0).
//! * `--checksum` sets `host->checksum = enet_crc32`; `--range-coder` calls
//!   `enet_host_compress_with_range_coder`.
//! * `--greet N` sends [`pattern`]`(`[`GREET_SEED`]`, N)` reliably on channel 0 to
//!   every peer from inside the connect handler, flushed at once.
//! * `--echo` sends every received packet back to its sender on the same
//!   channel with the received flags masked to RELIABLE|UNSEQUENCED|
//!   UNRELIABLE_FRAGMENT, plus UNRELIABLE_FRAGMENT whenever RELIABLE is not
//!   set (so large unreliable packets stay unreliable on the way back).
//! * `--godot-ids` (server): CONNECT data is a Godot peer id; ids < 2 or ids in
//!   use are refused with `enet_peer_reset` and reported as `refused <data>`.
//! * `--print-data` appends a hex dump of every received payload.
//!
//! Stdout lines (each one parsed by [`CEvent::parse`]):
//!
//! ```text
//! listening <port>                                   server, first line
//! connecting <port>                                  client, first line (its local port)
//! connect <peer> <data> <channels> <mtu>
//! receive <peer> <channel> <len> <flags> <crc32hex> <seed|-> [<hex>|-]
//! disconnect <peer> <data>
//! refused <data>
//! sent <count>
//! stats host k=v ... / stats <peer> k=v ... / stats end
//! ok <command>
//! bye
//! error <text>
//! ```
//!
//! `<peer>` is the index of the ENet peer in the C host's peer array (always
//! 0 on a client). `<flags>` is the received `packet->flags` in decimal
//! (see [`flags`]). `<seed>` is given when the payload is exactly
//! [`pattern`]`(seed, len)`.
//!
//! Stdin commands (one per line; see the C file's header for details):
//!
//! ```text
//! send <peer|all> <channel> <flags> <len> <seed>          -> sent <n>
//! sendn <count> <peer|all> <channel> <flags> <len> <seed0> -> sent <n>
//! sendhex <peer|all> <channel> <flags> <hex>              -> sent <n>
//! disconnect|disconnect_now|disconnect_later <peer|all> <data>   -> ok <cmd>
//! reset <peer|all>                                        -> ok reset
//! timeout <peer|all> <limit> <min> <max>                  -> ok timeout
//! ping_interval <peer|all> <ms>                           -> ok ping_interval
//! flush                                                   -> ok flush
//! stats                                                   -> stats ... lines
//! quit          (also stdin EOF): graceful disconnect, ~200 ms service, bye, exit 0
//! ```
//!
//! `<flags>` is a `+`-separated list of `reliable`, `unreliable`,
//! `unsequenced`, `unreliable-fragment` or numbers; [`flags_arg`] builds it.
//! `sendn` sends seeds `seed0 .. seed0+count-1`, flushing every 64 packets.

#![warn(missing_docs)]
//!
//! # Layout
//!
//! `opts` ([`CPeerOpts`], the command line), `cpeer` ([`CPeer`], the child process and its
//! line protocol), `events` ([`CEvent`] and what it carries, parsed from the C peer's
//! lines), `payload` (the deterministic payload [`pattern`] and [`crc32`]); the skip helper
//! and the packet [`flags`] are here.

use std::path::Path;

mod cpeer;
mod events;
mod opts;
mod payload;
#[cfg(test)]
mod tests;

pub use cpeer::CPeer;
pub use events::{Backoff, CEvent, ConnectInfo, Received, StatsReport};
pub use opts::CPeerOpts;
pub use payload::{crc32, pattern, pattern_seed, GREET_SEED};

/// Path of the C peer executable built by `build.rs`; `None` when the build found no C
/// ENet library (or `ENET_INTEROP_FORCE_MISSING=1` was set at build time).
pub const CPEER_BIN: Option<&str> = option_env!("ENET_CPEER_BIN");

/// Returns the path of the C peer executable, `None` without the C library.
pub fn cpeer_bin() -> Option<&'static Path> {
    CPEER_BIN.map(Path::new)
}

/// What a C-interop test prints when it skips.
pub const SKIP_MESSAGE: &str =
    "SKIPPED: C library not found (apt-get install libenet-dev pkg-config)";

/// Whether the C library (and so the C peer and the FFI) is available to this build.
///
/// Call it first in every test that needs the C library and return early on `false`:
/// without the library it prints [`SKIP_MESSAGE`] and returns `false`, unless the
/// environment variable `ENET_REQUIRE_REFERENCES` is set (as CI does), in which case a
/// missing library fails the test (panics). With the library it returns `true`.
pub fn require_c_library() -> bool {
    if CPEER_BIN.is_some() {
        return true;
    }
    if std::env::var_os("ENET_REQUIRE_REFERENCES").is_some() {
        panic!("ENET_REQUIRE_REFERENCES is set but the C library was not found at build time (apt-get install libenet-dev pkg-config)");
    }
    eprintln!("{SKIP_MESSAGE}");
    false
}

/// ENet packet flag bits, as in `enet.h` (`ENetPacketFlag`).
pub mod flags {
    /// `ENET_PACKET_FLAG_RELIABLE`.
    pub const RELIABLE: u32 = 1 << 0;
    /// `ENET_PACKET_FLAG_UNSEQUENCED`.
    pub const UNSEQUENCED: u32 = 1 << 1;
    /// `ENET_PACKET_FLAG_NO_ALLOCATE` (the C peer never sends with it).
    pub const NO_ALLOCATE: u32 = 1 << 2;
    /// `ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT`. The C library also sets it on
    /// received packets that arrived as unreliable fragments.
    pub const UNRELIABLE_FRAGMENT: u32 = 1 << 3;
    /// `ENET_PACKET_FLAG_SENT`.
    pub const SENT: u32 = 1 << 8;
}

/// Formats ENet packet flag bits as the C peer's `<flags>` argument, e.g.
/// `flags_arg(flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT)` is
/// `"unsequenced+unreliable-fragment"`, and `flags_arg(0)` is `"unreliable"`.
pub fn flags_arg(bits: u32) -> String {
    let mut parts = Vec::new();
    if bits & flags::RELIABLE != 0 {
        parts.push("reliable".to_owned());
    }
    if bits & flags::UNSEQUENCED != 0 {
        parts.push("unsequenced".to_owned());
    }
    if bits & flags::UNRELIABLE_FRAGMENT != 0 {
        parts.push("unreliable-fragment".to_owned());
    }
    let rest = bits & !(flags::RELIABLE | flags::UNSEQUENCED | flags::UNRELIABLE_FRAGMENT);
    if rest != 0 {
        parts.push(rest.to_string());
    }
    if parts.is_empty() {
        "unreliable".to_owned()
    } else {
        parts.join("+")
    }
}
