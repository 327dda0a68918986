//! Builds `csrc/cpeer.c` into an executable in `OUT_DIR`, linked against the
//! system C ENet library (Debian: `libenet-dev`), and exports its path as the
//! compile-time env var `ENET_CPEER_BIN`. Also links the crate itself with
//! `-lenet` so that FFI tests can call the C library directly.
//!
//! Without the C library (no `pkg-config libenet` and no working `cc ... -lenet`),
//! or with `ENET_INTEROP_FORCE_MISSING=1`, nothing is built or linked, `ENET_CPEER_BIN`
//! stays unset and the cfg `enet_c` is not set: the crate still builds, and its
//! C-interop tests skip (see `enet_interop::require_c_library`). The build never fails
//! for a missing library.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const HINT: &str = "apt-get install libenet-dev pkg-config";

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

/// Compiles the C peer; `Err` says why not (no compiler, no header, no library).
fn compile_cpeer(src: &Path, bin: &Path, flags: &[String]) -> Result<(), String> {
    let cc = env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".to_owned());
    // CC may carry arguments (e.g. "ccache gcc"): split on whitespace.
    let mut cc_words = cc.split_whitespace();
    let program = cc_words.next().unwrap_or("cc");
    let mut cmd = Command::new(program);
    cmd.args(cc_words)
        .args(["-O2", "-Wall", "-std=c99"])
        .arg(src)
        .arg("-o")
        .arg(bin)
        .args(flags);
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run the C compiler `{program}`: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "compiling csrc/cpeer.c failed: {}",
            err.lines().next().unwrap_or("")
        ));
    }
    let warnings = String::from_utf8_lossy(&output.stderr);
    for line in warnings.lines().filter(|l| !l.trim().is_empty()) {
        println!("cargo::warning=cpeer.c: {line}");
    }
    Ok(())
}

fn main() {
    println!("cargo::rerun-if-changed=csrc/cpeer.c");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed=ENET_INTEROP_FORCE_MISSING");
    println!("cargo::rustc-check-cfg=cfg(enet_c)");

    let forced_missing =
        env::var_os("ENET_INTEROP_FORCE_MISSING").is_some_and(|v| !v.is_empty() && v != "0");
    if forced_missing {
        println!("cargo::warning=ENET_INTEROP_FORCE_MISSING=1: building without the C library; C-interop tests skip");
        return;
    }

    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let src = manifest.join("csrc").join("cpeer.c");
    let bin = out_dir.join("cpeer");

    // Without pkg-config, a plain `-lenet` may still work (headers and library in the
    // default paths).
    let flags = pkg_config().unwrap_or_else(|| vec!["-lenet".to_owned()]);
    if let Err(why) = compile_cpeer(&src, &bin, &flags) {
        println!("cargo::warning=C library not found ({why}); C-interop tests will skip ({HINT})");
        return;
    }

    println!("cargo::rustc-cfg=enet_c");
    println!("cargo::rustc-env=ENET_CPEER_BIN={}", bin.display());
    // Link the library crate itself with libenet (FFI tests rely on this).
    for flag in &flags {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo::rustc-link-search=native={dir}");
        }
    }
    println!("cargo::rustc-link-lib=enet");
}
