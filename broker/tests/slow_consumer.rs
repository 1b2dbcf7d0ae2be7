//! A subscriber that never reads is cut as a slow consumer; the others get every message and
//! the server's memory stays bounded by `max_pending`.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{start, test_options, url, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_cut_and_others_get_everything() {
    let mut opts = test_options();
    opts.max_pending = 512 * 1024;
    let srv = start(opts).await;

    // The stalled subscriber: a raw socket that subscribes and then never reads.
    let mut stalled = TcpStream::connect(srv.client_addr).await.expect("connect");
    stalled
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
        .await
        .expect("w");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("PONG") {
        let n = stalled.read(&mut buf).await.expect("read");
        assert!(n > 0, "server closed early");
        seen.extend_from_slice(&buf[..n]);
    }

    let reader = async_nats::connect(url(&srv)).await.expect("connect");
    let mut sub = reader.subscribe("flood").await.expect("sub");
    reader.flush().await.expect("flush");
    let counter = tokio::spawn(async move {
        let mut n = 0usize;
        while n < N {
            match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                Ok(Some(_)) => n += 1,
                _ => break,
            }
        }
        n
    });

    const N: usize = 100_000;
    let payload = Bytes::from(vec![b'x'; 1024]);
    let rss_before = rnats_broker::procstat::rss_bytes().expect("rss");
    let publisher = async_nats::connect(url(&srv)).await.expect("connect");
    for _ in 0..N {
        publisher
            .publish("flood", payload.clone())
            .await
            .expect("publish");
    }
    publisher.flush().await.expect("flush");

    let received = counter.await.expect("counter task");
    assert_eq!(received, N, "the reading subscriber got every message");
    let stats = &srv.server.stats;
    assert!(
        wait_for(Duration::from_secs(5), || stats
            .slow_consumers
            .load(Ordering::Relaxed)
            == 1)
        .await,
        "the stalled subscriber was cut as a slow consumer"
    );
    // ~100 MiB went to the stalled subscriber; had it been queued, RSS would show it.
    let rss_after = rnats_broker::procstat::rss_bytes().expect("rss");
    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < 48 * 1024 * 1024,
        "memory stayed bounded, grew {growth} bytes"
    );

    // The stalled socket sees the end of the stream without an -ERR (nats-server closes slow
    // consumers silently).
    let mut rest = Vec::new();
    let drained =
        tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut rest)).await;
    assert!(drained.is_ok(), "connection closed");
    assert!(
        !String::from_utf8_lossy(&rest).contains("-ERR"),
        "no -ERR to a slow consumer"
    );
    srv.shutdown().await;
}
