//! `enet bench`: placeholder until the benchmark lands.

use crate::common::CliResult;

/// Arguments of `enet bench`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_a: Args) -> CliResult {
    Err("bench: not implemented yet".into())
}
