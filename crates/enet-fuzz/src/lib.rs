//! A mutation fuzzer for the sans-IO ENet engine ([`enet_proto::Host`]), on stable Rust.
//!
//! A real exchange between two engine hosts is recorded once ([`world::record`]); each case
//! then replays the client's side of it against a fresh server, with man-in-the-middle
//! mutations and spoofed datagrams ([`mutate::make_case`]), while a bystander client keeps
//! exchanging numbered reliable packets with the server. A case fails if the engine panics
//! (caught with `catch_unwind`), an engine invariant breaks, or the bystander loses anything.
//! Failing cases are written to a file that `enet-fuzz --reproduce FILE` runs again.
//!
//! `cargo test -p enet-fuzz` runs it for about 5 seconds; the README says how to run it for
//! hours.
#![warn(missing_docs)]

pub mod case_file;
pub mod mutate;
pub mod world;

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use world::{Injection, Recording, Variant};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed of the run; case `i` uses a seed derived from it and `i`.
    pub seed: u64,
    /// Stop after this many cases (if set).
    pub iterations: Option<u64>,
    /// Stop after this long (if set). With neither limit, runs one case.
    pub duration: Option<Duration>,
    /// Where failing cases are written.
    pub out_dir: PathBuf,
}

/// A failed case.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The case's seed.
    pub seed: u64,
    /// The panic message or the broken invariant.
    pub message: String,
    /// Whether it was a panic (otherwise an invariant or bystander failure).
    pub panicked: bool,
    /// The case file written for it (`None` if writing failed).
    pub file: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Cases run.
    pub executions: u64,
    /// Datagrams injected into servers in all.
    pub injected: u64,
    /// Echoes the bystanders got back in all.
    pub echoes: u64,
    /// Failed cases (at most [`MAX_REPORTED_FAILURES`] are kept).
    pub failures: Vec<Failure>,
    /// Failed cases in all.
    pub failure_count: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Report {
    /// Cases per second.
    pub fn executions_per_second(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Failures kept in a [`Report`] (and written to files).
pub const MAX_REPORTED_FAILURES: usize = 20;

/// The seed of case `i` of a run seeded with `seed` (splitmix64 of both).
pub fn case_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The recordings every run starts from, one per [`Variant`].
pub fn recordings() -> Result<Vec<Recording>, String> {
    Variant::ALL.into_iter().map(world::record).collect()
}

/// The text of a panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

thread_local! {
    /// Set while [`guarded`] runs a case: panics are recorded here instead of printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last panic of a guarded case, with its location.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that keeps panics of guarded cases quiet and records them
/// with their location; other panics (tests of other crates in the same process, say) go
/// to the previous hook as before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|l| *l.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `exec` on a case, catching panics: `Ok` with its statistics, or the failure
/// message (a panic's with its location) and whether it panicked.
pub fn guarded<T>(exec: impl FnOnce() -> Result<T, String>) -> Result<T, (String, bool)> {
    install_quiet_hook();
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(exec));
    QUIET.with(|q| q.set(false));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(m)) => Err((m, false)),
        Err(p) => {
            let located = LAST_PANIC.with(|l| l.borrow_mut().take());
            Err((located.unwrap_or_else(|| panic_message(p.as_ref())), true))
        }
    }
}

/// Runs the fuzzer with the real engine.
pub fn fuzz(opts: &Options) -> Result<Report, String> {
    fuzz_with(opts, world::run_case)
}

/// Runs the fuzzer, executing each case with `exec` (the real engine in [`fuzz`]; tests
/// use this to check the harness itself).
pub fn fuzz_with(
    opts: &Options,
    exec: impl Fn(Variant, &[Injection]) -> Result<world::CaseStats, String>,
) -> Result<Report, String> {
    let recs = recordings()?;
    let start = Instant::now();
    let mut report = Report::default();
    let mut i = 0u64;
    loop {
        if opts.iterations.is_some_and(|n| i >= n)
            || opts.duration.is_some_and(|d| start.elapsed() >= d)
            || (opts.iterations.is_none() && opts.duration.is_none() && i >= 1)
        {
            break;
        }
        let seed = case_seed(opts.seed, i);
        let rec = &recs[(seed % recs.len() as u64) as usize];
        let case = mutate::make_case(rec, seed);
        match guarded(|| exec(rec.variant, &case)) {
            Ok(s) => {
                report.injected += s.injected;
                report.echoes += s.echoes as u64;
            }
            Err((message, panicked)) => {
                report.failure_count += 1;
                if report.failures.len() < MAX_REPORTED_FAILURES {
                    let file = write_failure(&opts.out_dir, seed, rec.variant, &message, &case);
                    report.failures.push(Failure {
                        seed,
                        message,
                        panicked,
                        file,
                    });
                }
            }
        }
        i += 1;
    }
    report.executions = i;
    report.elapsed = start.elapsed();
    Ok(report)
}

fn write_failure(
    dir: &Path,
    seed: u64,
    variant: Variant,
    message: &str,
    case: &[Injection],
) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("case-{seed:016x}.txt"));
    let text = case_file::write(seed, variant, message, case);
    std::fs::write(&path, text).ok()?;
    Some(path)
}

/// Runs a case file again (`--reproduce`): `Ok` with the case's statistics if it passes
/// now, or the failure (message, panicked).
pub fn reproduce(text: &str) -> Result<Result<world::CaseStats, (String, bool)>, String> {
    let case = case_file::read(text)?;
    Ok(guarded(|| world::run_case(case.variant, &case.injections)))
}
