//! Without the `dtls` feature, the DTLS options and `gen-cert` exit 2 with a hint to
//! rebuild with `--features dtls`.
#![cfg(not(feature = "dtls"))]

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_enet"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dtls_options_need_a_dtls_build() {
    for args in [
        &[
            "serve",
            "--port",
            "0",
            "--dtls-cert",
            "c.pem",
            "--dtls-key",
            "k.pem",
        ][..],
        &["connect", "127.0.0.1:7777", "--dtls"],
        &["connect", "127.0.0.1:7777", "--dtls", "--insecure"],
        &["gen-cert", "--cn", "localhost", "--out", "certs"],
        &["bench", "--messages", "10", "--dtls"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("--features dtls"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}
