//! The pub/sub workloads: N publishers → M subscribers (fan-out or a queue group), or
//! publish-only, with the count checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::Barrier;

use crate::cli::{Client, PubSubArgs};
use crate::monitor;
use crate::report::Report;
use crate::{nats_client, raw};

/// What the subscribers share: the running total, the target, and when publishing ended.
#[derive(Debug)]
pub struct SubState {
    /// Messages received by all subscribers together.
    pub total: AtomicU64,
    /// Messages all subscribers must receive together (`u64::MAX` until known).
    pub expected: AtomicU64,
    /// When the last publisher finished.
    pub pubs_done: OnceLock<Instant>,
    /// Give up after this long without a message once publishing ended.
    pub idle_timeout: Duration,
}

impl SubState {
    /// Whether a subscriber should stop: everything arrived, or publishing ended and
    /// nothing came for `idle_timeout` (counting from `last`, its last message).
    pub fn should_stop(&self, last: Option<Instant>) -> bool {
        if self.total.load(Ordering::Relaxed) >= self.expected.load(Ordering::Relaxed) {
            return true;
        }
        match self.pubs_done.get() {
            Some(done) => {
                let since = last.map_or(*done, |l| l.max(*done));
                since.elapsed() > self.idle_timeout
            }
            None => false,
        }
    }
}

/// One subscriber's outcome.
#[derive(Debug, Clone, Copy)]
pub struct SubResult {
    pub received: u64,
    pub last: Option<Instant>,
}

/// One publisher's outcome.
#[derive(Debug, Clone, Copy)]
pub struct PubResult {
    pub sent: u64,
    /// From the common start until the server confirmed (PONG / flush) the last message.
    pub elapsed: Duration,
}

/// What a publisher is asked to do.
#[derive(Debug, Clone)]
pub struct PubJob {
    pub subject: String,
    pub size: usize,
    pub count: u64,
    pub deadline: Option<Duration>,
}

