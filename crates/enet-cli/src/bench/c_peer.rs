//! The C side of `--vs-c`: `bench_peer.c` (the twin of `enet bench-worker`), written to a
//! temporary directory and compiled with `$CC` against the system's libenet.

use std::path::PathBuf;
use std::process::Command;

/// The C load generator and echo server, compiled by `--vs-c`.
const BENCH_PEER_C: &str = include_str!("bench_peer.c");

/// The C programs' build directory, removed when dropped.
pub(super) struct CBuild {
    dir: PathBuf,
    /// The compiled `bench_peer`.
    pub exe: PathBuf,
    /// `pkg-config --modversion libenet`.
    pub version: String,
}

impl Drop for CBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn first_lines(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Compiles `bench_peer.c` with `$CC` (default `cc`) against libenet (pkg-config).
pub(super) fn build_c() -> Result<CBuild, String> {
    let pc = |args: &[&str]| Command::new("pkg-config").args(args).output();
    let flags = match pc(&["--cflags", "--libs", "libenet"]) {
        Err(e) => {
            return Err(format!(
                "--vs-c needs pkg-config and libenet-dev (apt-get install pkg-config libenet-dev): cannot run pkg-config: {e}"
            ))
        }
        Ok(o) if !o.status.success() => {
            return Err(format!(
                "--vs-c needs the C library: `pkg-config --cflags --libs libenet` failed (apt-get install libenet-dev): {}",
                first_lines(&o.stderr, 1)
            ))
        }
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
    };
    let version = pc(&["--modversion", "libenet"])
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("enet-bench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let build = CBuild {
        exe: dir.join("bench_peer"),
        dir,
        version,
    };
    let src = build.dir.join("bench_peer.c");
    std::fs::write(&src, BENCH_PEER_C)
        .map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    let cc = std::env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".into());
    let mut words = cc.split_whitespace();
    let prog = words.next().unwrap_or("cc").to_string();
    let out = Command::new(&prog)
        .args(words)
        .args(["-O2", "-o"])
        .arg(&build.exe)
        .arg(&src)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| {
            format!("--vs-c needs a C compiler: cannot run {prog:?} ({e}); install gcc or set $CC")
        })?;
    if !out.status.success() {
        return Err(format!(
            "compiling bench_peer.c with {cc:?} failed: {}",
            first_lines(&out.stderr, 3)
        ));
    }
    Ok(build)
}
