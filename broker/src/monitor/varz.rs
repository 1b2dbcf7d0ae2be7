//! `/varz`: server identity, limits and counters, in nats-server's field order.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::{Monitor, json_response};
use crate::server::info::{CLIENT_PROTO, COMPAT_VERSION, RNATS_VERSION};
use crate::server::stats::ServerStats;
use crate::server::{GIT_COMMIT, TOOLCHAIN};

#[derive(Serialize)]
struct Varz {
    server_id: String,
    server_name: String,
    version: &'static str,
    proto: i32,
    git_commit: &'static str,
    go: &'static str,
    host: String,
    port: u16,
    max_connections: usize,
    ping_interval: u128,
    ping_max: u32,
    http_host: String,
    http_port: u16,
    http_base_path: &'static str,
    https_port: u16,
    auth_timeout: f64,
    max_control_line: usize,
    max_payload: usize,
    max_pending: usize,
    tls_timeout: f64,
    write_deadline: u128,
    start: String,
    now: String,
    uptime: String,
    mem: u64,
    cores: usize,
    cpu: f64,
    connections: usize,
    total_connections: u64,
    routes: u64,
    remotes: u64,
    leafnodes: u64,
    in_msgs: u64,
    in_bytes: u64,
    out_msgs: u64,
    out_bytes: u64,
    slow_consumers: u64,
    stale_connections: u64,
    subscriptions: usize,
    http_req_stats: std::collections::BTreeMap<&'static str, u64>,
    config_load_time: String,
    rnats_version: &'static str,
}

pub(super) async fn varz(State(m): State<Monitor>) -> Response {
    m.count("/varz");
    let s = &m.server;
    let o = s.options();
    let now = chrono::Utc::now();
    let http = s.http_addr();
    let v = Varz {
        server_id: s.id.clone(),
        server_name: s.name.clone(),
        version: COMPAT_VERSION,
        proto: CLIENT_PROTO,
        git_commit: GIT_COMMIT,
        go: TOOLCHAIN,
        host: o.host.clone(),
        port: s.client_addr().map(|a| a.port()).unwrap_or(0),
        max_connections: o.max_connections,
        ping_interval: o.ping_interval.as_nanos(),
        ping_max: o.ping_max,
        http_host: o.http_host.clone().unwrap_or_else(|| o.host.clone()),
        http_port: http.map(|a| a.port()).unwrap_or(0),
        http_base_path: "",
        https_port: 0,
        auth_timeout: o.auth_timeout.as_secs_f64(),
        max_control_line: o.max_control_line,
        max_payload: o.max_payload,
        max_pending: o.max_pending,
        tls_timeout: 2.0,
        write_deadline: o.write_deadline.as_nanos(),
        start: rfc3339(s.start),
        now: rfc3339(now),
        uptime: uptime(now - s.start),
        mem: crate::procstat::rss_bytes().unwrap_or(0),
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu: crate::procstat::cpu_percent(s.start, now).unwrap_or(0.0),
        connections: s.num_clients(),
        total_connections: ServerStats::get(&s.stats.total_connections),
        routes: 0,
        remotes: 0,
        leafnodes: 0,
        in_msgs: ServerStats::get(&s.stats.in_msgs),
        in_bytes: ServerStats::get(&s.stats.in_bytes),
        out_msgs: ServerStats::get(&s.stats.out_msgs),
        out_bytes: ServerStats::get(&s.stats.out_bytes),
        slow_consumers: ServerStats::get(&s.stats.slow_consumers),
        stale_connections: ServerStats::get(&s.stats.stale_connections),
        subscriptions: s.global_account().sublist.count(),
        http_req_stats: m.requests.lock().clone(),
        config_load_time: rfc3339(*s.config_load_time.read()),
        rnats_version: RNATS_VERSION,
    };
    json_response(&v)
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Uptime as nats-server prints it: `1y2d3h4m5s`, leading zero units omitted.
fn uptime(d: chrono::TimeDelta) -> String {
    let mut secs = d.num_seconds().max(0);
    let years = secs / (365 * 86400);
    secs %= 365 * 86400;
    let days = secs / 86400;
    secs %= 86400;
    let hours = secs / 3600;
    secs %= 3600;
    let mins = secs / 60;
    secs %= 60;
    let mut out = String::new();
    if years > 0 {
        out.push_str(&format!("{years}y"));
    }
    if days > 0 || !out.is_empty() {
        out.push_str(&format!("{days}d"));
    }
    if hours > 0 || !out.is_empty() {
        out.push_str(&format!("{hours}h"));
    }
    if mins > 0 || !out.is_empty() {
        out.push_str(&format!("{mins}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::uptime;

    #[test]
    fn uptime_format() {
        assert_eq!(uptime(chrono::TimeDelta::seconds(1)), "1s");
        assert_eq!(uptime(chrono::TimeDelta::seconds(61)), "1m1s");
        assert_eq!(uptime(chrono::TimeDelta::seconds(3600)), "1h0m0s");
        assert_eq!(
            uptime(chrono::TimeDelta::seconds(86400 * 2 + 5)),
            "2d0h0m5s"
        );
    }
}
