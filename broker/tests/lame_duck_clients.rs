//! Real clients during lame duck mode: async-nats sees the `ldm` INFO and, when the server
//! closes it, reconnects to the next server in its list, subscriptions included.

mod common;

use std::time::Duration;

use futures::StreamExt;

use common::process::{TempDir, rnats_bin, spawn};

const T: Duration = Duration::from_secs(15);

#[tokio::test]
async fn async_nats_moves_to_another_server() {
    let dir = TempDir::new("ldm-clients");
    let conf = dir.path().join("ldm.conf");
    std::fs::write(
        &conf,
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
    )
    .expect("write");
    let conf_s = conf.display().to_string();
    let a = spawn(&rnats_bin(), &["-c", &conf_s]);
    let b = spawn(&rnats_bin(), &[]);

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .event_callback(move |e| {
            let tx = events_tx.clone();
            async move {
                let _ = tx.send(e.to_string());
            }
        })
        .connect(vec![a.url(), b.url()])
        .await
        .expect("connect");
    let mut sub = client.subscribe("moved").await.expect("sub");
    client.flush().await.expect("flush");
    assert_eq!(
        client.server_info().port,
        a.client_port,
        "connected to A first"
    );

    a.signal("USR2");
    let mut saw_ldm = false;
    let mut reconnected = false;
    let deadline = tokio::time::Instant::now() + T;
    while !(saw_ldm && reconnected) {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("events in time")
            .expect("event stream");
        saw_ldm |= e.contains("lame duck");
        reconnected |= saw_ldm && e == "connected";
    }
    assert_eq!(client.server_info().port, b.client_port, "reconnected to B");

    let other = async_nats::connect(b.url()).await.expect("connect B");
    let got = tokio::time::timeout(T, async {
        loop {
            other.publish("moved", "hello".into()).await.expect("pub");
            other.flush().await.expect("flush");
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .expect("subscription restored on B");
    assert_eq!(&got.payload[..], b"hello");
}
