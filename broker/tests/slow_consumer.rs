//! A subscriber that never reads is cut as a slow consumer; another subscriber that keeps
//! reading gets every message, and the server's memory stays bounded by `max_pending`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::process::{TempDir, rnats_bin, spawn};

/// Messages published (1 KiB each): ~100 MiB addressed to the stalled subscriber.
const N: usize = 100_096;
/// Messages per batch (256 KiB, a quarter of max_pending).
const BATCH: usize = 256;
const T: Duration = Duration::from_secs(10);

/// Opens a raw client connection, sends `CONNECT` plus `extra`, and waits for the PONG.
async fn client(port: u16, extra: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let hello = format!("CONNECT {{\"verbose\":false}}\r\n{extra}PING\r\n");
    s.write_all(hello.as_bytes()).await.expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("PONG") {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "server closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_cut_and_others_get_everything() {
    let dir = TempDir::new("slow");
    let conf = dir.path().join("slow.conf");
    std::fs::write(&conf, "max_pending: 1MB\nmax_payload: 64KB\n").expect("write config");
    let srv = spawn(&rnats_bin(), &["-c", &conf.display().to_string()]);

    // The stalled subscriber subscribes and then never reads.
    let mut stalled = client(srv.client_port, "SUB flood 1\r\n").await;
    // The reading subscriber counts the MSG lines it receives.
    let mut reader = client(srv.client_port, "SUB flood 1\r\n").await;
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let reading = tokio::spawn(async move {
        let needle = b"MSG flood 1 1024\r\n";
        let mut buf = vec![0u8; 1 << 20];
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            carry.extend_from_slice(&buf[..n]);
            let found = carry.windows(needle.len()).filter(|w| *w == needle).count();
            counted.fetch_add(found, Ordering::AcqRel);
            // Keep a tail that may hold the start of a split MSG line.
            let keep = carry.len().min(needle.len() - 1);
            carry.drain(..carry.len() - keep);
        }
    });

    // Batches, each waited for at the reading subscriber: it never lags by more than a batch
    // (well under max_pending) while the stalled one falls further behind with every batch.
    let mut publisher = client(srv.client_port, "").await;
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend_from_slice(b"PUB flood 1024\r\n");
        batch.extend_from_slice(&[b'x'; 1024]);
        batch.extend_from_slice(b"\r\n");
    }
    for b in 0..N / BATCH {
        publisher.write_all(&batch).await.expect("publish");
        let want = (b + 1) * BATCH;
        let deadline = tokio::time::Instant::now() + T;
        while count.load(Ordering::Acquire) < want {
            assert!(
                tokio::time::Instant::now() < deadline,
                "reader stuck at {} of {want}; log:\n{}",
                count.load(Ordering::Acquire),
                srv.log()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    assert_eq!(
        count.load(Ordering::Acquire),
        N,
        "the reading subscriber got every message"
    );
    reading.abort();

    let varz = format!(
        "http://127.0.0.1:{}/varz",
        srv.http_port.expect("monitoring")
    );
    assert_eq!(
        http_get_json(&varz).await["slow_consumers"].as_u64(),
        Some(1),
        "exactly the stalled subscriber was cut as a slow consumer"
    );
    assert!(
        srv.log()
            .contains("Slow Consumer Detected: MaxPending of 1048576 Exceeded")
    );
    // Had the ~100 MiB for the stalled subscriber been queued, the server's RSS would show it.
    let rss = server_rss(srv.pid());
    assert!(
        rss < 48 * 1024 * 1024,
        "server memory stayed bounded: {rss} bytes"
    );

    // The stalled socket sees the end of the stream without an -ERR (nats-server closes slow
    // consumers silently).
    let mut rest = Vec::new();
    let drained = tokio::time::timeout(T, stalled.read_to_end(&mut rest));
    assert!(drained.await.is_ok(), "connection closed");
    assert!(
        !String::from_utf8_lossy(&rest).contains("-ERR"),
        "no -ERR to a slow consumer"
    );
}

/// Resident memory of a process, from `/proc/<pid>/status`.
fn server_rss(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse().ok())
        .expect("kB");
    kb * 1024
}

/// GET a JSON document over plain HTTP/1.0 (enough for the monitoring port).
async fn http_get_json(url: &str) -> serde_json::Value {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut s = TcpStream::connect(host).await.expect("connect monitor");
    let req = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("request");
    let mut body = Vec::new();
    s.read_to_end(&mut body).await.expect("response");
    let text = String::from_utf8_lossy(&body);
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(json).expect("JSON body")
}
