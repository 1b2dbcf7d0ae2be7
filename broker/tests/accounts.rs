//! Accounts end to end with async-nats: users bound to accounts from `accounts {}`, each
//! account its own subject space, the account in `/connz` and `/accountz`, and internal
//! subscriptions (the server's own consumers) and internal publishing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use common::process::TempDir;
use common::{start, test_options, wait_for};
use rnats_broker::launch::Running;
use rnats_broker::subscription::{InternalMsg, Subscription};

const T: Duration = Duration::from_secs(5);
/// How long a test waits to be sure a message does not arrive.
const QUIET: Duration = Duration::from_millis(200);

const CONF: &str = r#"
accounts {
  A: { users: [ {user: a, password: pa}, {user: a2, password: pa2} ] }
  B: { users: [ {user: b, password: pb} ] }
}
authorization { users: [ {user: g, password: pg} ] }
"#;

async fn start_conf(tag: &str, conf: &str) -> (Running, TempDir) {
    let dir = TempDir::new(tag);
    let path = dir.path().join("accounts.conf");
    std::fs::write(&path, conf).expect("write config");
    let mut opts = test_options();
    rnats_broker::config::load(&path, &mut opts).expect("config loads");
    (start(opts).await, dir)
}

async fn connect(srv: &Running, user: &str, pass: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
        .connect(format!("nats://{}", srv.client_addr))
        .await
        .expect("connect")
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("stream open")
}

async fn silent(sub: &mut async_nats::Subscriber) -> bool {
    tokio::time::timeout(QUIET, sub.next()).await.is_err()
}

#[tokio::test]
async fn accounts_are_separate_subject_spaces() {
    let (srv, _dir) = start_conf("acc-iso", CONF).await;
    let a = connect(&srv, "a", "pa").await;
    let a2 = connect(&srv, "a2", "pa2").await;
    let b = connect(&srv, "b", "pb").await;
    let g = connect(&srv, "g", "pg").await;
    let mut sa = a.subscribe("x.>").await.expect("sub");
    let mut sb = b.subscribe("x.>").await.expect("sub");
    let mut sg = g.subscribe("x.>").await.expect("sub");
    for c in [&a, &b, &g] {
        c.flush().await.expect("flush");
    }
    a2.publish("x.1", "from A".into()).await.expect("pub");
    a2.flush().await.expect("flush");
    assert_eq!(next(&mut sa).await.payload, Bytes::from("from A"));
    b.publish("x.2", "from B".into()).await.expect("pub");
    b.flush().await.expect("flush");
    assert_eq!(next(&mut sb).await.payload, Bytes::from("from B"));
    g.publish("x.3", "from G".into()).await.expect("pub");
    g.flush().await.expect("flush");
    assert_eq!(next(&mut sg).await.payload, Bytes::from("from G"));
    assert!(silent(&mut sa).await, "A got another account's message");
    assert!(silent(&mut sb).await, "B got another account's message");
    assert!(silent(&mut sg).await, "$G got another account's message");
    srv.shutdown().await;
}

#[tokio::test]
async fn connz_and_accountz_show_accounts() {
    let (srv, _dir) = start_conf("acc-mon", CONF).await;
    let _a = connect(&srv, "a", "pa").await;
    let _g = connect(&srv, "g", "pg").await;
    let s = srv.server.clone();
    assert!(wait_for(T, || s.num_clients() == 2).await);
    let opts = rnats_broker::monitor::connz::ConnzOptions {
        auth: true,
        ..Default::default()
    };
    let connz = rnats_broker::monitor::connz::connz(&s, &opts).expect("connz");
    let conns = connz.connections.expect("connections");
    let mut seen: Vec<(String, String)> = conns
        .iter()
        .map(|c| (c.authorized_user.clone(), c.account.clone()))
        .collect();
    seen.sort();
    // The reference leaves `account` empty for `$G`.
    assert_eq!(
        seen,
        [
            ("a".to_string(), "A".to_string()),
            ("g".into(), String::new())
        ]
    );
    let only_a = rnats_broker::monitor::connz::ConnzOptions {
        account: "A".into(),
        ..Default::default()
    };
    let connz = rnats_broker::monitor::connz::connz(&s, &only_a).expect("connz");
    assert_eq!(connz.connections.expect("list").len(), 1);

    let list = rnats_broker::monitor::accountz::accountz(&s, "").expect("accountz");
    assert_eq!(list.accounts.expect("names"), ["$G", "$SYS", "A", "B"]);
    let detail = rnats_broker::monitor::accountz::accountz(&s, "A").expect("detail");
    assert_eq!(detail.account_detail.expect("detail").client_connections, 1);
    assert!(rnats_broker::monitor::accountz::accountz(&s, "C").is_err());
    srv.shutdown().await;
}

