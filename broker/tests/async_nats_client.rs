//! The async-nats client against an in-process rnats server: every core feature end to end.

mod common;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use common::{start, test_options, url};

const T: Duration = Duration::from_secs(5);

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("stream open")
}

#[tokio::test]
async fn pub_sub_and_wildcards() {
    let srv = start(test_options()).await;
    let nc = async_nats::connect(url(&srv)).await.expect("connect");
    let mut exact = nc.subscribe("orders.new").await.expect("sub");
    let mut star = nc.subscribe("orders.*").await.expect("sub");
    let mut tail = nc.subscribe("orders.>").await.expect("sub");
    let mut other = nc.subscribe("other").await.expect("sub");
    nc.flush().await.expect("flush");

    nc.publish("orders.new", "a".into()).await.expect("pub");
    nc.publish("orders.eu.new", "b".into()).await.expect("pub");
    nc.publish("other", "c".into()).await.expect("pub");
    nc.flush().await.expect("flush");

    assert_eq!(next(&mut exact).await.payload, Bytes::from("a"));
    assert_eq!(next(&mut star).await.payload, Bytes::from("a"));
    assert_eq!(next(&mut tail).await.payload, Bytes::from("a"));
    let m = next(&mut tail).await;
    assert_eq!(
        (m.subject.as_str(), m.payload),
        ("orders.eu.new", Bytes::from("b"))
    );
    assert_eq!(next(&mut other).await.payload, Bytes::from("c"));
    // `orders.*` must not have matched the three-token subject.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), star.next())
            .await
            .is_err()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn queue_group_spreads_and_delivers_once() {
    let srv = start(test_options()).await;
    let nc = async_nats::connect(url(&srv)).await.expect("connect");
    let mut members = Vec::new();
    for _ in 0..3 {
        let c = async_nats::connect(url(&srv)).await.expect("connect");
        let s = c.queue_subscribe("work", "g".into()).await.expect("qsub");
        c.flush().await.expect("flush");
        members.push((c, s));
    }
    let mut plain = nc.subscribe("work").await.expect("sub");
    nc.flush().await.expect("flush");
    const N: usize = 300;
    for i in 0..N {
        nc.publish("work", format!("{i}").into())
            .await
            .expect("pub");
    }
    nc.flush().await.expect("flush");
    for _ in 0..N {
        next(&mut plain).await;
    }
    let mut counts = Vec::new();
    for (c, s) in &mut members {
        c.flush().await.expect("flush");
        let mut n = 0;
        while tokio::time::timeout(Duration::from_millis(200), s.next())
            .await
            .is_ok()
        {
            n += 1;
        }
        counts.push(n);
    }
    assert_eq!(
        counts.iter().sum::<usize>(),
        N,
        "each message to exactly one member: {counts:?}"
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "load spread over every member: {counts:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn request_reply_headers_and_no_responders() {
    let srv = start(test_options()).await;
    let svc = async_nats::connect(url(&srv)).await.expect("connect");
    let mut requests = svc.subscribe("svc.echo").await.expect("sub");
    svc.flush().await.expect("flush");
    let responder = tokio::spawn(async move {
        while let Some(m) = requests.next().await {
            let mut h = async_nats::HeaderMap::new();
            let got = m
                .headers
                .as_ref()
                .and_then(|h| h.get("X-In"))
                .map(|v| v.to_string());
            h.insert("X-Out", got.unwrap_or_default().as_str());
            if let Some(reply) = m.reply {
                svc.publish_with_headers(reply, h, m.payload)
                    .await
                    .expect("reply");
            }
        }
    });
    let nc = async_nats::connect(url(&srv)).await.expect("connect");
    let mut h = async_nats::HeaderMap::new();
    h.insert("X-In", "v1");
    let resp = nc
        .request_with_headers("svc.echo", h, "ping".into())
        .await
        .expect("request answered");
    assert_eq!(resp.payload, Bytes::from("ping"));
    let out = resp
        .headers
        .as_ref()
        .and_then(|h| h.get("X-Out"))
        .map(|v| v.to_string());
    assert_eq!(out.as_deref(), Some("v1"));

    let err = nc
        .request("nobody.home", "x".into())
        .await
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    responder.abort();
    srv.shutdown().await;
}

#[tokio::test]
async fn auto_unsubscribe_and_echo_off() {
    let srv = start(test_options()).await;
    let nc = async_nats::connect(url(&srv)).await.expect("connect");
    let mut sub = nc.subscribe("limited").await.expect("sub");
    sub.unsubscribe_after(2).await.expect("unsub max");
    nc.flush().await.expect("flush");
    for i in 0..5 {
        nc.publish("limited", format!("{i}").into())
            .await
            .expect("pub");
    }
    nc.flush().await.expect("flush");
    assert_eq!(next(&mut sub).await.payload, Bytes::from("0"));
    assert_eq!(next(&mut sub).await.payload, Bytes::from("1"));
    let end = tokio::time::timeout(T, sub.next())
        .await
        .expect("stream ends");
    assert!(end.is_none(), "subscription ends after its max");

    let quiet = async_nats::ConnectOptions::new()
        .no_echo()
        .connect(url(&srv))
        .await
        .expect("c");
    let mut own = quiet.subscribe("echo").await.expect("sub");
    let mut others = nc.subscribe("echo").await.expect("sub");
    quiet.flush().await.expect("flush");
    nc.flush().await.expect("flush");
    quiet.publish("echo", "mine".into()).await.expect("pub");
    quiet.flush().await.expect("flush");
    assert_eq!(next(&mut others).await.payload, Bytes::from("mine"));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), own.next())
            .await
            .is_err()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn max_payload_is_enforced_by_server_info() {
    let mut opts = test_options();
    opts.max_payload = 1024;
    let srv = start(opts).await;
    let nc = async_nats::connect(url(&srv)).await.expect("connect");
    assert_eq!(nc.server_info().max_payload, 1024);
    let err = nc
        .publish("big", Bytes::from(vec![b'x'; 2000]))
        .await
        .expect_err("too big");
    assert!(err.to_string().contains("payload"), "{err}");
    nc.publish("ok", Bytes::from(vec![b'x'; 1000]))
        .await
        .expect("fits");
    srv.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_server_restart() {
    let srv = start(test_options()).await;
    let addr = srv.client_addr;
    let nc = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(url(&srv))
        .await
        .expect("connect");
    let mut sub = nc.subscribe("after.restart").await.expect("sub");
    nc.flush().await.expect("flush");
    srv.shutdown().await;

    let mut opts = test_options();
    opts.port = Some(addr.port());
    let srv = start(opts).await;
    // The client re-subscribes on reconnect; publish until the message comes through.
    let got = tokio::time::timeout(T, async {
        loop {
            let _ = nc.publish("after.restart", "back".into()).await;
            let _ = nc.flush().await;
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .expect("delivery after restart");
    assert_eq!(got.payload, Bytes::from("back"));
    srv.shutdown().await;
}
