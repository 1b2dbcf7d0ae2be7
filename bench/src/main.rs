//! `rnats-bench`: a load generator for any NATS server (publish, fan-out, queue groups,
//! request/reply latency, connection storms, idle connections), with message count checks.
//!
//! The throughput data path uses raw sockets by default (`--client raw`): on a 2-core
//! machine async-nats, which moves every message through a channel to its connection task,
//! becomes the bottleneck long before the server does. `--client async-nats` runs the same
//! workloads through async-nats 0.51.

mod cli;
mod idle;
mod latency;
mod monitor;
mod nats_client;
mod proto;
mod raw;
mod report;
mod storm;
mod throughput;
mod transport;
mod units;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rnats-bench: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("rnats-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command and prints its report; `Ok(false)` when a count check failed.
async fn run(cli: &Cli) -> anyhow::Result<bool> {
    transport::configure(cli.tlsca.as_deref(), cli.user.clone(), cli.password.clone())?;
    let monitor = cli.monitor.as_deref();
    let mut report = match &cli.command {
        Command::Pubsub(args) => throughput::run(&cli.server, monitor, args).await?,
        Command::Reqrep(args) => latency::run(&cli.server, args).await?,
        Command::Storm(args) => storm::run(&cli.server, args).await?,
        Command::Idle(args) => idle::run(&cli.server, monitor, args).await?,
    };
    report.set("server", cli.server.as_str());
    report.print(cli.format)?;
    Ok(report.ok())
}
