//! natscli's server commands and `$SYS` requests (kick, lame duck, reload) with a system user.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn natscli_server_commands_match_reference() {
    let pair = start_pair(CONFIG);
    let mut seen = Vec::new();
    for (label, s) in &pair.servers {
        // Two application connections with a subscription each, besides natscli's own.
        let a = connect(s, "app", "app-1").await;
        let b = connect(s, "app", "app-2").await;
        let _sa = a.subscribe("orders.>").await.expect("sub");
        let _sb = b.subscribe("orders.new").await.expect("sub");
        barrier(&a).await;
        barrier(&b).await;
        let varz = http_json(s, "/varz");
        let id = varz["server_id"].as_str().expect("server_id").to_string();
        let name = varz["server_name"].as_str().expect("name").to_string();

        let list = cli_json(s, "sys", &["server", "list", "--json"]);
        let list = list.as_array().expect("list is an array");
        assert_eq!(list.len(), 1, "{label}: one server answers PING: {list:?}");
        let m = &list[0];
        assert_eq!(m["server"]["id"], id.as_str(), "{label}");
        assert_eq!(m["server"]["name"], name.as_str(), "{label}");
        assert_eq!(m["server"]["ver"], "2.15.1", "{label}");
        let st = &m["statsz"];
        assert_eq!(st["connections"], 3, "{label}: two apps and natscli: {st}");
        assert!(st["mem"].as_u64().is_some_and(|m| m > 0), "{label}: {st}");
        assert!(st["cores"].as_u64().is_some_and(|c| c > 0), "{label}: {st}");
        assert!(st["total_connections"].as_u64().is_some_and(|c| c >= 3));
        assert!(chrono::DateTime::parse_from_rfc3339(st["start"].as_str().expect("start")).is_ok());

        let (ok, out, err) = cli(s, "sys", &["server", "ping"]);
        assert!(ok, "{label}: server ping: {out}{err}");
        assert!(out.contains(&name), "{label}: {out}");
        assert!(out.contains("1 replies"), "{label}: {out}");

        let (ok, info, err) = cli(s, "sys", &["server", "info"]);
        assert!(ok, "{label}: server info: {info}{err}");
        assert!(info.contains(&format!("Server information for {name}")));
        assert_eq!(field(&info, "Version"), "2.15.1", "{label}");
        assert_eq!(field(&info, "Connections"), "3", "{label}");
        assert_eq!(field(&info, "Auth Required"), "true", "{label}");

        let conns = cli_json(s, "sys", &["server", "report", "connections", "--json"]);
        let conns = conns.as_array().expect("connections array");
        let mut accounts: Vec<&str> = conns
            .iter()
            .map(|c| c["account"].as_str().expect("account"))
            .collect();
        accounts.sort();
        assert_eq!(accounts, ["APP", "APP", "SYS"], "{label}: {conns:?}");
        for c in conns {
            assert_eq!(c["server"]["id"], id.as_str(), "{label}");
            assert!(c["cid"].as_u64().is_some(), "{label}: {c}");
        }
        let users: BTreeSet<&str> = conns
            .iter()
            .filter_map(|c| c["authorized_user"].as_str())
            .collect();
        assert_eq!(users, BTreeSet::from(["app", "sys"]), "{label}");

        let (ok, out, err) = cli(s, "sys", &["server", "check", "server", "--name", &name]);
        assert!(
            ok && out.starts_with("OK"),
            "{label}: check server: {out}{err}"
        );
        assert!(out.contains("connections=3"), "{label}: {out}");
        let (ok, out, err) = cli(s, "sys", &["server", "check", "connection"]);
        assert!(
            ok && out.starts_with("OK"),
            "{label}: check connection: {out}{err}"
        );

        seen.push((
            st["subscriptions"].as_u64().expect("subscriptions"),
            field(&info, "Subscriptions").to_string(),
        ));
        drop((a, b));
    }
    // The same subscriptions: the reference's internal ones are mirrored by rnats.
    assert_eq!(seen[0], seen[1], "subscriptions (statsz, server info)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_ldm_and_reload_requests() {
    let pair = start_pair(CONFIG);
    let mut seen = Vec::new();
    for (label, s) in &pair.servers {
        let victim = connect(s, "app", "victim").await;
        barrier(&victim).await;
        let id = http_json(s, "/varz")["server_id"]
            .as_str()
            .expect("id")
            .to_string();
        let connz = http_json(s, "/connz?acc=APP");
        let cid = connz["connections"][0]["cid"].as_u64().expect("cid");
        let (ok, out, err) = cli(
            s,
            "sys",
            &["server", "request", "kick", &cid.to_string(), &id],
        );
        assert!(ok, "{label}: kick: {out}{err}");
        let closed = common::wait_for(T, || {
            http_json(s, "/connz?state=closed&acc=APP")["connections"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["cid"] == cid && c["reason"] == "Kicked"))
        })
        .await;
        assert!(closed, "{label}: cid {cid} closed as Kicked");

        // LDM, RELOAD and a KICK of a gone client, as raw requests: same envelopes.
        let sys = connect(s, "sys", "admin").await;
        let other = connect(s, "app", "other").await;
        barrier(&other).await;
        let connz = http_json(s, "/connz?acc=APP");
        let other_cid = connz["connections"][0]["cid"].as_u64().expect("cid");
        let mut answers = Vec::new();
        for (ep, body) in [
            ("LDM", format!("{{\"cid\":{other_cid}}}")),
            ("RELOAD", String::new()),
            ("KICK", format!("{{\"cid\":{cid}}}")),
            ("LDM", "{\"cid\":999999}".to_string()),
        ] {
            let r = sys
                .request(format!("$SYS.REQ.SERVER.{id}.{ep}"), body.into())
                .await
                .unwrap_or_else(|e| panic!("{label}: {ep}: {e}"));
            let v: Value = serde_json::from_slice(&r.payload).expect("json");
            assert_eq!(v["server"]["id"], id.as_str(), "{label}: {ep}: {v}");
            answers.push((key_paths(&v), v["error"].clone()));
        }
        assert!(answers[0].1.is_null(), "{label}: LDM: {:?}", answers[0]);
        assert!(answers[1].1.is_null(), "{label}: RELOAD: {:?}", answers[1]);
        assert_eq!(
            answers[2].1["code"], 500,
            "{label}: kick of a closed client"
        );
        assert_eq!(
            answers[3].1["description"], "no such client id",
            "{label}: {:?}",
            answers[3]
        );
        seen.push(answers);
    }
    assert_eq!(seen[0], seen[1], "LDM/RELOAD/KICK answers");
}
