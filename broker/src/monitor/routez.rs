//! `/routez`: one entry per route with the reference's fields (`RouteInfo`), and `?subs=1`
//! for the subjects each peer is interested in.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::{self, ser_time};
use super::query::Query;
use super::{Monitor, json_response};
use crate::permissions::SubjectPermission;
use crate::server::Server;

/// One route (`RouteInfo`).
#[derive(Debug, Serialize)]
pub struct RouteInfo {
    pub rid: u64,
    pub remote_id: String,
    pub remote_name: String,
    pub did_solicit: bool,
    pub is_configured: bool,
    pub ip: String,
    pub port: u16,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub last_activity: DateTime<Utc>,
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    /// The peer's cluster permissions, from its INFO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
    pub pending_size: usize,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub subscriptions: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<String>,
    pub compression: &'static str,
}

/// The `/routez` answer.
#[derive(Debug, Serialize)]
pub struct Routez {
    pub server_id: String,
    pub server_name: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    /// This server's cluster permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
    pub num_routes: usize,
    pub routes: Vec<RouteInfo>,
}

/// Builds `/routez` (with each route's subscriptions when `subs`).
pub fn routez(server: &Server) -> Routez {
    routez_with(server, false)
}

pub fn routez_with(server: &Server, subs: bool) -> Routez {
    let now = Utc::now();
    let mut routes: Vec<RouteInfo> = server
        .routes
        .routes()
        .into_iter()
        .map(|r| {
            let c = &r.shared;
            let last = c.activity.last().unwrap_or(r.start);
            let load = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed);
            let remote = r.remote().cloned().unwrap_or_default();
            let (import, export) = {
                let p = r.peer_perms.lock();
                let json =
                    |s: &Option<SubjectPermission>| s.as_ref().map(SubjectPermission::to_json);
                (json(&p.import), json(&p.export))
            };
            RouteInfo {
                rid: r.rid,
                remote_id: remote.server_id,
                remote_name: remote.server_name,
                did_solicit: r.solicited,
                is_configured: r.explicit,
                ip: c.addr.ip().to_string(),
                port: c.addr.port(),
                start: r.start,
                last_activity: last,
                rtt: gofmt::duration(c.activity.rtt()),
                uptime: gofmt::uptime(now - r.start),
                idle: gofmt::uptime(now - last),
                import,
                export,
                pending_size: c.outbound.pending(),
                in_msgs: load(&c.stats.in_msgs),
                out_msgs: load(&c.stats.out_msgs),
                in_bytes: load(&c.stats.in_bytes),
                out_bytes: load(&c.stats.out_bytes),
                subscriptions: r.num_subs(),
                subscriptions_list: if subs { r.subjects() } else { Vec::new() },
                compression: "off",
            }
        })
        .collect();
    routes.sort_by_key(|r| r.rid);
    let (import, export) = crate::route::perms::info_fields(server);
    Routez {
        server_id: server.id.clone(),
        server_name: server.name.clone(),
        now,
        import,
        export,
        num_routes: routes.len(),
        routes,
    }
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    let subs = match Query::parse(uri.query()).subs() {
        Ok((subs, detail)) => subs || detail,
        Err(e) => return e.into_response(),
    };
    m.count("/routez");
    json_response(&routez_with(&m.server, subs))
}
