//! Synchronous request/reply latency: one requester, one responder, one request in flight;
//! round trips recorded in an HDR histogram (1 µs .. 60 s, 3 significant digits).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt as _;

use crate::cli::{Client, ReqRepArgs};
use crate::nats_client;
use crate::proto::{self, Frame};
use crate::report::Report;

/// Longest a single request may wait for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(server: &str, args: &ReqRepArgs) -> anyhow::Result<Report> {
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("histogram bounds")?;
    let start;
    match args.client {
        Client::Raw => {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let responder = tokio::spawn(raw_responder(
                server.to_string(),
                args.subject.clone(),
                args.size,
                ready_tx,
            ));
            // Its subscription is in place once it has had PONG.
            ready_rx.await.context("responder did not come up")?;
            let (mut stream, mut reader) = proto::connect(proto::host_port(server)).await?;
            let inbox = format!("_INBOX.rnatsbench.{}", std::process::id());
            stream
                .write_all(format!("SUB {inbox} 1\r\nPING\r\n").as_bytes())
                .await?;
            reader.wait_pong(&mut stream).await?;
            let mut request =
                format!("PUB {} {inbox} {}\r\n", args.subject, args.size).into_bytes();
            request.resize(request.len() + args.size, b'x');
            request.extend_from_slice(b"\r\n");
            let mut timed_start = Instant::now();
            for i in 0..args.warmup + args.msgs {
                if i == args.warmup {
                    timed_start = Instant::now();
                }
                let t0 = Instant::now();
                stream.write_all(&request).await?;
                tokio::time::timeout(REPLY_TIMEOUT, await_msg(&mut stream, &mut reader))
                    .await
                    .with_context(|| format!("request {i}: no reply"))??;
                if i >= args.warmup {
                    hist.record(nanos(t0.elapsed()))?;
                }
            }
            start = timed_start;
            responder.abort();
        }
        Client::AsyncNats => {
            let client = nats_client::connect(server).await?;
            let service = nats_client::connect(server).await?;
            let mut sub = service.subscribe(args.subject.clone()).await?;
            service.flush().await?;
            let reply_payload = Bytes::from(vec![b'x'; args.size]);
            let responder = tokio::spawn(async move {
                while let Some(msg) = sub.next().await {
                    if let Some(reply) = msg.reply {
                        let _ = service.publish(reply, reply_payload.clone()).await;
                    }
                }
            });
            let payload = Bytes::from(vec![b'x'; args.size]);
            // async-nats' flush does not wait for the server to have processed the SUB, so
            // probe (uncounted) until the responder answers instead of no-responders.
            let deadline = Instant::now() + REPLY_TIMEOUT;
            loop {
                match client.request(args.subject.clone(), payload.clone()).await {
                    Ok(_) => break,
                    Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(e) => return Err(e).context("responder never answered"),
                }
            }
            let mut timed_start = Instant::now();
            for i in 0..args.warmup + args.msgs {
                if i == args.warmup {
                    timed_start = Instant::now();
                }
                let t0 = Instant::now();
                tokio::time::timeout(
                    REPLY_TIMEOUT,
                    client.request(args.subject.clone(), payload.clone()),
                )
                .await
                .with_context(|| format!("request {i}: no reply"))?
                .with_context(|| format!("request {i}"))?;
                if i >= args.warmup {
                    hist.record(nanos(t0.elapsed()))?;
                }
            }
            start = timed_start;
            responder.abort();
        }
    }
    let elapsed = start.elapsed();
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let mut report = Report::new("reqrep");
    report.set("client", args.client.name());
    report.set("size", args.size as u64);
    report.set("requests", hist.len());
    report.set_f(
        "req_per_s",
        hist.len() as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    report.set_f("p50_us", us(0.50));
    report.set_f("p90_us", us(0.90));
    report.set_f("p99_us", us(0.99));
    report.set_f("p99_9_us", us(0.999));
    report.set_f("max_us", hist.max() as f64 / 1000.0);
    report.set_f("mean_us", hist.mean() / 1000.0);
    report.check_count("replies", hist.len(), args.msgs);
    Ok(report)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Reads until one MSG arrives (answering PINGs).
async fn await_msg(
    stream: &mut proto::Stream,
    reader: &mut proto::FrameReader,
) -> anyhow::Result<()> {
    loop {
        let mut ping = false;
        let mut got = false;
        while let Some(frame) = reader.next_frame()? {
            match frame {
                Frame::Msg { .. } => {
                    got = true;
                    break;
                }
                Frame::Ping => ping = true,
                Frame::Err(e) => bail!("server error: {}", String::from_utf8_lossy(e)),
                Frame::Pong | Frame::Other => {}
            }
        }
        if ping {
            stream.write_all(b"PONG\r\n").await?;
        }
        if got {
            return Ok(());
        }
        if reader.fill(stream).await? == 0 {
            bail!("connection closed by the server");
        }
    }
}

/// Answers every request on `subject` with a `size`-byte payload, until aborted. Sends on
/// `ready` once subscribed.
async fn raw_responder(
    server: String,
    subject: String,
    size: usize,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let (mut stream, mut reader) = proto::connect(proto::host_port(&server)).await?;
    stream
        .write_all(format!("SUB {subject} 1\r\nPING\r\n").as_bytes())
        .await?;
    reader.wait_pong(&mut stream).await?;
    let _ = ready.send(());
    let mut tail = format!(" {size}\r\n").into_bytes();
    tail.resize(tail.len() + size, b'x');
    tail.extend_from_slice(b"\r\n");
    let mut out = Vec::new();
    loop {
        out.clear();
        while let Some(frame) = reader.next_frame()? {
            match frame {
                Frame::Msg { reply: Some(r) } => {
                    out.extend_from_slice(b"PUB ");
                    out.extend_from_slice(r);
                    out.extend_from_slice(&tail);
                }
                Frame::Ping => out.extend_from_slice(b"PONG\r\n"),
                Frame::Err(e) => bail!("server error: {}", String::from_utf8_lossy(e)),
                _ => {}
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if reader.fill(&mut stream).await? == 0 {
            return Ok(());
        }
    }
}