pub async fn run(
    server: &str,
    monitor_url: Option<&str>,
    args: &PubSubArgs,
) -> anyhow::Result<Report> {
    anyhow::ensure!(args.pubs > 0, "--pubs must be at least 1");
    let mut report = Report::new(if args.subs == 0 { "pub" } else { "pubsub" });
    report.set("client", args.client.name());
    report.set("pubs", args.pubs as u64);
    report.set("subs", args.subs as u64);
    report.set("queue", args.queue.clone().unwrap_or_default());
    report.set("size", args.size as u64);

    let state = Arc::new(SubState {
        total: AtomicU64::new(0),
        expected: AtomicU64::new(u64::MAX),
        pubs_done: OnceLock::new(),
        idle_timeout: args.timeout,
    });
    let expected_total = |sent: u64| {
        if args.queue.is_some() {
            sent
        } else {
            sent * args.subs as u64
        }
    };
    if args.duration.is_none() {
        state
            .expected
            .store(expected_total(args.msgs), Ordering::Relaxed);
    }

    // Subscribers first; each is registered (PING/PONG) before publishing starts.
    let sub_server = args.sub_server.as_deref().unwrap_or(server);
    report.set("sub_server", sub_server);
    let mut subs = Vec::new();
    for i in 0..args.subs {
        let state = state.clone();
        let sub = match args.client {
            Client::Raw => {
                raw::Subscriber::connect(sub_server, &args.subject, args.queue.as_deref(), i)
                    .await
                    .map(SubHandle::Raw)
            }
            Client::AsyncNats => {
                nats_client::Subscriber::connect(sub_server, &args.subject, args.queue.as_deref())
                    .await
                    .map(SubHandle::Nats)
            }
        }
        .with_context(|| format!("subscriber {i}"))?;
        subs.push((sub, state));
    }
    // Across a route, the interest must reach the publisher's server first.
    if args.sub_server.is_some()
        && args.subs > 0
        && let Some(m) = monitor_url
    {
        monitor::wait_route_interest(m, &args.subject, Duration::from_secs(15)).await?;
    }

    let before = match monitor_url {
        Some(m) => Some(monitor::varz(m).await?),
        None => None,
    };

    let barrier = Arc::new(Barrier::new(args.pubs + 1));
    let mut pubs = Vec::new();
    for i in 0..args.pubs {
        let share =
            args.msgs / args.pubs as u64 + u64::from((i as u64) < args.msgs % args.pubs as u64);
        let job = PubJob {
            subject: args.subject.clone(),
            size: args.size,
            count: if args.duration.is_some() {
                u64::MAX
            } else {
                share
            },
            deadline: args.duration,
        };
        let barrier = barrier.clone();
        let handle = match args.client {
            Client::Raw => {
                let p = raw::Publisher::connect(server)
                    .await
                    .with_context(|| format!("publisher {i}"))?;
                tokio::spawn(p.run(job, barrier))
            }
            Client::AsyncNats => {
                let p = nats_client::Publisher::connect(server)
                    .await
                    .with_context(|| format!("publisher {i}"))?;
                tokio::spawn(p.run(job, barrier))
            }
        };
        pubs.push(handle);
    }
    let sub_tasks: Vec<_> = subs
        .into_iter()
        .map(|(s, state)| tokio::spawn(s.run(state)))
        .collect();

    barrier.wait().await;
    let start = Instant::now();
    let mut pub_results = Vec::new();
    for p in pubs {
        pub_results.push(p.await.context("publisher task")??);
    }
    let _ = state.pubs_done.set(Instant::now());
    let sent: u64 = pub_results.iter().map(|p| p.sent).sum();
    state
        .expected
        .store(expected_total(sent), Ordering::Relaxed);

    let mut sub_results = Vec::new();
    for t in sub_tasks {
        sub_results.push(t.await.context("subscriber task")??);
    }

    let pub_elapsed = pub_results
        .iter()
        .map(|p| p.elapsed)
        .max()
        .unwrap_or_default();
    report.set("sent", sent);
    report.set_f("pub_elapsed_s", pub_elapsed.as_secs_f64());
    report.set_f(
        "pub_msgs_per_s",
        sent as f64 / pub_elapsed.as_secs_f64().max(1e-9),
    );
    report.set_f(
        "pub_mib_per_s",
        (sent * args.size as u64) as f64 / pub_elapsed.as_secs_f64().max(1e-9) / 1048576.0,
    );

    if args.subs > 0 {
        let received: u64 = sub_results.iter().map(|s| s.received).sum();
        let last = sub_results.iter().filter_map(|s| s.last).max();
        let sub_elapsed = last.map_or(Duration::ZERO, |l| l.saturating_duration_since(start));
        let expected = expected_total(sent);
        report.set("received", received);
        report.set("expected", expected);
        report.set("lost", expected as i64 - received as i64);
        report.set_f("sub_elapsed_s", sub_elapsed.as_secs_f64());
        report.set_f(
            "sub_msgs_per_s",
            received as f64 / sub_elapsed.as_secs_f64().max(1e-9),
        );
        report.set_f(
            "sub_mib_per_s",
            (received * args.size as u64) as f64 / sub_elapsed.as_secs_f64().max(1e-9) / 1048576.0,
        );
        if args.queue.is_some() {
            report.check_count("queue group", received, sent);
        } else {
            for (i, s) in sub_results.iter().enumerate() {
                report.check_count(&format!("subscriber {i}"), s.received, sent);
            }
        }
    }
    // The main throughput figure: deliveries for pub/sub, publishes for publish-only.
    let msgs_per_s = if args.subs > 0 {
        report_value(&report, "sub_msgs_per_s")
    } else {
        report_value(&report, "pub_msgs_per_s")
    };
    report.set_f("msgs_per_s", msgs_per_s);

    if let (Some(m), Some(before)) = (monitor_url, before) {
        let after = monitor::varz(m).await?;
        let in_delta = monitor::field(&after, "in_msgs")? - monitor::field(&before, "in_msgs")?;
        let out_delta = monitor::field(&after, "out_msgs")? - monitor::field(&before, "out_msgs")?;
        report.set("server_in_msgs", in_delta);
        report.set("server_out_msgs", out_delta);
        // Across a route the publisher's server also counts what its peer routes to it (the
        // subscribers' own traffic), so only a single-server run has an exact figure.
        if args.sub_server.is_none() {
            report.check_count("server in_msgs (/varz)", in_delta, sent);
        }
    } else if args.subs == 0 {
        report.set("server_in_msgs", "unchecked (no --monitor)");
    }
    Ok(report)
}

fn report_value(r: &Report, key: &str) -> f64 {
    r.get(key)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0)
}

/// A connected subscriber of either kind.
enum SubHandle {
    Raw(raw::Subscriber),
    Nats(nats_client::Subscriber),
}

impl SubHandle {
    async fn run(self, state: Arc<SubState>) -> anyhow::Result<SubResult> {
        match self {
            SubHandle::Raw(s) => s.run(state).await,
            SubHandle::Nats(s) => s.run(state).await,
        }
    }
}
