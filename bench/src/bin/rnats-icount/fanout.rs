//! Fan-out workload: an in-process rnats server on a current-thread runtime, one raw
//! publisher and 16 raw subscribers on loopback, all in one thread.
//!
//! The publisher writes a batch of 100 `PUB`s and a `PING` in one write and waits for
//! `PONG`; then each subscriber reads exactly the bytes its 100 `MSG`s take and checks them.
//! Everything happens in lock step in a single thread, so the server sees the same reads and
//! does the same work on every run. The one timer-driven event is the server's first PING
//! (2 s after connecting, as nats-server does); whether it falls inside the run depends on
//! the speed of the machine, and costs a few thousand instructions when it does.

use std::net::SocketAddr;

use anyhow::{Context as _, ensure};
use rnats_broker::launch;
use rnats_broker::options::Options;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SUBSCRIBERS: usize = 16;
const BATCH: usize = 100;
const BATCHES: usize = 200;
const SUBJECT: &str = "bench.fanout";
const PAYLOAD: &[u8; 16] = b"0123456789abcdef";

pub fn run() -> anyhow::Result<String> {
    on_one_thread(workload())
}

/// Runs a workload on a current-thread runtime, so the server does the same work every run.
pub fn on_one_thread(
    workload: impl std::future::Future<Output = anyhow::Result<String>>,
) -> anyhow::Result<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    rt.block_on(workload)
}

/// An in-process rnats server on a free loopback port, without monitoring.
pub async fn start_server() -> anyhow::Result<launch::Running> {
    let opts = Options {
        host: "127.0.0.1".to_string(),
        port: None,
        http_port: None,
        ..Options::default()
    };
    launch::start(opts).await
}

async fn workload() -> anyhow::Result<String> {
    let server = start_server().await?;
    let addr = server.client_addr;

    let mut subs = Vec::new();
    for i in 0..SUBSCRIBERS {
        let sid = i + 1;
        let s = connect(addr, &format!("SUB {SUBJECT} {sid}\r\n")).await?;
        let mut expect = Vec::new();
        for _ in 0..BATCH {
            expect.extend_from_slice(format!("MSG {SUBJECT} {sid} 16\r\n").as_bytes());
            expect.extend_from_slice(PAYLOAD);
            expect.extend_from_slice(b"\r\n");
        }
        subs.push((s, expect));
    }
    let mut publisher = connect(addr, "").await?;
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend_from_slice(format!("PUB {SUBJECT} 16\r\n").as_bytes());
        batch.extend_from_slice(PAYLOAD);
        batch.extend_from_slice(b"\r\n");
    }
    batch.extend_from_slice(b"PING\r\n");

    let mut got = Vec::new();
    for n in 0..BATCHES {
        publisher.write_all(&batch).await?;
        let mut pong = Vec::new();
        read_expecting(&mut publisher, &mut pong, b"PONG\r\n")
            .await
            .with_context(|| format!("batch {n}: publisher"))?;
        for (i, (s, expect)) in subs.iter_mut().enumerate() {
            read_expecting(s, &mut got, expect)
                .await
                .with_context(|| format!("batch {n}: subscriber {i}"))?;
        }
    }
    drop(publisher);
    drop(subs);
    server.shutdown().await;
    Ok(format!(
        "{} messages to {SUBSCRIBERS} subscribers, {} deliveries",
        BATCH * BATCHES,
        BATCH * BATCHES * SUBSCRIBERS
    ))
}

/// Reads exactly the bytes of `expect`, answering (and dropping) a server PING that arrives
/// between frames.
pub async fn read_expecting(
    s: &mut TcpStream,
    got: &mut Vec<u8>,
    expect: &[u8],
) -> anyhow::Result<()> {
    got.clear();
    got.resize(expect.len(), 0);
    s.read_exact(got).await?;
    while got != expect {
        // The PING starts at a frame boundary at or shortly before the first difference
        // (`PING` and `PONG` share their first byte).
        let same = got.iter().zip(expect).take_while(|(a, b)| a == b).count();
        let at = (same.saturating_sub(5)..=same)
            .rev()
            .find(|&i| got[i..].starts_with(b"PING\r\n"));
        let Some(at) = at else {
            anyhow::bail!("unexpected bytes at offset {same}");
        };
        got.drain(at..at + 6);
        s.write_all(b"PONG\r\n").await?;
        let have = got.len();
        got.resize(expect.len(), 0);
        s.read_exact(&mut got[have..]).await?;
    }
    Ok(())
}

/// Connects, reads INFO, sends CONNECT, `extra` and PING, and reads up to PONG; then PING
/// again and reads up to the second PONG, which also consumes the INFO a server sends after
/// the first PONG to a protocol-1 client.
pub async fn connect(addr: SocketAddr, extra: &str) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let hello = format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"protocol\":1}}\r\n{extra}PING\r\n"
    );
    s.write_all(hello.as_bytes()).await?;
    read_to_pong(&mut s).await?;
    s.write_all(b"PING\r\n").await?;
    read_to_pong(&mut s).await?;
    Ok(s)
}

/// Reads byte by byte up to and including `PONG\r\n`.
async fn read_to_pong(s: &mut TcpStream) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"PONG\r\n") {
        ensure!(
            s.read(&mut byte).await? == 1,
            "connection closed during handshake"
        );
        seen.push(byte[0]);
        ensure!(seen.len() < 64 * 1024, "no PONG in handshake");
    }
    Ok(())
}
