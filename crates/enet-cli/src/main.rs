//! `enet`: a command-line tool for ENet and Godot/Redot 4 multiplayer servers.
//!
//! Subcommands: `demo`, `serve`, `connect`, `probe`, `bench`. Run `enet <cmd> --help`.

mod bench;
mod common;
mod connect;
mod demo;
mod probe;
mod serve;

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
        after_help = "Examples:\n  enet serve --port 7777\n  enet serve --echo --json\n  enet serve --raw --compress range-coder --channels 8"
    )]
    Serve(serve::Args),
    /// Connect to a server: interactive (stdin lines go out reliably) or scripted.
    #[command(
        after_help = "Examples:\n  enet connect 127.0.0.1:7777\n  enet connect 127.0.0.1:7777 --send 1000 --size 64 --mode reliable --expect-echo\n  enet connect [::1]:7777 --raw --channels 4"
    )]
    Connect(connect::Args),
    /// One handshake: print negotiated MTU, window size, channel count and RTT.
    #[command(
        after_help = "Examples:\n  enet probe 127.0.0.1:7777\n  enet probe localhost:7777 --json"
    )]
    Probe(probe::Args),
    /// Benchmark an echo server and load generator on loopback (optionally against C ENet).
    #[command(
        after_help = "Examples:\n  enet bench\n  enet bench --messages 100000 --size 64 --window 64 --vs-c\n  enet bench --clients 500 --rate 20 --duration 10 --size 100 --vs-c"
    )]
    Bench(bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Connect(a) => connect::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("enet: {e}");
            std::process::exit(1);
        }
    }
}