#[tokio::test]
async fn connect_info_names_the_account() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (srv, _dir) = start_conf("acc-info", CONF).await;
    let sock = tokio::net::TcpStream::connect(srv.client_addr)
        .await
        .expect("tcp");
    let (rd, mut wr) = sock.into_split();
    let mut lines = BufReader::new(rd).lines();
    let first = lines.next_line().await.expect("read").expect("INFO");
    assert!(first.starts_with("INFO "), "{first}");
    wr.write_all(
        b"CONNECT {\"verbose\":false,\"protocol\":1,\"user\":\"b\",\"pass\":\"pb\"}\r\nPING\r\n",
    )
    .await
    .expect("write");
    let pong = lines.next_line().await.expect("read").expect("PONG");
    assert_eq!(pong, "PONG");
    let info = lines.next_line().await.expect("read").expect("INFO");
    assert!(info.contains("\"connect_info\":true"), "{info}");
    assert!(info.contains("\"remote_account\":\"B\""), "{info}");
    srv.shutdown().await;
}

#[tokio::test]
async fn internal_subscriptions_and_internal_publish() {
    let (srv, _dir) = start_conf("acc-internal", CONF).await;
    let s = srv.server.clone();
    // A runtime account, as `$SYS` or a JWT account would be made.
    let x = s.register_account("X");
    assert!(Arc::ptr_eq(&x, &s.lookup_account("X").expect("registered")));
    let a = s.lookup_account("A").expect("configured account");
    let got = Arc::new(AtomicUsize::new(0));
    let seen = got.clone();
    let handler: rnats_broker::subscription::InternalHandler =
        Arc::new(move |m: &InternalMsg<'_>| {
            assert_eq!(m.subject, b"svc.ping");
            assert!(m.from.is_some(), "published by a client");
            seen.fetch_add(1, Ordering::SeqCst);
        });
    let sub = Arc::new(Subscription::internal(
        handler,
        Bytes::from_static(b"svc.*"),
        None,
        Bytes::from_static(b"1"),
    ));
    a.sublist
        .insert(&sub.subject, None, sub.clone())
        .expect("insert");
    let c = connect(&srv, "a", "pa").await;
    let mut replies = c.subscribe("answers").await.expect("sub");
    c.publish("svc.ping", "hi".into()).await.expect("pub");
    c.flush().await.expect("flush");
    assert!(wait_for(T, || got.load(Ordering::SeqCst) == 1).await);
    // The server publishes into A; A's client receives it, B's would not.
    s.publish_internal(
        &a,
        &Bytes::from_static(b"answers"),
        None,
        0,
        &Bytes::from_static(b"pong"),
    );
    assert_eq!(next(&mut replies).await.payload, Bytes::from("pong"));
    let _ = a.sublist.remove(&sub.subject, None, &sub);
    sub.close();
    c.publish("svc.ping", "again".into()).await.expect("pub");
    // Same connection, same order: once this arrives the publish before it was fanned out.
    c.publish("answers", "marker".into()).await.expect("pub");
    c.flush().await.expect("flush");
    assert_eq!(next(&mut replies).await.payload, Bytes::from("marker"));
    assert_eq!(
        got.load(Ordering::SeqCst),
        1,
        "removed subscription still delivered"
    );
    srv.shutdown().await;
}

const IMPORTS: &str = r#"
accounts {
  A: {
    users: [ {user: a, password: pa} ]
    exports: [
      {stream: "events.>"}
      {stream: "private.>", accounts: [C]}
      {service: "svc.*"}
      {service: "stream.svc", response_type: stream}
    ]
  }
  B: {
    users: [ {user: b, password: pb} ]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "from_a"}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
      {service: {account: A, subject: "stream.svc"}}
    ]
  }
  C: {
    users: [ {user: c, password: pc} ]
    imports: [
      {stream: {account: A, subject: "private.>"}, to: "mine.>"}
      {stream: {account: A, subject: "events.x"}}
    ]
  }
}
"#;

#[tokio::test]
async fn stream_imports_with_prefix_and_to() {
    let (srv, _dir) = start_conf("acc-stream", IMPORTS).await;
    let a = connect(&srv, "a", "pa").await;
    let b = connect(&srv, "b", "pb").await;
    let c = connect(&srv, "c", "pc").await;
    let mut b_prefixed = b.subscribe("from_a.events.>").await.expect("sub");
    let mut b_plain = b.subscribe("events.>").await.expect("sub");
    let mut c_mine = c.subscribe("mine.>").await.expect("sub");
    let mut c_events = c.subscribe("events.>").await.expect("sub");
    b.flush().await.expect("flush");
    c.flush().await.expect("flush");
    a.publish("events.x", "e1".into()).await.expect("pub");
    a.publish("private.p", "p1".into()).await.expect("pub");
    a.flush().await.expect("flush");
    let m = next(&mut b_prefixed).await;
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("from_a.events.x", &b"e1"[..])
    );
    let m = next(&mut c_mine).await;
    assert_eq!((m.subject.as_str(), &m.payload[..]), ("mine.p", &b"p1"[..]));
    let m = next(&mut c_events).await;
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("events.x", &b"e1"[..])
    );
    // B did not import `events.>` unprefixed, nor `private.>` (C only).
    assert!(silent(&mut b_plain).await);
    assert!(silent(&mut b_prefixed).await);
    // Importers publishing on the imported subjects do not reach the exporter.
    let mut a_events = a.subscribe("events.>").await.expect("sub");
    a.flush().await.expect("flush");
    b.publish("events.y", "back".into()).await.expect("pub");
    b.flush().await.expect("flush");
    assert!(silent(&mut a_events).await);
    srv.shutdown().await;
}

