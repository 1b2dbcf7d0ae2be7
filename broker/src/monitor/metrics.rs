//! `/metrics`: Prometheus text exposition computed from the same data as the JSON endpoints.
//!
//! The `nats_*` families are what prometheus-nats-exporter produces against this server with
//! `-prefix=nats -use_internal_server_id` and `-varz -subz -routez -connz -healthz`:
//!
//! - `/varz`, `/subsz`, `/routez`: every numeric JSON field becomes a gauge
//!   `nats_<endpoint>_<path joined with _>` (help = that path), nested objects flattened,
//!   the exporter's skip list honoured; the string fields `server_id`, `server_name`,
//!   `version`, `domain`, `leader`, `name` become `…{value="…"} 1`, and `start` and
//!   `config_load_time` gauges of epoch milliseconds.
//! - `/connz`: `nats_connz_{num_connections,total,offset,limit,pending_bytes,subscriptions}`
//!   gauges and `nats_connz_{in_msgs,out_msgs,in_bytes,out_bytes}` counters, summed over the
//!   default `/connz` page.
//! - `/healthz`: `nats_healthz_status` (0 ok, 1 not) and `nats_healthz_status_value{value}`.
//! - `/accstatz?unused=1` (exporter flag `-accstatz`): per account, gauges
//!   `nats_accstatz_{current_connections,total_connections,subscriptions,leaf_nodes,
//!   sent_messages,sent_bytes,received_messages,received_bytes,slow_consumers}` labelled
//!   `account`, `account_id`, `account_name`.
//!
//! All carry the label `server_id` (the server's id). `rnats_*` families are rnats' own.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::core::Collector;
use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};
use serde_json::{Map, Value};

use super::Monitor;
use super::connz::{ConnzOptions, connz};
use super::healthz::{HealthzOptions, healthz};
use super::routez::routez;
use super::subsz::{SubszOptions, subsz};
use super::varz::varz;
use crate::server::GIT_COMMIT;
use crate::server::info::{COMPAT_VERSION, RNATS_VERSION};
use crate::server::stats::ServerStats;

/// The exporter's namespace with `-prefix=nats`.
const PREFIX: &str = "nats";

/// Flattened names the exporter never exports (`skipFQN`).
const SKIP_FQN: [&str; 9] = [
    "leaf",
    "trusted_operators_claim",
    "cluster_tls_timeout",
    "cluster_cluster_port",
    "cluster_auth_timeout",
    "gateway_port",
    "gateway_auth_timeout",
    "gateway_tls_timeout",
    "gateway_connect_retries",
];

/// String fields the exporter turns into label gauges or timestamps (`labelKeys`).
const LABEL_KEYS: [&str; 8] = [
    "server_id",
    "server_name",
    "version",
    "domain",
    "leader",
    "name",
    "start",
    "config_load_time",
];

/// Builds the registry for one scrape.
struct Scrape {
    registry: Registry,
    server_id: String,
}

impl Scrape {
    /// Registers a gauge family with `labels` (after `server_id`) and one sample.
    fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        let mut names = vec!["server_id"];
        names.extend(labels.iter().map(|(k, _)| *k));
        let Ok(vec) = GaugeVec::new(Opts::new(sanitize(name), help), &names) else {
            return;
        };
        let mut values = vec![self.server_id.as_str()];
        values.extend(labels.iter().map(|(_, v)| *v));
        if let Ok(g) = vec.get_metric_with_label_values(&values) {
            g.set(value);
        }
        self.register(vec);
    }

    /// Registers a gauge family with one sample per label-value set (labels after
    /// `server_id`).
    fn gauges(&self, name: &str, help: &str, labels: &[&str], samples: &[(Vec<&str>, f64)]) {
        let mut names = vec!["server_id"];
        names.extend(labels);
        let Ok(vec) = GaugeVec::new(Opts::new(sanitize(name), help), &names) else {
            return;
        };
        for (label_values, value) in samples {
            let mut values = vec![self.server_id.as_str()];
            values.extend(label_values);
            if let Ok(g) = vec.get_metric_with_label_values(&values) {
                g.set(*value);
            }
        }
        self.register(vec);
    }

    /// Registers a counter family with one label set per sample.
    fn counter(&self, name: &str, help: &str, label: Option<&str>, samples: &[(&str, f64)]) {
        let mut names = vec!["server_id"];
        names.extend(label);
        let Ok(vec) = CounterVec::new(Opts::new(sanitize(name), help), &names) else {
            return;
        };
        for (label_value, value) in samples {
            let mut values = vec![self.server_id.as_str()];
            if label.is_some() {
                values.push(label_value);
            }
            if let Ok(c) = vec.get_metric_with_label_values(&values) {
                c.inc_by(value.max(0.0));
            }
        }
        self.register(vec);
    }

    /// First registration of a name wins, as in the exporter; duplicates are dropped.
    fn register<C: Collector + 'static>(&self, c: C) {
        let _ = self.registry.register(Box::new(c));
    }

    /// The exporter's `objectToMetrics` over one endpoint's JSON.
    fn flatten(&self, endpoint: &str, obj: &Map<String, Value>, prefix: &[&str]) {
        for (k, v) in obj {
            let mut path = prefix.to_vec();
            path.push(k);
            let fqn = fq_name(&path);
            if SKIP_FQN.contains(&fqn.as_str()) {
                continue;
            }
            let name = format!("{PREFIX}_{endpoint}_{fqn}");
            match v {
                Value::Number(n) => {
                    if let Some(f) = n.as_f64() {
                        self.gauge(&name, &fqn, &[], f);
                    }
                }
                Value::String(s) if LABEL_KEYS.contains(&k.as_str()) => {
                    match chrono::DateTime::parse_from_rfc3339(s) {
                        Ok(t) => self.gauge(&name, &fqn, &[], t.timestamp_millis() as f64),
                        Err(_) => self.gauge(&name, &fqn, &[("value", s)], 1.0),
                    }
                }
                Value::Object(o) => self.flatten(endpoint, o, &path),
                _ => {}
            }
        }
    }
}

