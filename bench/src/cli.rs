//! Command-line interface of `rnats-bench`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;
use crate::units::{parse_duration, parse_size};

/// A load generator for any NATS server, in the spirit of `nats bench`.
///
/// Every run checks its message counts (each subscriber must get every message it is owed;
/// a publish-only run compares with the server's `/varz` `in_msgs` when `--monitor` is
/// given) and exits with status 1 when a check fails.
#[derive(Debug, Parser)]
#[command(name = "rnats-bench", version)]
pub struct Cli {
    /// Server URL.
    #[arg(short, long, global = true, default_value = "nats://127.0.0.1:4222")]
    pub server: String,
    /// Monitoring base URL (e.g. http://127.0.0.1:8222), for the `/varz` checks.
    #[arg(long, global = true)]
    pub monitor: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: Format,
    /// Connect with TLS, trusting the CA certificates in this PEM file.
    #[arg(long, global = true)]
    pub tlsca: Option<std::path::PathBuf>,
    /// User name sent in CONNECT.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Password sent in CONNECT (with --user).
    #[arg(long, global = true)]
    pub password: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// N publishers → M subscribers (fan-out, or a queue group with --queue); M = 0 is
    /// publish-only.
    Pubsub(PubSubArgs),
    /// Synchronous request/reply latency (one requester, one responder).
    Reqrep(ReqRepArgs),
    /// Connection storm: open, handshake (CONNECT/PING/PONG) and close connections.
    Storm(StormArgs),
    /// Hold idle connections and report the server's RSS per connection (`--pid`).
    Idle(IdleArgs),
}

/// Which client implementation carries the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// Raw sockets: pre-built PUB frames written in 64 KiB chunks; MSG frames counted
    /// without copying. Keeps the client from being the bottleneck.
    Raw,
    /// The async-nats 0.51 client library.
    AsyncNats,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw",
            Client::AsyncNats => "async-nats",
        }
    }
}

#[derive(Debug, Args)]
pub struct PubSubArgs {
    /// Publishers (one connection each).
    #[arg(long, default_value_t = 1)]
    pub pubs: usize,
    /// Subscribers (one connection each).
    #[arg(long, default_value_t = 0)]
    pub subs: usize,
    /// Message payload size (16, 1KiB, 16KiB...).
    #[arg(long, default_value = "16", value_parser = parse_size)]
    pub size: usize,
    /// Messages in all, split over the publishers.
    #[arg(long, default_value_t = 1_000_000)]
    pub msgs: u64,
    /// Publish for this long instead of a fixed count (500ms, 5s).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Subscribers join this queue group: each message goes to one of them.
    #[arg(long)]
    pub queue: Option<String>,
    /// Connect the subscribers to this server instead (a cluster peer of `--server`):
    /// messages then cross a route. With `--monitor`, publishing waits until the
    /// publisher's server lists the subscribers' interest on a route (`/routez?subs=1`).
    #[arg(long)]
    pub sub_server: Option<String>,
    /// Subject.
    #[arg(long, default_value = "bench.data")]
    pub subject: String,
    /// Client implementation.
    #[arg(long, value_enum, default_value = "raw")]
    pub client: Client,
    /// Give up on missing messages after this long without progress.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ReqRepArgs {
    /// Timed requests.
    #[arg(long, default_value_t = 10_000)]
    pub msgs: u64,
    /// Untimed requests first.
    #[arg(long, default_value_t = 1_000)]
    pub warmup: u64,
    /// Request and reply payload size.
    #[arg(long, default_value = "16", value_parser = parse_size)]
    pub size: usize,
    /// Request subject.
    #[arg(long, default_value = "bench.echo")]
    pub subject: String,
    /// Client implementation.
    #[arg(long, value_enum, default_value = "raw")]
    pub client: Client,
}

#[derive(Debug, Args)]
pub struct StormArgs {
    /// Connections to open in all.
    #[arg(long, default_value_t = 5_000)]
    pub conns: u64,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct IdleArgs {
    /// Connections to open and hold.
    #[arg(long, default_value_t = 1_000)]
    pub conns: usize,
    /// Connections being opened at the same time.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// How long to hold them before measuring (lets the server settle).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Server process id: report its RSS before and while holding the connections.
    #[arg(long)]
    pub pid: Option<u32>,
}
