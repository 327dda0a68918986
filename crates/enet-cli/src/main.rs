//! `enet`: a command-line tool for ENet and Godot/Redot 4 multiplayer servers.
//!
//! Subcommands: `demo`, `serve`, `connect`, `probe`, `bench`, `gen-cert`. Run `enet <cmd> --help`.

mod bench;
mod bench_worker;
mod common;
mod connect;
mod demo;
mod payload_view;
mod probe;
mod scene;
mod serve;
mod tls;
mod var_json;

use clap::{Parser, Subcommand};

/// ENet tools: a demo, a Godot-compatible server, a client, a prober and a benchmark.
#[derive(Parser, Debug)]
#[command(name = "enet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a server and a few bot clients on loopback for a few seconds and show live stats.
    #[command(after_help = "Examples:\n  enet demo\n  enet demo --bots 8 --seconds 10")]
    Demo(demo::Args),
    /// Serve Godot 4 ENetMultiplayerPeer clients (relay or echo), or plain ENet with --raw.
    #[command(
        after_help = "Examples:\n  enet serve --port 7777\n  enet serve --echo --json\n  enet serve --scene --echo-rpc Main:hello --json\n  enet serve --raw --compress range-coder --channels 8\n  enet serve --dtls-cert cert.pem --dtls-key key.pem"
    )]
    Serve(serve::Args),
    /// Connect to a server: interactive (stdin lines go out reliably) or scripted.
    #[command(
        after_help = "Examples:\n  enet connect 127.0.0.1:7777\n  enet connect 127.0.0.1:7777 --send 1000 --size 64 --mode reliable --expect-echo\n  enet connect [::1]:7777 --raw --channels 4\n  enet connect localhost:7777 --dtls --ca cert.pem"
    )]
    Connect(connect::Args),
    /// One handshake: print negotiated MTU, window size, channel count and RTT.
    #[command(
        after_help = "Examples:\n  enet probe 127.0.0.1:7777\n  enet probe localhost:7777 --json"
    )]
    Probe(probe::Args),
    /// Benchmark an echo server and a load generator on loopback (optionally against C ENet).
    ///
    /// The server and the load generator run as separate processes on 127.0.0.1. Reported:
    /// msgs/s, MB/s (10^6 bytes of echoed payload per second), RTT p50/p99/p99.9 measured by
    /// the load generator, CPU seconds of both processes during the transfer (and during
    /// connecting), and the server's RSS. With --vs-c the same workload runs again with the C library: a C echo
    /// server and load generator, same algorithm and protocol settings, compiled at run time
    /// with $CC (default cc) and `pkg-config --cflags --libs libenet`, and ours/C ratios
    /// are printed.
    ///
    /// Throughput mode (default): each connection sends --messages, keeping at most
    /// --window awaiting their echo. Paced mode (--rate with --duration): each connection
    /// sends --rate messages per second for --duration seconds, spread evenly over all
    /// connections. Every reliable message must come back (else exit code 1).
    ///
    /// --cross also runs our server with the C load generator and the C server with ours,
    /// so that each side is compared under the same peer; --repeat N alternates the
    /// implementations N times and compares the median runs.
    #[command(
        after_help = "Workloads (--workload; a single label such as ii-b or v-lat5 also works):\n  i     1 client, 100000 x 64 B reliable, 64 in flight: msgs/s\n  ii    64 MB as 65536 x 1 KiB (ii-a) and as 256 x 256 KiB (ii-b) reliable: MB/s\n  iii   500, 2000, 4000 clients x 20 msgs/s x 100 B for 10 s (paced): server CPU per\n        message, beside a plain UDP echo of the same rate (the floor)\n  iv    1000 connections at once: time until all are connected\n  v     through a UDP relay with 40 ms RTT and a seeded 1 % / 5 % loss pattern:\n        50 clients x 20/s x 100 B reliable (RTT p50/p99/p99.9), and 16 MB as 1 KiB (MB/s)\n  vi    4000 peers x 10 messages, server with 4095 slots: server RSS, growth per peer\n  all   all of them, then a table\n\nExamples:\n  enet bench\n  enet bench --messages 100000 --size 64 --window 64 --vs-c\n  enet bench --clients 500 --rate 20 --duration 10 --size 100 --mode unreliable --vs-c\n  enet bench --workload all --vs-c\n  enet bench --workload ii --vs-c --cross --repeat 5\n  enet bench --workload v-lat5 --vs-c --repeat 3\n  enet bench --workload i --json"
    )]
    Bench(bench::Args),
    /// Write a self-signed RSA-2048 certificate and key (cert.pem, key.pem) for DTLS.
    #[command(
        after_help = "Examples:\n  enet gen-cert --cn localhost --out certs\n  enet serve --dtls-cert certs/cert.pem --dtls-key certs/key.pem\n  enet connect localhost:7777 --dtls --ca certs/cert.pem\n\nNeeds a build with DTLS: cargo build --release -p enet-cli --features dtls"
    )]
    GenCert(tls::GenCertArgs),
    /// Worker process of `enet bench` (echo server or load generator).
    #[command(hide = true)]
    BenchWorker(bench_worker::Args),
}

/// Parses the command line; a usage error is one line on stderr and exit code 2.
fn parse() -> Cli {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's message is its first paragraph (indented continuation lines, such as
            // the names of missing arguments, are joined); usage and tips are left out.
            let text = e.render().to_string();
            let mut lines = text.lines();
            let mut msg = lines
                .next()
                .unwrap_or("error")
                .trim_start_matches("error: ")
                .to_string();
            for l in lines.take_while(|l| !l.trim().is_empty()) {
                msg.push(' ');
                msg.push_str(l.trim());
            }
            eprintln!("enet: {msg} (try --help)");
            std::process::exit(2);
        }
    }
}

fn main() {
    let cli = parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Connect(a) => connect::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Bench(a) => bench::run(a),
        Command::BenchWorker(a) => bench_worker::run(a),
        Command::GenCert(a) => tls::gen_cert(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("enet: {e}");
            std::process::exit(1);
        }
    }
}
