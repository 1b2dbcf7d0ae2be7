//! Account connection counts, lame duck, and the shape of every PING endpoint's answer.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_connection_counts_and_lame_duck() {
    let pair = start_pair(CONFIG);
    let mut keys = Vec::new();
    for (label, s) in &pair.servers {
        let sys = connect(s, "sys", "watcher").await;
        let mut conns = sys
            .subscribe("$SYS.ACCOUNT.APP.SERVER.CONNS")
            .await
            .expect("sub");
        let mut ldm = sys.subscribe("$SYS.SERVER.*.LAMEDUCK").await.expect("sub");
        barrier(&sys).await;
        let app = connect(s, "app", "counted").await;
        app.publish("orders.new", "abc".into()).await.expect("pub");
        app.flush().await.expect("flush");
        let up: Value = serde_json::from_slice(&next(&mut conns).await.payload).expect("json");
        assert_eq!(up["type"], "io.nats.server.advisory.v1.account_connections");
        assert_eq!(up["acc"], "APP", "{label}: {up}");
        assert_eq!(up["conns"], 1, "{label}: {up}");
        // Another server's question (`connsRequest`) gets the same count.
        let r = sys
            .request("$SYS.REQ.ACCOUNT.APP.CONNS", "".into())
            .await
            .expect("conns answer");
        let v: Value = serde_json::from_slice(&r.payload).expect("json");
        assert_eq!(
            (&v["acc"], &v["conns"]),
            (&up["acc"], &up["conns"]),
            "{label}: {v}"
        );
        drop(app);
        // The count after the close keeps what the closed connection sent.
        let down = loop {
            let v: Value = serde_json::from_slice(&next(&mut conns).await.payload).expect("json");
            if v["conns"] == 0 {
                break v;
            }
        };
        assert_eq!(down["received"]["msgs"], 1, "{label}: {down}");
        assert_eq!(down["received"]["bytes"], 3, "{label}: {down}");
        keys.push(key_paths(&down));
        // Lame duck mode is announced.
        s.signal("USR2");
        let m = next(&mut ldm).await;
        let v: Value = serde_json::from_slice(&m.payload).expect("json");
        assert_eq!(
            m.subject.as_str(),
            format!("$SYS.SERVER.{}.LAMEDUCK", v["id"].as_str().unwrap_or("?")),
            "{label}: {v}"
        );
    }
    assert_eq!(keys[0], keys[1], "account connections keys");
}

/// An endpoint, the keys of its answer and the keys of the answer's `data`.
type Shape = (String, BTreeSet<String>, BTreeSet<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ping_endpoint_has_the_reference_shape() {
    let pair = start_pair(CONFIG);
    // Top-level keys of each answer and of its `data`, per endpoint and server.
    let mut shapes: Vec<Vec<Shape>> = Vec::new();
    for (label, s) in &pair.servers {
        let sys = connect(s, "sys", "asker").await;
        let mut per = Vec::new();
        for ep in [
            "IDZ", "STATSZ", "VARZ", "SUBSZ", "CONNZ", "ROUTEZ", "GATEWAYZ", "LEAFZ", "ACCOUNTZ",
            "JSZ", "HEALTHZ",
        ] {
            let r = sys
                .request(format!("$SYS.REQ.SERVER.PING.{ep}"), "".into())
                .await
                .unwrap_or_else(|e| panic!("{label}: {ep}: {e}"));
            let v: Value = serde_json::from_slice(&r.payload).expect("json");
            let top = |v: &Value| -> BTreeSet<String> {
                v.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let mut data = top(&v["data"]);
            data.remove("rnats_version");
            per.push((ep.to_string(), top(&v), data));
        }
        shapes.push(per);
    }
    for (a, b) in shapes[0].iter().zip(&shapes[1]) {
        assert_eq!(a, b, "reference vs rnats");
    }
}
