//! Accounts across a mixed cluster (rnats and the reference): interest and messages carry the
//! account, accounts stay separate, and service and stream imports work across servers.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::harness::{Kind, MESH, Node, cluster_with, wait_until};

const T: Duration = Duration::from_secs(10);
/// How long a test waits to be sure a message does not arrive.
const QUIET: Duration = Duration::from_millis(300);

const CONF: &str = r#"
accounts {
  A: {
    users: [ {user: a, password: pa} ]
    exports: [ {stream: "events.>"}, {service: "svc.*"} ]
  }
  B: {
    users: [ {user: b, password: pb} ]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "from_a"}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
    ]
  }
}
"#;

async fn connect(n: &Node, user: &str) -> async_nats::Client {
    let pass = format!("p{user}");
    async_nats::ConnectOptions::with_user_and_password(user.into(), pass)
        .connect(n.url())
        .await
        .expect("connect")
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

async fn responder(c: async_nats::Client, subject: &'static str, answer: &'static str) {
    let mut sub = c.subscribe(subject).await.expect("sub");
    c.flush().await.expect("flush");
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let _ = c.publish(reply, answer.into()).await;
                let _ = c.flush().await;
            }
        }
    });
}

#[tokio::test]
async fn accounts_and_imports_across_a_mixed_cluster() {
    let dir = crate::common::process::TempDir::new("cluster-accounts");
    let conf = dir.path().join("accounts.conf");
    std::fs::write(&conf, CONF).expect("write config");
    let conf = conf.display().to_string();
    let nodes = cluster_with(&[Kind::Rnats, Kind::Reference, Kind::Rnats], &["-c", &conf]);

    // Same subject in two accounts: only the publisher's account receives it.
    let a0 = connect(&nodes[0], "a").await;
    let mut iso = a0.subscribe("iso").await.expect("sub");
    a0.flush().await.expect("flush");
    for n in &nodes[1..] {
        wait_until("account A interest", MESH, || n.has_remote_interest("iso")).await;
    }
    let b2 = connect(&nodes[2], "b").await;
    b2.publish("iso", "from-b".into()).await.expect("pub");
    b2.flush().await.expect("flush");
    let a2 = connect(&nodes[2], "a").await;
    a2.publish("iso", "from-a".into()).await.expect("pub");
    a2.flush().await.expect("flush");
    assert_eq!(next(&mut iso).await.payload, Bytes::from("from-a"));
    assert!(
        tokio::time::timeout(QUIET, iso.next()).await.is_err(),
        "account B's message crossed into account A"
    );

    // Service import: requester in B, responder in A on another server (each way round).
    responder(connect(&nodes[1], "a").await, "svc.echo", "from-reference").await;
    wait_until("service interest", MESH, || {
        nodes[0].has_remote_interest("svc.echo")
    })
    .await;
    let b0 = connect(&nodes[0], "b").await;
    let resp = tokio::time::timeout(T, b0.request("echo", "ping".into()))
        .await
        .expect("in time")
        .expect("reply through the import");
    assert_eq!(resp.payload, Bytes::from("from-reference"));

    // Stream import: publisher in A on one server, importer B on another.
    let mut imported = b0.subscribe("from_a.events.>").await.expect("sub");
    b0.flush().await.expect("flush");
    wait_until("stream import interest", MESH, || {
        nodes[2].has_remote_interest("events.>") && nodes[1].has_remote_interest("events.>")
    })
    .await;
    a2.publish("events.x", "e1".into()).await.expect("pub");
    a2.flush().await.expect("flush");
    let m = next(&mut imported).await;
    assert_eq!(
        (m.subject.as_str(), m.payload),
        ("from_a.events.x", Bytes::from("e1"))
    );
    let a1 = connect(&nodes[1], "a").await;
    a1.publish("events.y", "e2".into()).await.expect("pub");
    a1.flush().await.expect("flush");
    let m = next(&mut imported).await;
    assert_eq!(
        (m.subject.as_str(), m.payload),
        ("from_a.events.y", Bytes::from("e2"))
    );
    assert!(
        tokio::time::timeout(QUIET, imported.next()).await.is_err(),
        "a stream message arrived twice"
    );
}
