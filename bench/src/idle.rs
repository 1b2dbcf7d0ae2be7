//! Idle connections: open `conns` connections (full handshake), hold them, and report the
//! server's RSS growth per connection (`--pid`) and its `/varz` connection count.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::sync::Semaphore;

use crate::cli::IdleArgs;
use crate::report::Report;
use crate::{monitor, proto};

pub async fn run(
    server: &str,
    monitor_url: Option<&str>,
    args: &IdleArgs,
) -> anyhow::Result<Report> {
    let mut report = Report::new("idle");
    report.set("connections", args.conns as u64);
    let rss_before = args.pid.map(monitor::rss_bytes).transpose()?;
    let base_conns = match monitor_url {
        Some(m) => Some(monitor::field(&monitor::varz(m).await?, "connections")?),
        None => None,
    };

    let addr = proto::host_port(server).to_string();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let (addr, gate) = (addr.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            proto::connect(&addr).await
        }));
    }
    let mut held = Vec::with_capacity(args.conns);
    let mut failed = 0u64;
    let mut first_err = None;
    for t in tasks {
        match t.await.context("connect task")? {
            Ok(conn) => held.push(conn),
            Err(e) => {
                failed += 1;
                first_err.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let open_s = start.elapsed().as_secs_f64();
    report.set("opened", held.len() as u64);
    report.set("failed", failed);
    report.set_f("open_conns_per_s", held.len() as f64 / open_s.max(1e-9));
    if let Some(e) = first_err {
        report.fail(format!(
            "{failed} of {} connections failed; first: {e}",
            args.conns
        ));
    }

    tokio::time::sleep(args.hold).await;
    if let (Some(m), Some(base)) = (monitor_url, base_conns) {
        let now = monitor::field(&monitor::varz(m).await?, "connections")?;
        report.set("server_connections", now);
        report.check_count(
            "server connections (/varz)",
            now.saturating_sub(base),
            held.len() as u64,
        );
    }
    if let (Some(pid), Some(before)) = (args.pid, rss_before) {
        let after = monitor::rss_bytes(pid)?;
        report.set_f("rss_before_mib", before as f64 / 1048576.0);
        report.set_f("rss_held_mib", after as f64 / 1048576.0);
        let per_conn = after.saturating_sub(before) as f64 / held.len().max(1) as f64;
        report.set_f("rss_per_conn_kib", per_conn / 1024.0);
    }
    drop(held);
    Ok(report)
}
