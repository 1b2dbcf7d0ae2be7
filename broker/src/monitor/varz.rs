//! `/varz`: server identity, limits and counters, with nats-server 2.15's fields, order,
//! units and types. What rnats does not have yet (clustering, gateways, leaf nodes, MQTT,
//! websockets, JetStream, TLS) has the reference's empty shape; `rnats_version` is extra.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::{self, ser_f64, ser_opt_time, ser_time};
use super::{Monitor, json_response};
use crate::server::info::{CLIENT_PROTO, COMPAT_VERSION, RNATS_VERSION};
use crate::server::stats::ServerStats;
use crate::server::{GIT_COMMIT, Server, TOOLCHAIN};

/// An options block rnats does not implement yet: `{}` as the reference prints it unset.
#[derive(Debug, Default, Serialize)]
pub struct Empty {}

/// The `cluster` block of `/varz` (`ClusterOptsVarz`).
#[derive(Debug, Default, Serialize)]
pub struct ClusterVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "addr", skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub cluster_port: u16,
    /// Seconds.
    #[serde(skip_serializing_if = "is_zero_f64", serialize_with = "ser_f64")]
    pub auth_timeout: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Seconds.
    #[serde(skip_serializing_if = "is_zero_f64", serialize_with = "ser_f64")]
    pub tls_timeout: f64,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub tls_cert_not_after: Option<DateTime<Utc>>,
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// `/varz` `cluster`: empty unless routes are enabled.
fn cluster_varz(s: &Server) -> ClusterVarz {
    if !s.routes.enabled() {
        return ClusterVarz::default();
    }
    let o = s.options();
    ClusterVarz {
        name: s.routes.cluster_name(),
        host: o.cluster.host.clone(),
        cluster_port: s.routes.listen_addr().map_or(0, |a| a.port()),
        auth_timeout: o.cluster.auth_timeout.as_secs_f64(),
        urls: o.cluster.routes.iter().map(|r| r.addr()).collect(),
        tls_timeout: o.cluster.tls_timeout().as_secs_f64(),
        tls_required: o.cluster.tls.is_some(),
        tls_verify: o.cluster.tls.is_some(),
        tls_cert_not_after: o.cluster.tls.as_ref().and_then(|t| t.cert_not_after),
    }
}

