//! Sets `cfg(batched_io)` where the driver uses `recvmmsg`/`sendmmsg` (Linux, unless the
//! `portable-io` feature forces the portable one-datagram-per-call path).

fn main() {
    println!("cargo:rustc-check-cfg=cfg(batched_io)");
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let portable = std::env::var_os("CARGO_FEATURE_PORTABLE_IO").is_some();
    if linux && !portable {
        println!("cargo:rustc-cfg=batched_io");
    }
}
