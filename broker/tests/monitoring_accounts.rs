//! Account monitoring compared with the reference: both servers run the same accounts config
//! (exports, imports, users in three accounts), get the same traffic over raw sockets, and
//! `/accountz`, `/accountz?acc=`, `/accstatz` and `/connz?auth=1` are compared field by field.
//!
//! What differs and why: the reference has a system account `$SYS` (listed by `/accountz`,
//! named in `system_account`, importing four `$SYS.REQ.*` services into every account), which
//! rnats does not have yet; those entries are dropped from the reference's answers and the
//! subscription counts they add are masked. Account order in lists follows the reference's
//! Go map (random), so lists are compared sorted. Times, ids and ports are masked.

#[path = "monitoring/compare.rs"]
mod compare;
#[path = "monitoring/harness.rs"]
mod harness;

use serde_json::Value;

use compare::compare;
use harness::{Client, Server, reference_bin, rnats_bin};

const CONF: &str = r#"
accounts {
  A: {
    users: [ {user: a, password: pa} ]
    exports: [
      {stream: "events.>"}
      {service: "svc.*", accounts: [B]}
      {service: "multi", response_type: stream}
      {stream: "acc.*.x", account_token_position: 2}
    ]
  }
  B: {
    users: [ {user: b, password: pb} ]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "from_a"}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
      {service: {account: A, subject: "multi"}}
    ]
  }
  C: {
    users: [ {user: c, password: pc} ]
    imports: [ {stream: {account: A, subject: "events.x"}, to: "ev_x"} ]
  }
}
"#;

/// Keys whose values differ between any two servers.
fn masked(k: &str) -> bool {
    matches!(
        k,
        "server_id" | "now" | "update_time" | "subscriptions" | "num_subscriptions"
    ) || k.starts_with("num_")
        || k.ends_with("_fanout")
        || k == "cache_hit_rate"
}

struct Run {
    server: Server,
    clients: Vec<Client>,
}

fn start(name: &'static str, bin: &std::path::Path, conf: &std::path::Path) -> Run {
    let server = Server::start_with(name, bin, &["-c", &conf.display().to_string()]);
    let mut a = Client::connect(server.port, "a", ",\"user\":\"a\",\"pass\":\"pa\"");
    let mut b = Client::connect(server.port, "b", ",\"user\":\"b\",\"pass\":\"pb\"");
    let mut c = Client::connect(server.port, "c", ",\"user\":\"c\",\"pass\":\"pc\"");
    b.barrier(b"SUB from_a.events.> 1\r\nSUB inbox.> 2\r\n");
    c.barrier(b"SUB ev_x 1\r\n");
    a.barrier(b"SUB svc.* 1\r\nPUB events.x 3\r\nabc\r\nPUB events.y 2\r\nde\r\n");
    b.barrier(b"PUB echo 2\r\nhi\r\nPUB local 1\r\nl\r\n");
    a.barrier(b"");
    b.barrier(b"");
    c.barrier(b"");
    Run {
        server,
        clients: vec![a, b, c],
    }
}

/// Drops what only the reference's system account adds.
fn without_sys(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.shift_remove("system_account");
        if let Some(Value::Array(list)) = o.get_mut("accounts") {
            list.retain(|a| a != "$SYS");
            list.sort_by_key(|a| a.as_str().unwrap_or_default().to_string());
        }
        if let Some(Value::Array(list)) = o.get_mut("account_statz") {
            list.retain(|a| a["acc"] != "$SYS");
            list.sort_by_key(|a| a["acc"].as_str().unwrap_or_default().to_string());
            // The request A receives through the service import carries
            // `Nats-Request-Info: {"acc":"B","rtt":<ns>}`: its size follows the number of
            // digits of the requestor's measured RTT, on either server.
            for a in list.iter_mut().filter(|a| a["acc"] == "A") {
                a["sent"]["bytes"] = Value::from(0);
            }
        }
        if let Some(d) = o.get_mut("account_detail").and_then(Value::as_object_mut) {
            if let Some(Value::Array(list)) = d.get_mut("imports") {
                list.retain(|i| i["account"] != "$SYS");
                list.sort_by_key(|i| i["subject"].as_str().unwrap_or_default().to_string());
                if list.is_empty() {
                    d.shift_remove("imports");
                }
            }
            if let Some(Value::Array(list)) = d.get_mut("exports") {
                list.sort_by_key(|e| e["subject"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    v
}

#[test]
fn account_endpoints_match_reference() {
    let dir = std::env::temp_dir().join(format!("rnats-monacc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("accounts.conf");
    std::fs::write(&conf, CONF).expect("write config");
    let reference = start("reference", &reference_bin(), &conf);
    let rnats = start("rnats", &rnats_bin(), &conf);
    let mut errs = Vec::new();
    for path in [
        "/accountz",
        "/accountz?acc=A",
        "/accountz?acc=B",
        "/accountz?acc=C",
        "/accountz?acc=$G",
        "/accstatz",
        "/accstatz?unused=1",
    ] {
        let want = without_sys(reference.server.json(path));
        let got = without_sys(rnats.server.json(path));
        compare(path, &want, &got, &masked, &mut errs);
    }
    for (path, code) in [("/accountz?acc=Z", 400), ("/accstatz?unused=x", 400)] {
        let (a, b) = (reference.server.get(path), rnats.server.get(path));
        if (a.status, a.text()) != (b.status, b.text()) || a.status != code {
            errs.push(format!(
                "{path}: reference {} {:?}, rnats {} {:?}",
                a.status,
                a.text(),
                b.status,
                b.text()
            ));
        }
    }
    // The account and user of each connection, by name.
    let accounts = |s: &Server| {
        let mut v: Vec<(String, String, String)> = s.json("/connz?auth=1")["connections"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let f = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (f("name"), f("authorized_user"), f("account"))
            })
            .collect();
        v.sort();
        v
    };
    let (ra, na) = (accounts(&reference.server), accounts(&rnats.server));
    if ra != na {
        errs.push(format!(
            "/connz?auth=1 accounts: reference {ra:?}, rnats {na:?}"
        ));
    }
    drop(reference.clients);
    drop(rnats.clients);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        errs.is_empty(),
        "{} differences from the reference:\n{}",
        errs.len(),
        errs.join("\n")
    );
}