/// Counts per connection kind (`SlowConsumersStats`, `StaleConnectionStats`).
#[derive(Debug, Default, Serialize)]
pub struct KindStats {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

/// Disk I/O semaphore contention (`DiskIOWaitStats`); zero without JetStream.
#[derive(Debug, Default, Serialize)]
pub struct DiskIoWaitStats {
    pub waiters: i64,
    pub waits: u64,
    pub wait_time: u64,
    pub max_wait_time: u64,
}

/// JetStream feature flags the reference reports by default (`feature_flags`).
pub(crate) const FEATURE_FLAGS: [(&str, bool); 4] = [
    ("js_ack_fc_v2", false),
    ("js_api_reply_v2", false),
    ("js_raft_delete_range", true),
    ("js_snapshot_sources", false),
];

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// The `/varz` answer (`Varz`); omitted-when-empty fields follow the reference's tags.
#[derive(Debug, Serialize)]
pub struct Varz {
    pub server_id: String,
    pub server_name: String,
    pub version: &'static str,
    pub proto: i32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub git_commit: &'static str,
    pub go: &'static str,
    pub host: String,
    pub port: u16,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    pub max_connections: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_subscriptions: usize,
    /// Nanoseconds.
    pub ping_interval: u64,
    pub ping_max: u32,
    pub http_host: String,
    pub http_port: u16,
    pub http_base_path: String,
    pub https_port: u16,
    /// Seconds.
    #[serde(serialize_with = "ser_f64")]
    pub auth_timeout: f64,
    pub max_control_line: usize,
    pub max_payload: usize,
    pub max_pending: usize,
    pub cluster: ClusterVarz,
    pub gateway: Empty,
    pub leaf: Empty,
    pub mqtt: Empty,
    pub websocket: Empty,
    pub jetstream: Empty,
    /// Seconds.
    #[serde(serialize_with = "ser_f64")]
    pub tls_timeout: f64,
    /// Nanoseconds.
    pub write_deadline: u64,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    pub uptime: String,
    pub mem: u64,
    pub cores: usize,
    pub gomaxprocs: usize,
    #[serde(serialize_with = "ser_f64")]
    pub cpu: f64,
    pub connections: usize,
    pub total_connections: u64,
    pub routes: u64,
    pub remotes: u64,
    pub leafnodes: u64,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub in_client_msgs: u64,
    pub in_client_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub out_client_msgs: u64,
    pub out_client_bytes: u64,
    pub slow_consumers: u64,
    pub stale_connections: u64,
    pub stalled_clients: u64,
    pub subscriptions: u64,
    pub http_req_stats: BTreeMap<&'static str, u64>,
    #[serde(serialize_with = "ser_time")]
    pub config_load_time: DateTime<Utc>,
    pub config_digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub feature_flags: BTreeMap<&'static str, bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    pub slow_consumer_stats: KindStats,
    pub stale_connection_stats: KindStats,
    pub disk_io_wait_stats: DiskIoWaitStats,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub tls_cert_not_after: Option<DateTime<Utc>>,
    pub rnats_version: &'static str,
}

/// Builds `/varz` from the server's state and the monitor's request counts.
pub fn varz(s: &Server, http_req_stats: BTreeMap<&'static str, u64>) -> Varz {
    let o = s.options();
    let now = Utc::now();
    let get = ServerStats::get;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let subscriptions = s.accounts().iter().map(|a| a.sublist.count() as u64).sum();
    let (in_msgs, in_bytes) = (get(&s.stats.in_msgs), get(&s.stats.in_bytes));
    let (out_msgs, out_bytes) = (get(&s.stats.out_msgs), get(&s.stats.out_bytes));
    let slow = get(&s.stats.slow_consumers);
    let stale = get(&s.stats.stale_connections);
    Varz {
        server_id: s.id.clone(),
        server_name: s.name.clone(),
        version: COMPAT_VERSION,
        proto: CLIENT_PROTO,
        git_commit: GIT_COMMIT,
        go: TOOLCHAIN,
        host: o.host.clone(),
        port: s.client_addr().map(|a| a.port()).unwrap_or(0),
        auth_required: s.auth().auth_required() && s.auth().no_auth_user.is_none(),
        tls_required: o.tls.is_some(),
        tls_verify: o.tls.as_ref().is_some_and(|t| t.verify()),
        connect_urls: s.client_connect_urls(),
        max_connections: o.max_connections,
        max_subscriptions: o.max_subscriptions,
        ping_interval: nanos(o.ping_interval),
        ping_max: o.ping_max,
        http_host: o.http_host.clone().unwrap_or_else(|| o.host.clone()),
        http_port: s.http_addr().map(|a| a.port()).unwrap_or(0),
        http_base_path: o.http_base_path.clone(),
        https_port: 0,
        auth_timeout: o.auth_timeout.as_secs_f64(),
        max_control_line: o.max_control_line,
        max_payload: o.max_payload,
        max_pending: o.max_pending,
        cluster: cluster_varz(s),
        gateway: Empty {},
        leaf: Empty {},
        mqtt: Empty {},
        websocket: Empty {},
        jetstream: Empty {},
        tls_timeout: o
            .tls
            .as_ref()
            .map_or(crate::tls::DEFAULT_TLS_TIMEOUT, |t| t.timeout())
            .as_secs_f64(),
        write_deadline: nanos(o.write_deadline),
        start: s.start,
        now,
        uptime: gofmt::uptime(now - s.start),
        mem: crate::procstat::rss_bytes().unwrap_or(0),
        cores,
        gomaxprocs: cores,
        cpu: crate::procstat::cpu_percent(s.start, now).unwrap_or(0.0),
        connections: s.num_clients(),
        total_connections: get(&s.stats.total_connections),
        routes: s.routes.num_routes() as u64,
        remotes: s.routes.num_routes() as u64,
        leafnodes: 0,
        in_msgs,
        in_bytes,
        in_client_msgs: in_msgs,
        in_client_bytes: in_bytes,
        out_msgs,
        out_bytes,
        out_client_msgs: out_msgs,
        out_client_bytes: out_bytes,
        slow_consumers: slow,
        stale_connections: stale,
        stalled_clients: 0,
        subscriptions,
        http_req_stats,
        config_load_time: *s.config_load_time.read(),
        config_digest: String::new(),
        tags: o.tags.clone(),
        metadata: o.metadata.clone(),
        feature_flags: FEATURE_FLAGS.into_iter().collect(),
        system_account: s
            .system()
            .map(|sys| sys.account().name.clone())
            .unwrap_or_default(),
        slow_consumer_stats: KindStats {
            clients: slow,
            ..KindStats::default()
        },
        stale_connection_stats: KindStats {
            clients: stale,
            ..KindStats::default()
        },
        disk_io_wait_stats: DiskIoWaitStats::default(),
        tls_cert_not_after: o.tls.as_ref().and_then(|t| t.cert_not_after),
        rnats_version: RNATS_VERSION,
    }
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub(super) async fn handler(State(m): State<Monitor>) -> Response {
    m.count("/varz");
    json_response(&varz(&m.server, m.request_stats()))
}