/// The exporter's `fqName`: path joined with `_`, `/` as `_`, outer `_` trimmed, runs of
/// `_` collapsed.
fn fq_name(path: &[&str]) -> String {
    let joined = path.join("_").replace('/', "_");
    let mut out = String::with_capacity(joined.len());
    for c in joined.trim_matches('_').chars() {
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Replaces characters Prometheus does not allow in metric names.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders every metric family in the Prometheus text format.
pub fn render(m: &Monitor) -> Result<String, prometheus::Error> {
    let s = &m.server;
    let scrape = Scrape {
        registry: Registry::new(),
        server_id: s.id.clone(),
    };
    let as_object = |v: Result<Value, serde_json::Error>| match v {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    let v = varz(s, m.request_stats());
    scrape.flatten("varz", &as_object(serde_json::to_value(&v)), &[]);
    if let Ok(sz) = subsz(s, &SubszOptions::default()) {
        scrape.flatten("subsz", &as_object(serde_json::to_value(&sz)), &[]);
    }
    scrape.flatten("routez", &as_object(serde_json::to_value(routez(s))), &[]);
    if let Ok(c) = connz(s, &ConnzOptions::default()) {
        connz_metrics(&scrape, &c);
    }
    let (_, health) = healthz(s, &HealthzOptions::default());
    let ok = health.status == "ok";
    scrape.gauge(
        "nats_healthz_status",
        "status",
        &[],
        if ok { 0.0 } else { 1.0 },
    );
    scrape.gauge(
        "nats_healthz_status_value",
        "status",
        &[("value", health.status)],
        if ok { 1.0 } else { 0.0 },
    );
    accstatz_metrics(&scrape, s);
    rnats_metrics(&scrape, m);

    let mut out = Vec::new();
    TextEncoder::new().encode(&scrape.registry.gather(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The exporter's accstatz collector: one gauge family per `AccountStat` figure.
fn accstatz_metrics(scrape: &Scrape, s: &crate::server::Server) {
    let stats = super::accstatz::accstatz(s, true).account_statz;
    type Figure = fn(&super::accstatz::AccountStat) -> f64;
    let figures: [(&str, Figure); 9] = [
        ("current_connections", |a| a.conns as f64),
        ("total_connections", |a| a.total_conns as f64),
        ("subscriptions", |a| a.num_subscriptions as f64),
        ("leaf_nodes", |a| a.leafnodes as f64),
        ("sent_messages", |a| a.sent.msgs as f64),
        ("sent_bytes", |a| a.sent.bytes as f64),
        ("received_messages", |a| a.received.msgs as f64),
        ("received_bytes", |a| a.received.bytes as f64),
        ("slow_consumers", |a| a.slow_consumers as f64),
    ];
    for (name, f) in figures {
        let samples: Vec<(Vec<&str>, f64)> = stats
            .iter()
            .map(|a| (vec![a.acc.as_str(), a.acc.as_str(), a.name.as_str()], f(a)))
            .collect();
        scrape.gauges(
            &format!("{PREFIX}_accstatz_{name}"),
            name,
            &["account", "account_id", "account_name"],
            &samples,
        );
    }
}

/// The exporter's connz collector (summary mode).
fn connz_metrics(scrape: &Scrape, c: &super::connz::Connz) {
    let conns = c.connections.as_deref().unwrap_or_default();
    let sum = |f: fn(&super::connz::ConnInfo) -> u64| conns.iter().map(f).sum::<u64>() as f64;
    let gauges = [
        ("num_connections", c.num_connections as f64),
        ("total", c.total as f64),
        ("offset", c.offset as f64),
        ("limit", c.limit as f64),
        ("pending_bytes", sum(|ci| ci.pending_bytes as u64)),
        ("subscriptions", sum(|ci| ci.subscriptions as u64)),
    ];
    for (name, value) in gauges {
        scrape.gauge(&format!("{PREFIX}_connz_{name}"), name, &[], value);
    }
    let counters = [
        ("in_bytes", sum(|ci| ci.in_bytes)),
        ("out_bytes", sum(|ci| ci.out_bytes)),
        ("in_msgs", sum(|ci| ci.in_msgs)),
        ("out_msgs", sum(|ci| ci.out_msgs)),
    ];
    for (name, value) in counters {
        scrape.counter(
            &format!("{PREFIX}_connz_{name}"),
            name,
            None,
            &[("", value)],
        );
    }
}

/// rnats' own families: true counters for the server totals, closes by reason, requests by
/// monitoring path, and build information.
fn rnats_metrics(scrape: &Scrape, m: &Monitor) {
    let s = &m.server;
    let st = &s.stats;
    let get = |c: &std::sync::atomic::AtomicU64| ServerStats::get(c) as f64;
    let totals = [
        (
            "rnats_in_msgs_total",
            "Messages received from clients.",
            get(&st.in_msgs),
        ),
        (
            "rnats_in_bytes_total",
            "Payload bytes received from clients.",
            get(&st.in_bytes),
        ),
        (
            "rnats_out_msgs_total",
            "Messages delivered to clients.",
            get(&st.out_msgs),
        ),
        (
            "rnats_out_bytes_total",
            "Payload bytes delivered to clients.",
            get(&st.out_bytes),
        ),
        (
            "rnats_connections_total",
            "Client connections accepted since start.",
            get(&st.total_connections),
        ),
        (
            "rnats_slow_consumers_total",
            "Client connections closed as slow consumers.",
            get(&st.slow_consumers),
        ),
        (
            "rnats_stale_connections_total",
            "Client connections closed as stale (unanswered PINGs).",
            get(&st.stale_connections),
        ),
    ];
    for (name, help, value) in totals {
        scrape.counter(name, help, None, &[("", value)]);
    }
    let reasons: Vec<(&str, f64)> = s
        .closed
        .by_reason()
        .into_iter()
        .map(|(r, n)| (r, n as f64))
        .collect();
    scrape.counter(
        "rnats_connections_closed_total",
        "Client connections closed since start, by reason (as /connz reports it).",
        Some("reason"),
        &reasons,
    );
    scrape.gauge(
        "rnats_closed_connections_retained",
        "Closed connections kept for /connz?state=closed.",
        &[],
        s.closed.len() as f64,
    );
    let requests = m.request_stats();
    let requests: Vec<(&str, f64)> = requests.iter().map(|(p, n)| (*p, *n as f64)).collect();
    scrape.counter(
        "rnats_http_requests_total",
        "Monitoring requests served, by path.",
        Some("path"),
        &requests,
    );
    scrape.gauge(
        "rnats_info",
        "Build information: rnats version and the nats-server version it implements.",
        &[
            ("version", RNATS_VERSION),
            ("compat_version", COMPAT_VERSION),
            ("git_commit", GIT_COMMIT),
        ],
        1.0,
    );
}

pub(super) async fn handler(State(m): State<Monitor>) -> Response {
    m.count("/metrics");
    match render(&m) {
        Ok(body) => {
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fq_names_like_the_exporter() {
        assert_eq!(fq_name(&["http_req_stats", "/varz"]), "http_req_stats_varz");
        assert_eq!(fq_name(&["http_req_stats", "/"]), "http_req_stats");
        assert_eq!(
            fq_name(&["slow_consumer_stats", "clients"]),
            "slow_consumer_stats_clients"
        );
        assert_eq!(
            fq_name(&["http_req_stats", "/debug/vars"]),
            "http_req_stats_debug_vars"
        );
    }
}
