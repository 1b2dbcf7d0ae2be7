//! Connection storm: `concurrency` workers open connections back to back (connect, INFO,
//! CONNECT, PING, PONG, close) until `conns` handshakes are done; reports connections/s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;

use crate::cli::StormArgs;
use crate::proto;
use crate::report::Report;

pub async fn run(server: &str, args: &StormArgs) -> anyhow::Result<Report> {
    let addr = proto::host_port(server).to_string();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (addr, next, total) = (addr.clone(), next.clone(), args.conns);
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut first_err) = (0u64, 0u64, None);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                match proto::connect(&addr).await {
                    Ok(conn) => {
                        ok += 1;
                        drop(conn);
                    }
                    Err(e) => {
                        failed += 1;
                        first_err.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (ok, failed, first_err)
        }));
    }
    let (mut ok, mut failed, mut errors) = (0u64, 0u64, Vec::new());
    for w in workers {
        let (o, f, e) = w.await.context("storm worker")?;
        ok += o;
        failed += f;
        errors.extend(e);
    }
    let elapsed = start.elapsed();
    let mut report = Report::new("storm");
    report.set("concurrency", args.concurrency as u64);
    report.set("connections", ok);
    report.set("failed", failed);
    report.set_f("elapsed_s", elapsed.as_secs_f64());
    report.set_f("conns_per_s", ok as f64 / elapsed.as_secs_f64().max(1e-9));
    if failed > 0 {
        report.fail(format!(
            "{failed} of {} connections failed; first: {}",
            args.conns,
            errors.first().map_or("?", String::as_str)
        ));
    }
    Ok(report)
}
