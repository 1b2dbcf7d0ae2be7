//! The system account against the reference, side by side: natscli's `nats server list`,
//! `ping`, `info`, `report connections`, `check` and `request kick` with a system user; the
//! connect/disconnect/`STATSZ`/shutdown events as async-nats receives them (same JSON keys as
//! the reference's); isolation (other accounts neither see nor reach `$SYS`, except the
//! imports every account gets); the default `$SYS` account and `no_system_account`.
//!
//! natscli comes from `make test-deps` (`~/.cache/rnats/bin/nats`, or `NATS_CLI`); missing,
//! the tests fail.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use common::process::{ServerProcess, TempDir, reference_bin, rnats_bin, spawn};

const T: Duration = Duration::from_secs(10);

/// Two accounts and a system account with its user, as the reference's docs configure it.
const CONFIG: &str = "accounts {
  SYS { users = [ { user: sys, password: sys } ] }
  APP { users = [ { user: app, password: app } ] }
}
system_account: SYS
";

/// The two servers, reference first, each started with `config`.
struct Pair {
    servers: Vec<(&'static str, ServerProcess)>,
    _dir: TempDir,
}

fn start_pair(config: &str) -> Pair {
    let dir = TempDir::new("sysacc");
    let path = dir.path().join("server.conf");
    std::fs::write(&path, config).expect("write config");
    let arg = path.display().to_string();
    let servers = vec![
        ("reference", spawn(&reference_bin(), &["-c", &arg])),
        ("rnats", spawn(&rnats_bin(), &["-c", &arg])),
    ];
    Pair { servers, _dir: dir }
}

/// A monitoring endpoint's JSON (plain HTTP/1.0 over a socket).
fn http_json(s: &ServerProcess, path: &str) -> Value {
    let port = s.http_port.expect("monitoring port");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect monitor");
    write!(conn, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send request");
    let mut text = String::new();
    conn.read_to_string(&mut text).expect("read response");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

fn natscli() -> PathBuf {
    let p = std::env::var_os("NATS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/rnats/bin/nats")
        });
    assert!(
        p.exists(),
        "natscli not found at {}: run `make test-deps`",
        p.display()
    );
    p
}

/// Runs `nats` as `user` against `s` with an isolated home; (success, stdout, stderr).
fn cli(s: &ServerProcess, user: &str, args: &[&str]) -> (bool, String, String) {
    let home = TempDir::new("natscli-home");
    let out = Command::new(natscli())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--no-context", "--server", &s.url(), "--user", user])
        .args(["--password", user, "--timeout", "3s"])
        .args(args)
        .output()
        .expect("natscli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cli` that must succeed, parsed as JSON.
fn cli_json(s: &ServerProcess, user: &str, args: &[&str]) -> Value {
    let (ok, out, err) = cli(s, user, args);
    assert!(ok, "nats {args:?} failed: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("nats {args:?}: {e}: {out}"))
}

async fn connect(s: &ServerProcess, user: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .name(name)
        .connect(s.url())
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"))
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(T, sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

/// Returns once the server has processed everything `nc` sent before (a round trip through
/// the server; `flush` only writes the socket).
async fn barrier(nc: &async_nats::Client) {
    let inbox = nc.new_inbox();
    let mut sub = nc.subscribe(inbox.clone()).await.expect("barrier sub");
    nc.publish(inbox, "".into()).await.expect("barrier pub");
    next(&mut sub).await;
}

/// The next message on `sub` whose subject is `subject` (others are skipped).
async fn next_on(sub: &mut async_nats::Subscriber, subject: &str) -> async_nats::Message {
    loop {
        let m = next(sub).await;
        if m.subject.as_str() == subject {
            return m;
        }
    }
}

/// Every key path of a JSON value (`client.acc`, `server.feature_flags.x`, ...).
fn key_paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(m) = v {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                walk(v, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

/// `Label: value` from natscli's text output.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

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

/// A 3-server cluster of `bins` (each with `CONFIG`), every one seeded with the first.
fn start_cluster(dir: &TempDir, bins: &[PathBuf]) -> Vec<ServerProcess> {
    let path = dir.path().join("cluster.conf");
    std::fs::write(&path, CONFIG).expect("write config");
    let conf = path.display().to_string();
    let mut nodes: Vec<ServerProcess> = Vec::new();
    for (i, bin) in bins.iter().enumerate() {
        let name = format!("s{i}");
        let mut args = vec![
            "-c",
            &conf,
            "-n",
            &name,
            "--cluster_name",
            "syscluster",
            "--cluster",
            "nats://127.0.0.1:-1",
        ];
        let seed = nodes
            .first()
            .map(|n| format!("nats://127.0.0.1:{}", n.cluster_port.expect("cluster port")));
        if let Some(s) = &seed {
            args.extend(["--routes", s]);
        }
        nodes.push(spawn(bin, &args));
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gathers_every_server_of_a_cluster() {
    let mut seen = Vec::new();
    for (label, bin) in [("reference", reference_bin()), ("rnats", rnats_bin())] {
        let dir = TempDir::new("syscluster");
        let nodes = start_cluster(&dir, &[bin.clone(), bin.clone(), bin]);
        let meshed = common::wait_for(Duration::from_secs(20), || {
            // Distinct peers: the reference pools several connections per peer.
            nodes.iter().all(|n| {
                let v = http_json(n, "/routez");
                let peers: BTreeSet<&str> = v["routes"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|r| r["remote_id"].as_str()).collect())
                    .unwrap_or_default();
                peers.len() == 2
            })
        })
        .await;
        assert!(meshed, "{label}: full mesh");
        // One application connection on each server.
        let mut apps = Vec::new();
        for n in &nodes {
            let c = connect(n, "app", "app").await;
            barrier(&c).await;
            apps.push(c);
        }
        // Each server learns the others' `$SYS` interest over the routes: poll until all
        // three answer (interest propagation is asynchronous).
        let mut list = Vec::new();
        let all = common::wait_for(Duration::from_secs(10), || {
            let v = cli_json(&nodes[0], "sys", &["server", "list", "3", "--json"]);
            list = v.as_array().cloned().unwrap_or_default();
            list.len() == 3
        })
        .await;
        assert!(all, "{label}: three servers answer PING: {list:?}");
        let mut names: Vec<&str> = list
            .iter()
            .map(|m| m["server"]["name"].as_str().expect("name"))
            .collect();
        names.sort();
        assert_eq!(names, ["s0", "s1", "s2"], "{label}");
        for m in &list {
            assert_eq!(m["server"]["cluster"], "syscluster", "{label}: {m}");
            // (at least one per peer; the reference pools several)
            let routes = m["statsz"]["routes"].as_array().map_or(0, Vec::len);
            assert!(routes >= 2, "{label}: {m}");
        }
        let conns: u64 = list
            .iter()
            .map(|m| m["statsz"]["connections"].as_u64().expect("connections"))
            .sum();
        let (ok, out, err) = cli(&nodes[1], "sys", &["server", "ping", "3"]);
        assert!(ok, "{label}: ping: {out}{err}");
        assert!(out.contains("3 replies"), "{label}: {out}");
        let report = cli_json(
            &nodes[2],
            "sys",
            &["server", "report", "connections", "--json"],
        );
        let report = report.as_array().expect("array");
        let app_conns = report.iter().filter(|c| c["account"] == "APP").count();
        assert_eq!(
            app_conns, 3,
            "{label}: one APP connection per server: {report:?}"
        );
        seen.push((names.len(), conns, app_conns));
    }
    assert_eq!(seen[0], seen[1], "servers, connections, APP connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_in_a_mixed_cluster() {
    let dir = TempDir::new("sysmixed");
    let nodes = start_cluster(&dir, &[rnats_bin(), reference_bin(), rnats_bin()]);
    let meshed = common::wait_for(Duration::from_secs(20), || {
        nodes.iter().all(|n| {
            let v = http_json(n, "/routez");
            let peers: BTreeSet<&str> = v["routes"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["remote_id"].as_str()).collect())
                .unwrap_or_default();
            peers.len() == 2
        })
    })
    .await;
    assert!(meshed, "full mesh");
    for (i, n) in nodes.iter().enumerate() {
        let mut list = Vec::new();
        let all = common::wait_for(Duration::from_secs(10), || {
            let v = cli_json(n, "sys", &["server", "list", "3", "--json"]);
            list = v.as_array().cloned().unwrap_or_default();
            list.len() == 3
        })
        .await;
        let mut names: Vec<&str> = list
            .iter()
            .map(|m| m["server"]["name"].as_str().unwrap_or("?"))
            .collect();
        names.sort();
        assert!(all, "asked s{i}: three servers answer PING: {names:?}");
    }
}

/// Runs `nats` with a `.creds` file against `s`; (success, stdout, stderr).
fn cli_creds(s: &ServerProcess, creds: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let home = TempDir::new("natscli-home");
    let out = Command::new(natscli())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["--no-context", "--server", &s.url(), "--timeout", "3s"])
        .arg("--creds")
        .arg(creds)
        .args(args)
        .output()
        .expect("natscli runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_mode_system_account() {
    // `nsc add operator --sys` makes the SYS account and its `sys` user; the config
    // `nsc generate config` writes names it, and a copy without `system_account` leaves it to
    // the operator JWT.
    let nsc = common::nsc::Nsc::new("sysop");
    nsc.run(&["add", "operator", "--sys", "--name", "OP"]);
    nsc.run(&["add", "account", "A"]);
    nsc.run(&["add", "user", "-a", "A", "u"]);
    let conf = nsc.server_config();
    let text = std::fs::read_to_string(&conf).expect("read config");
    assert!(text.contains("system_account"), "{text}");
    let from_jwt = nsc.path().join("no-sys.conf");
    let stripped: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("system_account"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&from_jwt, stripped).expect("write config");
    let sys_creds = nsc.creds("OP", "SYS", "sys");
    let user_creds = nsc.creds("OP", "A", "u");
    for conf in [&conf, &from_jwt] {
        let arg = conf.display().to_string();
        let mut seen = Vec::new();
        for (label, bin) in [("reference", reference_bin()), ("rnats", rnats_bin())] {
            let s = spawn(&bin, &["-c", &arg]);
            let (ok, out, err) = cli_creds(&s, &user_creds, &["pub", "x", "y"]);
            assert!(ok, "{label} {arg}: user connects: {out}{err}");
            let (ok, out, err) = cli_creds(&s, &sys_creds, &["server", "list", "--json"]);
            assert!(ok, "{label} {arg}: server list: {out}{err}");
            let list: Value = serde_json::from_str(&out).expect("json");
            let list = list.as_array().expect("array");
            assert_eq!(list.len(), 1, "{label} {arg}: {list:?}");
            let (ok, out, err) = cli_creds(
                &s,
                &sys_creds,
                &["server", "report", "connections", "--json"],
            );
            assert!(ok, "{label} {arg}: report: {out}{err}");
            let conns: Value = serde_json::from_str(&out).expect("json");
            let n = conns.as_array().map_or(0, Vec::len);
            // A user of A cannot ask.
            let (ok, _, _) = cli_creds(&s, &user_creds, &["server", "list", "--json"]);
            assert!(!ok, "{label} {arg}: a user of A must not get PING answers");
            seen.push((list[0]["statsz"]["connections"].clone(), n));
        }
        assert_eq!(seen[0], seen[1], "{}: connections", conf.display());
    }
}

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
