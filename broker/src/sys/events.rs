//! The JSON the system account sends, with nats-server 2.15's field names, order and
//! `omitempty` rules (`events.go`): the `server` block every message carries, connect and
//! disconnect advisories, account connection counts, `STATSZ`, and the API envelope.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::monitor::accstatz::{AccountStat, DataStats, MsgBytes};
use crate::monitor::gofmt::{ser_f64, ser_opt_time, ser_time};

/// `type` of a connect advisory (`ConnectEventMsgType`).
pub const CONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_connect";
/// `type` of a disconnect advisory (`DisconnectEventMsgType`).
pub const DISCONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_disconnect";
/// `type` of an account connection count (`AccountNumConnsMsgType`).
pub const ACCOUNT_CONNS_TYPE: &str = "io.nats.server.advisory.v1.account_connections";

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}

/// The sending server (`ServerInfo`): filled in for every message at send time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerInfo {
    pub name: String,
    pub host: String,
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    pub ver: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_flags: BTreeMap<&'static str, bool>,
    pub jetstream: bool,
    pub flags: u64,
    pub seq: u64,
    #[serde(serialize_with = "ser_time")]
    pub time: DateTime<Utc>,
}

/// A client as events describe it (`ClientInfo`); every field is `omitempty`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientInfo {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub start: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub id: u64,
    #[serde(rename = "acc", skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(rename = "svc", skip_serializing_if = "String::is_empty")]
    pub service: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(rename = "ver", skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub rtt: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub stop: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_type: String,
}

/// `$SYS.ACCOUNT.<acc>.CONNECT` (`ConnectEventMsg`).
#[derive(Debug, Serialize)]
pub struct ConnectEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub timestamp: DateTime<Utc>,
    pub server: ServerInfo,
    pub client: ClientInfo,
}

/// `$SYS.ACCOUNT.<acc>.DISCONNECT` (`DisconnectEventMsg`). `sent` is what the client sent
/// (the server's in-counters), `received` what it received.
#[derive(Debug, Serialize)]
pub struct DisconnectEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub timestamp: DateTime<Utc>,
    pub server: ServerInfo,
    pub client: ClientInfo,
    pub sent: DataStats,
    pub received: DataStats,
    pub reason: String,
}

/// `$SYS.ACCOUNT.<acc>.SERVER.CONNS` (`AccountNumConns`).
#[derive(Debug, Serialize)]
pub struct AccountNumConns {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub timestamp: DateTime<Utc>,
    pub server: ServerInfo,
    #[serde(flatten)]
    pub stat: AccountStat,
}

/// `data` of `$SYS.REQ.ACCOUNT.PING.STATZ` and `.<acc>.STATZ` (`AccountStatz`).
#[derive(Debug, Serialize)]
pub struct AccountStatz {
    pub server_id: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    #[serde(rename = "account_statz")]
    pub accounts: Vec<AccountStat>,
}

/// Per-kind counts inside `STATSZ` (`SlowConsumersStats`, `StaleConnectionStats`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindCounts {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

/// The `statsz` block (`ServerStats`).
#[derive(Debug, Serialize)]
pub struct ServerStats {
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    pub mem: u64,
    pub cores: usize,
    #[serde(serialize_with = "ser_f64")]
    pub cpu: f64,
    pub connections: usize,
    pub total_connections: u64,
    pub active_accounts: usize,
    pub subscriptions: u64,
    pub sent: DataStats,
    pub sent_to_clients: DataStats,
    pub received: DataStats,
    pub received_from_clients: DataStats,
    pub slow_consumers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_consumer_stats: Option<KindCounts>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub stale_connections: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_connection_stats: Option<KindCounts>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub stalled_clients: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteStat>,
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub active_servers: usize,
    #[serde(skip_serializing_if = "is_zero_usize")]
    pub gomaxprocs: usize,
}

/// One route in `STATSZ` (`RouteStat`).
#[derive(Debug, Serialize)]
pub struct RouteStat {
    pub rid: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub sent: DataStats,
    pub received: DataStats,
    pub pending: usize,
}

/// `$SYS.SERVER.<id>.STATSZ` and the answer to `$SYS.REQ.SERVER.PING[.STATSZ]`
/// (`ServerStatsMsg`).
#[derive(Debug, Serialize)]
pub struct ServerStatsMsg {
    pub server: ServerInfo,
    pub statsz: ServerStats,
}

/// `data` of `IDZ` (`ServerID`).
#[derive(Debug, Serialize)]
pub struct ServerId {
    pub name: String,
    pub host: String,
    pub id: String,
}

/// An error in an API answer (`ApiError`).
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub code: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The envelope of every `$SYS.REQ.*` answer (`ServerAPIResponse`).
#[derive(Debug, Serialize)]
pub struct ApiResponse<T: Serialize> {
    pub server: ServerInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// What `$SYS.REQ.USER.INFO` answers (`UserInfo`).
#[derive(Debug, Serialize)]
pub struct UserInfo {
    pub user: String,
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<serde_json::Value>,
    /// Nanoseconds until the credentials expire (JWT users only).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub expires: i64,
}

/// Shared by the events: `kind`/`client_type` of an ordinary client connection.
pub const CLIENT_KIND: &str = "Client";
/// `client_type` of a NATS protocol client (as opposed to MQTT or websocket).
pub const CLIENT_TYPE_NATS: &str = "nats";

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn server() -> ServerInfo {
        ServerInfo {
            name: "n".into(),
            host: "0.0.0.0".into(),
            id: "NID".into(),
            ver: "2.15.1",
            feature_flags: [("js_raft_delete_range", true)].into_iter().collect(),
            seq: 3,
            time: Utc::now(),
            ..Default::default()
        }
    }

    #[test]
    fn server_info_keys_in_reference_order() {
        let v = serde_json::to_value(server()).expect("json");
        assert_eq!(
            keys(&v),
            [
                "name",
                "host",
                "id",
                "ver",
                "feature_flags",
                "jetstream",
                "flags",
                "seq",
                "time"
            ]
        );
    }

    #[test]
    fn disconnect_event_keys() {
        let ev = DisconnectEvent {
            kind: DISCONNECT_EVENT_TYPE,
            id: "x".into(),
            timestamp: Utc::now(),
            server: server(),
            client: ClientInfo {
                start: Some(Utc::now()),
                host: "127.0.0.1".into(),
                id: 7,
                account: "APP".into(),
                user: "app".into(),
                rtt: 368_000,
                stop: Some(Utc::now()),
                name_tag: "APP".into(),
                kind: CLIENT_KIND.into(),
                client_type: CLIENT_TYPE_NATS.into(),
                ..Default::default()
            },
            sent: DataStats::total(1, 3),
            received: DataStats::total(0, 0),
            reason: "Client Closed".into(),
        };
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(
            keys(&v),
            [
                "type",
                "id",
                "timestamp",
                "server",
                "client",
                "sent",
                "received",
                "reason"
            ]
        );
        assert_eq!(
            keys(&v["client"]),
            [
                "start",
                "host",
                "id",
                "acc",
                "user",
                "rtt",
                "stop",
                "name_tag",
                "kind",
                "client_type"
            ]
        );
        assert_eq!(keys(&v["sent"]), ["msgs", "bytes"]);
    }

    #[test]
    fn api_response_omits_empty_parts() {
        let r: ApiResponse<()> = ApiResponse {
            server: server(),
            data: None,
            error: Some(ApiError {
                code: 400,
                description: "bad".into(),
            }),
        };
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(keys(&v), ["server", "error"]);
    }
}
