//! Publish-only workload: an in-process rnats server on a current-thread runtime and one raw
//! publisher on loopback, no subscribers, all in one thread.
//!
//! The publisher writes a batch of 1,000 `PUB`s of 16 bytes (nats-bench's subject, 24 KB)
//! and a `PING` in one write and waits for `PONG`, 100 times. The server's read, parse,
//! permission and account checks, match (empty), and counting run for every message; the
//! run checks the server's `in_msgs` at the end. As in the fan-out workload, the server's
//! first PING (2 s after connecting) may or may not fall inside the run.

use std::sync::atomic::Ordering;

use anyhow::{Context as _, ensure};
use tokio::io::AsyncWriteExt as _;

use crate::fanout::{connect, on_one_thread, read_expecting, start_server};

const BATCH: usize = 1000;
const BATCHES: usize = 100;
const SUBJECT: &str = "bench.pubonly";
const PAYLOAD: &[u8; 16] = b"0123456789abcdef";

pub fn run() -> anyhow::Result<String> {
    on_one_thread(workload())
}

async fn workload() -> anyhow::Result<String> {
    let server = start_server().await?;
    let mut publisher = connect(server.client_addr, "").await?;
    let before = server.server.stats.in_msgs.load(Ordering::Relaxed);
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend_from_slice(format!("PUB {SUBJECT} 16\r\n").as_bytes());
        batch.extend_from_slice(PAYLOAD);
        batch.extend_from_slice(b"\r\n");
    }
    batch.extend_from_slice(b"PING\r\n");
    let mut pong = Vec::new();
    for n in 0..BATCHES {
        publisher.write_all(&batch).await?;
        read_expecting(&mut publisher, &mut pong, b"PONG\r\n")
            .await
            .with_context(|| format!("batch {n}"))?;
    }
    let got = server.server.stats.in_msgs.load(Ordering::Relaxed) - before;
    ensure!(
        got == (BATCH * BATCHES) as u64,
        "server counted {got} messages in, sent {}",
        BATCH * BATCHES
    );
    drop(publisher);
    server.shutdown().await;
    Ok(format!("{} messages, no subscribers", BATCH * BATCHES))
}
