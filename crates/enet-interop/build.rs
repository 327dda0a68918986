//! Builds `csrc/cpeer.c` into an executable in `OUT_DIR`, linked against the
//! system C ENet library (Debian: `libenet-dev`), and exports its path as the
//! compile-time env var `ENET_CPEER_BIN`. Also links the crate itself with
//! `-lenet` so that FFI tests can call the C library directly.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const HINT: &str = "the C ENet library is required for enet-interop: \
                    install libenet-dev pkg-config (e.g. `apt-get install libenet-dev pkg-config`)";

/// `pkg-config --cflags --libs libenet`, split into arguments, or `None`.
fn pkg_config() -> Option<Vec<String>> {
    let out = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libenet"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.split_whitespace().map(str::to_owned).collect())
}

fn main() {
    println!("cargo:rerun-if-changed=csrc/cpeer.c");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = manifest.join("csrc").join("cpeer.c");
    let bin = out_dir.join("cpeer");

    let flags = pkg_config().unwrap_or_else(|| {
        println!("cargo:warning=pkg-config libenet not found, falling back to -lenet ({HINT})");
        vec!["-lenet".to_owned()]
    });

    let cc = env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".to_owned());
    // CC may carry arguments (e.g. "ccache gcc"): split on whitespace.
    let mut cc_words = cc.split_whitespace();
    let program = cc_words.next().expect("CC is non-empty");
    let mut cmd = Command::new(program);
    cmd.args(cc_words)
        .args(["-O2", "-Wall", "-std=c99"])
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .args(&flags);

    let output = cmd.output().unwrap_or_else(|e| {
        panic!("enet-interop: cannot run the C compiler `{program}`: {e}; {HINT}")
    });
    if !output.status.success() {
        panic!(
            "enet-interop: compiling csrc/cpeer.c failed ({:?});\n{}\n{HINT}",
            cmd,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let warnings = String::from_utf8_lossy(&output.stderr);
    for line in warnings.lines().filter(|l| !l.trim().is_empty()) {
        println!("cargo:warning=cpeer.c: {line}");
    }

    println!("cargo:rustc-env=ENET_CPEER_BIN={}", bin.display());

    // Link the library crate itself with libenet (FFI tests rely on this).
    for flag in &flags {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
    println!("cargo:rustc-link-lib=enet");
}
