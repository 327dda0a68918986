//! Sets `cfg(batched_io)` where the driver uses `recvmmsg`/`sendmmsg` (Linux, unless the
//! `portable-io` feature forces the portable one-datagram-per-call path), and with the
//! `dtls` feature `cfg(dtls_unsupported_ssl)` when `openssl-sys` found a TLS library the
//! DTLS layer cannot use (LibreSSL, BoringSSL or OpenSSL before 1.1.0, which lack
//! `DTLSv1_listen` with `BIO_ADDR`), so that the build stops with a clear message instead
//! of an undefined symbol at link time.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(batched_io)");
    println!("cargo:rustc-check-cfg=cfg(dtls_unsupported_ssl)");
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let portable = std::env::var_os("CARGO_FEATURE_PORTABLE_IO").is_some();
    if linux && !portable {
        println!("cargo:rustc-cfg=batched_io");
    }
    if std::env::var_os("CARGO_FEATURE_DTLS").is_some() {
        // Metadata that openssl-sys (`links = "openssl"`) passes to its dependents.
        let var = |name: &str| std::env::var(format!("DEP_OPENSSL_{name}")).ok();
        let too_old = var("VERSION_NUMBER")
            .and_then(|v| u64::from_str_radix(&v, 16).ok())
            .is_some_and(|v| v < 0x1010_0000);
        if var("LIBRESSL_VERSION_NUMBER").is_some() || var("BORINGSSL").is_some() || too_old {
            println!("cargo:rustc-cfg=dtls_unsupported_ssl");
        }
    }
}
