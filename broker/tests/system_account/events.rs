//! Connect, disconnect, auth-error, `STATSZ` and shutdown events, and their import into
//! another account.

use super::*;

/// Subscribes as the system user to the connect and disconnect events, connects and closes
/// an application client, and returns the two events.
async fn connect_disconnect_events(s: &ServerProcess) -> (Value, Value) {
    let sys = connect(s, "sys", "watcher").await;
    let mut connects = sys.subscribe("$SYS.ACCOUNT.*.CONNECT").await.expect("sub");
    let mut disconnects = sys
        .subscribe("$SYS.ACCOUNT.*.DISCONNECT")
        .await
        .expect("sub");
    barrier(&sys).await;
    let app = connect(s, "app", "short-lived").await;
    app.publish("orders.new", "x".into()).await.expect("pub");
    // (not a barrier: the disconnect event counts what the client sent)
    app.flush().await.expect("flush");
    let c = next_on(&mut connects, "$SYS.ACCOUNT.APP.CONNECT").await;
    drop(app);
    let d = next_on(&mut disconnects, "$SYS.ACCOUNT.APP.DISCONNECT").await;
    let parse = |m: &async_nats::Message| -> Value {
        serde_json::from_slice(&m.payload).expect("event is JSON")
    };
    (parse(&c), parse(&d))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_events_have_the_reference_keys() {
    let pair = start_pair(CONFIG);
    let mut events = Vec::new();
    for (label, s) in &pair.servers {
        let (c, d) = connect_disconnect_events(s).await;
        assert_eq!(
            c["type"], "io.nats.server.advisory.v1.client_connect",
            "{label}"
        );
        assert_eq!(
            d["type"], "io.nats.server.advisory.v1.client_disconnect",
            "{label}"
        );
        for ev in [&c, &d] {
            assert_eq!(ev["client"]["acc"], "APP", "{label}: {ev}");
            assert_eq!(ev["client"]["user"], "app", "{label}: {ev}");
            assert_eq!(ev["client"]["name"], "short-lived", "{label}: {ev}");
            assert_eq!(ev["client"]["kind"], "Client", "{label}: {ev}");
            assert_eq!(ev["client"]["client_type"], "nats", "{label}: {ev}");
            assert_eq!(ev["id"].as_str().map(str::len), Some(22), "{label}: {ev}");
        }
        assert_eq!(d["reason"], "Client Closed", "{label}: {d}");
        assert_eq!(d["sent"]["msgs"], 1, "{label}: what the client sent: {d}");
        assert_eq!(d["sent"]["bytes"], 1, "{label}: {d}");
        assert_eq!(c["client"]["id"], d["client"]["id"], "{label}");
        assert!(
            d["server"]["seq"].as_u64() > c["server"]["seq"].as_u64(),
            "{label}: seq grows"
        );
        events.push((key_paths(&c), key_paths(&d)));
    }
    assert_eq!(events[0].0, events[1].0, "connect event keys");
    let (mut a, mut b) = (events[0].1.clone(), events[1].1.clone());
    // `rtt` is omitted while a connection has no RTT measurement yet; either may lack it.
    a.remove("client.rtt");
    b.remove("client.rtt");
    assert_eq!(a, b, "disconnect event keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_error_events() {
    let pair = start_pair(CONFIG);
    let mut keys = Vec::new();
    for (label, s) in &pair.servers {
        let sys = connect(s, "sys", "watcher").await;
        let mut errs = sys
            .subscribe("$SYS.SERVER.*.CLIENT.AUTH.ERR")
            .await
            .expect("sub");
        barrier(&sys).await;
        let refused =
            async_nats::ConnectOptions::with_user_and_password("app".into(), "bad".into())
                .max_reconnects(Some(1))
                .connect(s.url())
                .await;
        assert!(refused.is_err(), "{label}: bad password refused");
        let m = next(&mut errs).await;
        let v: Value = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(
            v["type"], "io.nats.server.advisory.v1.client_disconnect",
            "{label}"
        );
        assert_eq!(v["reason"], "Authentication Failure", "{label}: {v}");
        assert_eq!(v["client"]["user"], "app", "{label}: {v}");
        let mut k = key_paths(&v);
        k.remove("client.rtt");
        keys.push(k);
    }
    assert_eq!(keys[0], keys[1], "auth error event keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statsz_and_shutdown_events() {
    let mut pair = start_pair(CONFIG);
    let mut keys = Vec::new();
    for (label, s) in &mut pair.servers {
        let sys = connect(s, "sys", "watcher").await;
        let id = http_json(s, "/varz")["server_id"]
            .as_str()
            .expect("id")
            .to_string();
        let mut statsz = sys.subscribe("$SYS.SERVER.*.STATSZ").await.expect("sub");
        let mut shutdown = sys.subscribe("$SYS.SERVER.*.SHUTDOWN").await.expect("sub");
        barrier(&sys).await;
        let m = next(&mut statsz).await;
        assert_eq!(
            m.subject.as_str(),
            format!("$SYS.SERVER.{id}.STATSZ"),
            "{label}"
        );
        let v: Value = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(v["server"]["id"], id.as_str(), "{label}");
        assert_eq!(v["statsz"]["connections"], 1, "{label}: {v}");
        keys.push(key_paths(&v));
        s.signal("TERM");
        let m = next(&mut shutdown).await;
        assert_eq!(
            m.subject.as_str(),
            format!("$SYS.SERVER.{id}.SHUTDOWN"),
            "{label}"
        );
        let v: Value = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(v["id"], id.as_str(), "{label}: the server block: {v}");
        assert!(s.wait_exit(T).is_some(), "{label} exits");
    }
    // The reference adds `cpu`-like optional figures only when non-zero; compare the rest.
    let optional = [
        "statsz.slow_consumer_stats",
        "statsz.stale_connection_stats",
    ];
    let strip = |k: &BTreeSet<String>| -> BTreeSet<String> {
        k.iter()
            .filter(|p| !optional.iter().any(|o| p.starts_with(o)))
            .cloned()
            .collect()
    };
    assert_eq!(strip(&keys[0]), strip(&keys[1]), "STATSZ keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_an_account_that_imports_them() {
    // The system account exports its connect events; APP imports them as a stream.
    let pair = start_pair(
        "accounts {
  SYS {
    users = [ { user: sys, password: sys } ]
    exports = [ { stream: \"$SYS.ACCOUNT.*.CONNECT\" } ]
  }
  APP {
    users = [ { user: app, password: app } ]
    imports = [ { stream: { account: SYS, subject: \"$SYS.ACCOUNT.*.CONNECT\" } } ]
  }
}
system_account: SYS
",
    );
    for (label, s) in &pair.servers {
        let app = connect(s, "app", "watcher").await;
        let mut events = app.subscribe("$SYS.ACCOUNT.*.CONNECT").await.expect("sub");
        barrier(&app).await;
        let _other = connect(s, "app", "newcomer").await;
        // The reference sends events from a queue: the watcher's own may come first.
        let v = loop {
            let m = next(&mut events).await;
            assert_eq!(m.subject.as_str(), "$SYS.ACCOUNT.APP.CONNECT", "{label}");
            let v: Value = serde_json::from_slice(&m.payload).expect("json");
            if v["client"]["name"] != "watcher" {
                break v;
            }
        };
        assert_eq!(v["client"]["name"], "newcomer", "{label}: {v}");
    }
}
