//! `enet-fuzz`: the mutation fuzzer's command line.
//!
//! ```text
//! enet-fuzz --seconds 3600 --seed 42          # an hour from seed 42
//! enet-fuzz --iterations 100000               # a fixed number of cases
//! enet-fuzz --reproduce fuzz-failures/case-….txt
//! ```
//!
//! Exit status: 0 when every case passed, 1 when some failed (their files are listed), 2 for
//! bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Mutation fuzzer for the sans-IO ENet engine: spoofed and man-in-the-middle mutations of
/// a recorded exchange against a server, with a bystander that must keep working.
#[derive(Parser, Debug)]
#[command(name = "enet-fuzz", version)]
struct Args {
    /// Run for this many seconds (1..=2592000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    seconds: Option<u64>,
    /// Run this many cases (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    iterations: Option<u64>,
    /// Seed of the run (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Directory for failing cases.
    #[arg(long, default_value = "fuzz-failures")]
    out: PathBuf,
    /// Run one saved case file again and report the outcome.
    #[arg(long, conflicts_with_all = ["seconds", "iterations", "seed"])]
    reproduce: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.reproduce {
        return reproduce(&path);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let duration = args.seconds.map(Duration::from_secs);
    let iterations = match (args.iterations, duration) {
        (None, None) => Some(10_000),
        (i, _) => i,
    };
    let opts = enet_fuzz::Options {
        seed,
        iterations,
        duration,
        out_dir: args.out,
    };
    eprintln!(
        "enet-fuzz: seed {seed}, {} {}",
        iterations.map_or("no case limit".into(), |n| format!("{n} cases max")),
        duration.map_or("no time limit".into(), |d| format!("{} s max", d.as_secs()))
    );
    let report = match enet_fuzz::fuzz(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("enet-fuzz: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let panics = report.failures.iter().filter(|f| f.panicked).count();
    println!(
        "executions {} in {:.1} s ({:.0}/s), datagrams injected {}, bystander echoes {}, failures {} ({} panics among the first {})",
        report.executions,
        report.elapsed.as_secs_f64(),
        report.executions_per_second(),
        report.injected,
        report.echoes,
        report.failure_count,
        panics,
        report.failures.len()
    );
    for f in &report.failures {
        println!(
            "FAILED seed {:016x} ({}): {} -> {}",
            f.seed,
            if f.panicked { "panic" } else { "invariant" },
            f.message,
            f.file
                .as_ref()
                .map_or("(case file not written)".into(), |p| p
                    .display()
                    .to_string())
        );
    }
    if report.failure_count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn reproduce(path: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("enet-fuzz: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    match enet_fuzz::reproduce(&text) {
        Err(e) => {
            eprintln!("enet-fuzz: {}: {e}", path.display());
            ExitCode::from(2)
        }
        Ok(Ok(stats)) => {
            println!("passes now: {stats:?}");
            ExitCode::SUCCESS
        }
        Ok(Err((m, panicked))) => {
            println!(
                "fails: {} {m}",
                if panicked { "panic:" } else { "invariant:" }
            );
            ExitCode::from(1)
        }
    }
}
