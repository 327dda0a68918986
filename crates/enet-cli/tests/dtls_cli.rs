//! `enet gen-cert`, `enet serve --dtls-cert/--dtls-key` and `enet connect --dtls` (feature
//! `dtls`): echo over DTLS in raw, Godot and scene modes, and refusals that say why.
#![cfg(feature = "dtls")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn enet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_enet"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("enet-cli-{tag}-{}-{nanos}", std::process::id()))
}

fn gen_cert(cn: &str) -> PathBuf {
    let dir = temp_dir("cert");
    let out = enet()
        .args(["gen-cert", "--cn", cn, "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(dir.join("key.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is private");
    }
    dir
}

/// A running `enet serve` over DTLS; the `listening` line has been read.
struct Server {
    child: Child,
    port: u16,
    listening: Value,
}

impl Server {
    fn start(certs: &Path, extra: &[&str]) -> Server {
        let mut child = enet()
            .args(["serve", "--bind", "127.0.0.1", "--port", "0", "--json"])
            .args(["--stats-interval", "0", "--dtls-cert"])
            .arg(certs.join("cert.pem"))
            .arg("--dtls-key")
            .arg(certs.join("key.pem"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("listening line");
        let listening: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(listening["event"], "listening");
        let addr: std::net::SocketAddr = listening["addr"].as_str().unwrap().parse().unwrap();
        // Keep draining stdout so that the server never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Server {
            child,
            port: addr.port(),
            listening,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(args: &[&str]) -> (i32, String, String) {
    let out = enet().arg("connect").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn raw_echo_over_dtls_verified_by_ca_and_host_name() {
    let certs = gen_cert("localhost");
    let server = Server::start(&certs, &["--raw"]);
    assert_eq!(server.listening["dtls"], true);
    let addr = format!("127.0.0.1:{}", server.port);
    let ca = certs.join("cert.pem");
    let ca = ca.to_str().unwrap();
    let (code, out, err) = connect(&[
        &addr,
        "--raw",
        "--dtls",
        "--ca",
        ca,
        "--hostname",
        "localhost",
        "--send",
        "50",
        "--expect-echo",
        "--json",
        "--timeout",
        "20",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("\"summary\""), "{out}");
    // The wrong name is refused, and the error says why.
    let (code, _, err) = connect(&[
        &addr,
        "--raw",
        "--dtls",
        "--ca",
        ca,
        "--hostname",
        "wrong.example",
        "--send",
        "1",
        "--timeout",
        "20",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("does not match the host name"), "{err}");
    // A plain client gets no answer.
    let (code, _, err) = connect(&[&addr, "--raw", "--send", "1", "--timeout", "2"]);
    assert_eq!(code, 1, "{err}");
    let _ = std::fs::remove_dir_all(&certs);
}

#[test]
fn godot_and_scene_modes_over_dtls() {
    let certs = gen_cert("localhost");
    let server = Server::start(&certs, &["--echo"]);
    assert_eq!(server.listening["mode"], "godot");
    assert_eq!(server.listening["dtls"], true);
    let addr = format!("127.0.0.1:{}", server.port);
    let (code, out, err) = connect(&[
        &addr,
        "--dtls",
        "--insecure",
        "--send",
        "20",
        "--expect-echo",
        "--json",
        "--timeout",
        "20",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Without --ca the system's trust store is used, which does not know our certificate.
    let (code, _, err) = connect(&[&addr, "--dtls", "--send", "1", "--timeout", "20"]);
    assert_eq!(code, 1);
    assert!(err.contains("not trusted"), "{err}");
    drop(server);
    let scene = Server::start(&certs, &["--scene"]);
    assert_eq!(scene.listening["mode"], "scene");
    assert_eq!(scene.listening["dtls"], true);
    let _ = std::fs::remove_dir_all(&certs);
}

#[test]
fn bad_dtls_arguments_are_refused() {
    let dir = temp_dir("bad");
    let out = enet()
        .args([
            "serve",
            "--port",
            "0",
            "--dtls-cert",
            "/nonexistent/cert.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--dtls-cert needs --dtls-key");
    let out = enet()
        .args(["connect", "127.0.0.1:1", "--hostname", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--hostname needs --dtls");
    let out = enet()
        .args([
            "connect",
            "127.0.0.1:1",
            "--dtls",
            "--insecure",
            "--hostname",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--insecure conflicts with --hostname"
    );
    let out = enet()
        .args([
            "serve",
            "--port",
            "0",
            "--dtls-cert",
            "/nonexistent/c",
            "--dtls-key",
        ])
        .arg("/nonexistent/k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no listening line"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_runs_over_dtls() {
    let out = enet()
        .args(["bench", "--messages", "2000", "--json"])
        .arg("--dtls")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"] == "run" && v["impl"] == "rust")
        .expect("a run line");
    assert_eq!(run["ok"], true, "{run}");
    let refused = enet().args(["bench", "--dtls", "--vs-c"]).output().unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "--dtls conflicts with --vs-c"
    );
}
