//! Other accounts neither see nor reach `$SYS`; the default `$SYS` account and
//! `no_system_account`.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_accounts_cannot_reach_sys() {
    let pair = start_pair(CONFIG);
    for (label, s) in &pair.servers {
        let sys = connect(s, "sys", "watcher").await;
        let mut events = sys.subscribe("$SYS.ACCOUNT.*.CONNECT").await.expect("sub");
        barrier(&sys).await;
        let app = connect(s, "app", "snoop").await;
        let mut snoop = app.subscribe("$SYS.>").await.expect("sub");
        let mut probe = app.subscribe("probe").await.expect("sub");
        barrier(&app).await;
        // Another client connects: the system user sees the event...
        let other = connect(s, "app", "other").await;
        // (the first event is the snoop's own connection)
        while !next(&mut events)
            .await
            .payload
            .windows(7)
            .any(|w| w == b"\"other\"")
        {}
        // ...and by the time the snoop's own probe comes back, no event reached it.
        app.publish("probe", "p".into()).await.expect("pub");
        let p = next(&mut probe).await;
        assert_eq!(&p.payload[..], b"p");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), snoop.next())
                .await
                .is_err(),
            "{label}: $SYS traffic crossed into APP"
        );
        // A PING from APP reaches no server (once APP has no `$SYS.>` subscriber itself)...
        snoop.unsubscribe().await.expect("unsub");
        barrier(&app).await;
        let r = other.request("$SYS.REQ.SERVER.PING", "".into()).await;
        assert!(
            matches!(&r, Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders),
            "{label}: PING from APP: {r:?}"
        );
        // ...and publishing into $SYS from APP goes nowhere the system user listens.
        let mut sys_side = sys.subscribe("$SYS.TEST").await.expect("sub");
        barrier(&sys).await;
        app.publish("$SYS.TEST", "x".into()).await.expect("pub");
        barrier(&app).await;
        sys.publish("$SYS.TEST", "y".into()).await.expect("pub");
        assert_eq!(&next(&mut sys_side).await.payload[..], b"y", "{label}");

        // What every account imports: its own user info and its own connections.
        let r = other
            .request("$SYS.REQ.USER.INFO", "".into())
            .await
            .expect("user info");
        let v: Value = serde_json::from_slice(&r.payload).expect("json");
        assert_eq!(v["data"]["user"], "app", "{label}: {v}");
        assert_eq!(v["data"]["account"], "APP", "{label}: {v}");
        let r = other
            .request("$SYS.REQ.SERVER.PING.CONNZ", "".into())
            .await
            .expect("connz");
        let v: Value = serde_json::from_slice(&r.payload).expect("json");
        let conns = v["data"]["connections"].as_array().expect("connections");
        assert_eq!(conns.len(), 2, "{label}: APP's two connections only: {v}");
        assert_eq!(v["data"]["num_connections"], 2, "{label}");
        drop(other);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_system_account_and_opt_out() {
    // No configuration: the reference still creates `$SYS` with its internal subscriptions
    // (and the four imports of `$G`).
    let pair = start_pair("port: -1\n");
    let mut subs = Vec::new();
    for (label, s) in &pair.servers {
        let varz = http_json(s, "/varz");
        assert_eq!(varz["system_account"], "$SYS", "{label}");
        let sys = http_json(s, "/subsz?acc=$SYS");
        let global = http_json(s, "/subsz?acc=$G");
        subs.push((
            varz["subscriptions"].clone(),
            sys["num_subscriptions"].clone(),
            global["num_subscriptions"].clone(),
        ));
        let accz = http_json(s, "/accountz");
        assert_eq!(accz["system_account"], "$SYS", "{label}");
        // `$G` users get their user info from `$SYS`.
        let nc = async_nats::connect(s.url()).await.expect("connect");
        let r = nc
            .request("$SYS.REQ.USER.INFO", "".into())
            .await
            .expect("user info");
        let v: Value = serde_json::from_slice(&r.payload).expect("json");
        assert_eq!(v["data"]["account"], "$G", "{label}: {v}");
    }
    assert_eq!(subs[0], subs[1], "subscription counts (varz, $SYS, $G)");

    let pair = start_pair("no_system_account: true\n");
    for (label, s) in &pair.servers {
        let varz = http_json(s, "/varz");
        assert!(varz.get("system_account").is_none(), "{label}: {varz}");
        assert_eq!(varz["subscriptions"], 0, "{label}");
    }
}