#[tokio::test]
async fn service_import_request_reply() {
    let (srv, _dir) = start_conf("acc-service", IMPORTS).await;
    let a = connect(&srv, "a", "pa").await;
    let b = connect(&srv, "b", "pb").await;
    let mut requests = a.subscribe("svc.*").await.expect("sub");
    a.flush().await.expect("flush");
    let responder = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(m) = requests.next().await {
            let reply = m.reply.clone().expect("reply");
            let info = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Request-Info").map(|v| v.to_string()))
                .unwrap_or_default();
            seen.push((m.subject.to_string(), reply.to_string(), info));
            let mut answer = b"echo:".to_vec();
            answer.extend_from_slice(&m.payload);
            a.publish(reply, answer.into()).await.expect("respond");
            a.flush().await.expect("flush");
            if seen.len() == 2 {
                return seen;
            }
        }
        seen
    });
    let r = tokio::time::timeout(T, b.request("echo", "one".into()))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(r.payload, Bytes::from("echo:one"));
    let r = tokio::time::timeout(T, b.request("echo", "two".into()))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(r.payload, Bytes::from("echo:two"));
    let seen = tokio::time::timeout(T, responder)
        .await
        .expect("in time")
        .expect("responder");
    for (subject, reply, info) in &seen {
        assert_eq!(subject, "svc.echo");
        assert!(reply.starts_with("_R_."), "{reply}");
        let info: serde_json::Value = serde_json::from_str(info).expect("request info JSON");
        assert_eq!(info["acc"], "B", "{info}");
    }
    // A request on an import with no responder: no responders, not a timeout.
    let a2 = connect(&srv, "a", "pa").await;
    drop(a2);
    let err = tokio::time::timeout(T, b.request("stream.svc", "x".into()))
        .await
        .expect("in time")
        .expect_err("nobody answers");
    assert_eq!(
        err.kind(),
        async_nats::client::RequestErrorKind::NoResponders,
        "{err}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn accstatz_counts_per_account() {
    use rnats_broker::monitor::accstatz::accstatz;
    let (srv, _dir) = start_conf("acc-statz", IMPORTS).await;
    let a = connect(&srv, "a", "pa").await;
    let b = connect(&srv, "b", "pb").await;
    let mut sb = b.subscribe("from_a.events.>").await.expect("sub");
    b.flush().await.expect("flush");
    a.publish("events.1", "abc".into()).await.expect("pub");
    a.flush().await.expect("flush");
    next(&mut sb).await;
    b.publish("nobody", "xy".into()).await.expect("pub");
    b.flush().await.expect("flush");
    let s = srv.server.clone();
    let find = |name: &str| {
        accstatz(&s, false)
            .account_statz
            .into_iter()
            .find(|x| x.acc == name)
    };
    // Counters are added per read batch: poll until both publishes are in.
    assert!(wait_for(T, || find("B").is_some_and(|b| b.received.msgs == 1)).await);
    let sa = find("A").expect("A has a connection");
    let sb_ = find("B").expect("B has a connection");
    assert_eq!((sa.conns, sa.received.msgs, sa.received.bytes), (1, 1, 3));
    // The stream import delivery counts for the exporting account, as in the reference.
    assert_eq!((sa.sent.msgs, sa.sent.bytes), (1, 3));
    assert_eq!((sb_.sent.msgs, sb_.received.bytes), (0, 2));
    assert!(find("C").is_none(), "no connections: only with unused");
    assert!(
        accstatz(&s, true)
            .account_statz
            .iter()
            .any(|x| x.acc == "C")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn set_auth_replaces_the_auth_state_at_runtime() {
    // What a replicated log would do: build a new auth state and swap it in, no file.
    let (srv, dir) = start_conf("acc-setauth", CONF).await;
    let a = connect(&srv, "a", "pa").await;
    let b = connect(&srv, "b", "pb").await;
    let s = srv.server.clone();
    assert!(wait_for(T, || s.num_clients() == 2).await);
    let next_conf = CONF.replace("B: { users: [ {user: b, password: pb} ] }", "D: {}");
    let path = dir.path().join("next.conf");
    std::fs::write(&path, next_conf).expect("write config");
    let mut opts = test_options();
    rnats_broker::config::load(&path, &mut opts).expect("config loads");
    s.set_auth(rnats_broker::auth::AuthState::from_options(&opts));
    // b's user is gone: closed; a is unaffected. B is dropped, D exists.
    assert!(wait_for(T, || s.num_clients() == 1).await, "b is closed");
    assert!(s.lookup_account("B").is_none() && s.lookup_account("D").is_some());
    let mut sa = a.subscribe("still.here").await.expect("a still works");
    a.publish("still.here", "yes".into()).await.expect("pub");
    a.flush().await.expect("flush");
    assert_eq!(next(&mut sa).await.payload, Bytes::from("yes"));
    drop(b);
    srv.shutdown().await;
}
