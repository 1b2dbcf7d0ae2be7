//! Answers to `$SYS.REQ.*` requests: the request options (the reference's JSON, with its
//! server filter), the data (built by the `monitor` module, so HTTP and `$SYS` report the same
//! figures) and the `{"server":…,"data":…,"error":…}` envelope.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::{AccountStat, AccountStatz, ApiError, ServerId, UserInfo};
use super::subjects::{AccountEndpoint, Endpoint};
use crate::client::ClientShared;
use crate::monitor::{accountz, accstatz, connz, healthz, query::ConnState, routez, subsz, varz};
use crate::permissions::{Permissions, SubjectPermission};
use crate::server::Server;

/// What a request produced: data for the envelope, an error, or nothing to send (the request
/// was filtered out, or has nothing to report here).
#[derive(Debug)]
pub enum Answer {
    Data(Value),
    /// Done, nothing to report: the envelope without `data`.
    Empty,
    /// The request's JSON did not parse: `400`, no `data`.
    BadRequest(String),
    /// Building the data failed: `500`, with `"data": null` as the reference sends it.
    Failed(String),
    /// An action failed (`KICK`, `LDM`, `RELOAD`): `500`, no `data`.
    Error(String),
    /// Not for this server, or nothing to report: no answer at all.
    Skip,
}

impl Answer {
    /// `(data, error)` of the envelope.
    pub fn into_parts(self) -> Option<(Option<Value>, Option<ApiError>)> {
        match self {
            Answer::Data(v) => Some((Some(v), None)),
            Answer::Empty => Some((None, None)),
            Answer::BadRequest(description) => Some((
                None,
                Some(ApiError {
                    code: 400,
                    description,
                }),
            )),
            Answer::Failed(description) => Some((
                Some(Value::Null),
                Some(ApiError {
                    code: 500,
                    description,
                }),
            )),
            Answer::Error(description) => Some((
                None,
                Some(ApiError {
                    code: 500,
                    description,
                }),
            )),
            Answer::Skip => None,
        }
    }
}

/// The server filter every request may carry (`EventFilterOptions`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    #[serde(rename = "server_name")]
    pub name: String,
    pub cluster: String,
    pub host: String,
    pub exact_match: bool,
    pub tags: Vec<String>,
    pub domain: String,
}

impl EventFilter {
    /// True when the request is not meant for this server (`filterRequest`).
    pub fn excludes(&self, server: &Server) -> bool {
        let host = server.options().host.clone();
        let cluster = cluster_name(server);
        let cluster = cluster.as_str();
        if self.exact_match {
            if (!self.name.is_empty() && self.name != server.name)
                || (!self.host.is_empty() && self.host != host)
                || (!self.cluster.is_empty() && self.cluster != cluster)
            {
                return true;
            }
        } else if (!self.name.is_empty() && !server.name.contains(&self.name))
            || (!self.host.is_empty() && !host.contains(&self.host))
            || (!self.cluster.is_empty() && !cluster.contains(&self.cluster))
        {
            return true;
        }
        // Every tag asked for must be the server's (`TagList.Contains`); rnats has no
        // JetStream domain, so any asked for excludes it.
        let tags = &server.options().tags;
        self.tags.iter().any(|t| !tags.contains(&t.to_lowercase())) || !self.domain.is_empty()
    }
}

/// The cluster name events and filters use (empty without clustering).
pub fn cluster_name(server: &Server) -> String {
    if server.routes.enabled() {
        server.routes.cluster_name()
    } else {
        String::new()
    }
}

/// Go's `encoding/json` message for the common failures, serde's otherwise.
fn json_error(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "unexpected end of JSON input".to_string()
    } else {
        e.to_string()
    }
}

/// Parses the request body as `T` plus the filter: `Err` is the answer to send instead.
/// An empty body means the defaults and no filter.
fn options<T: for<'de> Deserialize<'de> + Default>(
    server: &Server,
    body: &[u8],
) -> Result<T, Answer> {
    if body.is_empty() {
        return Ok(T::default());
    }
    let opts: T = serde_json::from_slice(body).map_err(|e| Answer::BadRequest(json_error(&e)))?;
    let filter: EventFilter =
        serde_json::from_slice(body).map_err(|e| Answer::BadRequest(json_error(&e)))?;
    if filter.excludes(server) {
        return Err(Answer::Skip);
    }
    Ok(opts)
}

/// Serializes monitoring data, or reports why it failed.
fn data<T: serde::Serialize>(r: Result<T, String>) -> Answer {
    match r.and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())) {
        Ok(v) => Answer::Data(v),
        Err(e) => Answer::Failed(e),
    }
}

/// `ConnzOptions` as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConnzJson {
    sort: String,
    auth: bool,
    subscriptions: bool,
    subscriptions_detail: bool,
    offset: i64,
    limit: i64,
    cid: u64,
    mqtt_client: String,
    /// `ConnState`: 0 open, 1 closed, 2 any.
    state: i64,
    user: String,
    acc: String,
}

impl ConnzJson {
    fn into_options(self) -> connz::ConnzOptions {
        connz::ConnzOptions {
            sort: self.sort,
            auth: self.auth,
            subscriptions: self.subscriptions,
            subscriptions_detail: self.subscriptions_detail,
            offset: self.offset,
            limit: self.limit,
            cid: self.cid,
            state: Some(match self.state {
                1 => ConnState::Closed,
                2 => ConnState::All,
                _ => ConnState::Open,
            }),
            user: self.user,
            account: self.acc,
            mqtt_client: self.mqtt_client,
        }
    }
}

/// `SubszOptions` as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubszJson {
    offset: i64,
    limit: i64,
    subscriptions: bool,
    account: String,
    test: String,
}

impl SubszJson {
    fn into_options(self) -> subsz::SubszOptions {
        subsz::SubszOptions {
            subscriptions: self.subscriptions,
            offset: self.offset,
            limit: self.limit,
            account: self.account,
            test: self.test,
        }
    }
}

/// `HealthzOptions` as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HealthzJson {
    account: String,
    stream: String,
    consumer: String,
    details: bool,
}

/// `AccountzOptions` as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountzJson {
    account: String,
}

/// `AccountStatzOptions` as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountStatzJson {
    accounts: Vec<String>,
    include_unused: bool,
}

/// `KickClientReq` / `LDMClientReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClientReq {
    pub cid: u64,
}

/// Options that carry nothing but the filter.
#[derive(Debug, Default, Deserialize)]
struct NoOptions {}

/// Answers a server endpoint (`$SYS.REQ.SERVER.PING.<ep>` / `.<id>.<ep>`). `Statsz` and
/// `Idz` are answered by the caller (they are not wrapped in the envelope's `data`).
pub fn server_endpoint(server: &Server, e: Endpoint, body: &[u8]) -> Answer {
    let now = Utc::now();
    match e {
        Endpoint::Varz => match options::<NoOptions>(server, body) {
            Ok(_) => data(Ok(varz::varz(server, BTreeMap::new()))),
            Err(a) => a,
        },
        Endpoint::Connz => match options::<ConnzJson>(server, body) {
            Ok(o) => data(connz::connz(server, &o.into_options())),
            Err(a) => a,
        },
        Endpoint::Subsz => match options::<SubszJson>(server, body) {
            Ok(o) => data(subsz::subsz(server, &o.into_options())),
            Err(a) => a,
        },
        Endpoint::Healthz => match options::<HealthzJson>(server, body) {
            Ok(o) => {
                let opts = healthz::HealthzOptions {
                    account: o.account,
                    stream: o.stream,
                    consumer: o.consumer,
                    details: o.details,
                };
                let (code, health) = healthz::healthz(server, &opts);
                match serde_json::to_value(&health) {
                    Ok(mut v) => {
                        if let Some(m) = v.as_object_mut() {
                            // The reference's `HealthStatus` keeps `status_code` in `$SYS`.
                            let mut out = serde_json::Map::new();
                            if let Some(s) = m.remove("status") {
                                out.insert("status".into(), s);
                            }
                            out.insert("status_code".into(), json!(code.as_u16()));
                            out.append(m);
                            v = Value::Object(out);
                        }
                        Answer::Data(v)
                    }
                    Err(e) => Answer::Failed(e.to_string()),
                }
            }
            Err(a) => a,
        },
        Endpoint::Routez => match options::<NoOptions>(server, body) {
            Ok(_) => data(Ok(routez::routez(server))),
            Err(a) => a,
        },
        Endpoint::Accountz => match options::<AccountzJson>(server, body) {
            Ok(o) => data(accountz::accountz(server, &o.account)),
            Err(a) => a,
        },
        Endpoint::Gatewayz => match options::<NoOptions>(server, body) {
            Ok(_) => Answer::Data(json!({
                "server_id": server.id,
                "now": crate::monitor::gofmt::rfc3339_nano(now),
                "outbound_gateways": {},
                "inbound_gateways": {},
            })),
            Err(a) => a,
        },
        Endpoint::Leafz => match options::<NoOptions>(server, body) {
            Ok(_) => Answer::Data(json!({
                "server_id": server.id,
                "now": crate::monitor::gofmt::rfc3339_nano(now),
                "leafnodes": 0,
                "leafs": [],
            })),
            Err(a) => a,
        },
        Endpoint::Jsz => match options::<NoOptions>(server, body) {
            Ok(_) => Answer::Data(jsz_disabled(server)),
            Err(a) => a,
        },
        Endpoint::Profilez => match options::<NoOptions>(server, body) {
            // rnats has no Go profiles to offer; the reference's answer without a name.
            Ok(_) => Answer::Data(json!({"profile": null, "error": "Profile name not specified"})),
            Err(a) => a,
        },
        // Go runtime and internal queue figures do not exist in rnats: empty objects.
        Endpoint::Expvarz | Endpoint::Ipqueuesz | Endpoint::Raftz => {
            match options::<NoOptions>(server, body) {
                Ok(_) => Answer::Data(json!({})),
                Err(a) => a,
            }
        }
        Endpoint::Statsz | Endpoint::Idz => Answer::Skip,
    }
}

/// `/jsz` of a server without JetStream, as the reference answers it.
fn jsz_disabled(server: &Server) -> Value {
    json!({
        "memory": 0, "storage": 0, "reserved_memory": 0, "reserved_storage": 0,
        "accounts": 0, "ha_assets": 0,
        "api": {"level": 0, "total": 0, "errors": 0},
        "server_id": server.id,
        "now": crate::monitor::gofmt::rfc3339_nano(Utc::now()),
        "disabled": true,
        "config": {"max_memory": 0, "max_storage": 0},
        "streams": 0, "consumers": 0, "messages": 0, "bytes": 0, "total": 0,
    })
}

/// `IDZ`: name, host and id, without the envelope.
pub fn idz(server: &Server) -> ServerId {
    ServerId {
        name: server.name.clone(),
        host: server.options().host.clone(),
        id: server.id.clone(),
    }
}

/// The account token of `$SYS.REQ.ACCOUNT.<acc>.<ep>` / `$SYS.REQ.USER.<acc>.INFO`.
pub fn account_token(subject: &[u8]) -> Result<String, String> {
    let s = String::from_utf8_lossy(subject);
    let toks: Vec<&str> = s.split('.').collect();
    if toks.len() != 5 {
        return Err(format!("subject {s:?} is malformed"));
    }
    Ok(toks[3].to_string())
}

/// Answers `$SYS.REQ.ACCOUNT.<acc>.<ep>`.
pub fn account_endpoint(
    server: &Server,
    e: AccountEndpoint,
    subject: &[u8],
    body: &[u8],
) -> Answer {
    let acc = match account_token(subject) {
        Ok(a) => a,
        Err(e) => return Answer::Failed(e),
    };
    match e {
        AccountEndpoint::Subsz => match options::<SubszJson>(server, body) {
            Ok(o) => {
                let mut o = o.into_options();
                o.subscriptions = true;
                o.account = acc;
                data(subsz::subsz(server, &o))
            }
            Err(a) => a,
        },
        AccountEndpoint::Connz => match options::<ConnzJson>(server, body) {
            Ok(o) => {
                let mut o = o.into_options();
                o.account = acc;
                data(connz::connz(server, &o))
            }
            Err(a) => a,
        },
        AccountEndpoint::Leafz => match options::<NoOptions>(server, body) {
            Ok(_) => Answer::Data(json!({
                "server_id": server.id,
                "now": crate::monitor::gofmt::rfc3339_nano(Utc::now()),
                "leafnodes": 0,
                "leafs": [],
            })),
            Err(a) => a,
        },
        AccountEndpoint::Jsz => match options::<NoOptions>(server, body) {
            Ok(_) => Answer::Data(jsz_disabled(server)),
            Err(a) => a,
        },
        AccountEndpoint::Info => match options::<NoOptions>(server, body) {
            Ok(_) => data(accountz::accountz(server, &acc).map(|a| a.account_detail)),
            Err(a) => a,
        },
        AccountEndpoint::Statz => {
            if acc == "PING" {
                return Answer::Skip;
            }
            match options::<AccountStatzJson>(server, body) {
                Ok(o) => account_statz(server, &[acc], o.include_unused),
                Err(a) => a,
            }
        }
        // Not in the envelope: the system task answers it (`conns_request`).
        AccountEndpoint::Conns => Answer::Skip,
    }
}

/// `$SYS.REQ.ACCOUNT.PING.STATZ` and the account `STATZ`: accounts with connections (or all
/// asked for, with `include_unused`).
pub fn account_ping_statz(server: &Server, body: &[u8]) -> Answer {
    match options::<AccountStatzJson>(server, body) {
        Ok(o) => account_statz(server, &o.accounts, o.include_unused),
        Err(a) => a,
    }
}

fn account_statz(server: &Server, names: &[String], include_unused: bool) -> Answer {
    let stats: Vec<AccountStat> = accstatz::with_conns(server)
        .iter()
        .filter(|(acc, n)| {
            (names.is_empty() || names.iter().any(|name| *name == acc.name))
                && (*n > 0 || include_unused)
        })
        .map(|(acc, n)| accstatz::stat(acc, *n))
        .collect();
    if stats.is_empty() && !include_unused {
        return Answer::Skip;
    }
    data(Ok(AccountStatz {
        server_id: server.id.clone(),
        now: Utc::now(),
        accounts: stats,
    }))
}

/// `$SYS.REQ.USER.INFO`: who the requesting connection is.
pub fn user_info(from: Option<&Arc<ClientShared>>) -> Answer {
    // Over a route there is no requesting connection: only its own server answers.
    let Some(c) = from else {
        return Answer::Skip;
    };
    let account = c.account().name.clone();
    data(Ok(UserInfo {
        user: c.meta.read().user.clone(),
        account_name: account.clone(),
        account,
        permissions: c.permissions().map(|p| permissions_json(&p)),
        expires: 0,
    }))
}

/// Permissions as the reference shows them (`publicPermissions`).
fn permissions_json(p: &Permissions) -> Value {
    fn side(sp: &SubjectPermission) -> Value {
        let list = |l: &Option<Vec<crate::permissions::Entry>>| {
            l.as_ref().map(|v| {
                v.iter()
                    .map(|e| {
                        let mut s = String::from_utf8_lossy(&e.subject).into_owned();
                        if let Some(q) = &e.queue {
                            s.push(' ');
                            s.push_str(&String::from_utf8_lossy(q));
                        }
                        Value::String(s)
                    })
                    .collect::<Vec<_>>()
            })
        };
        let mut m = serde_json::Map::new();
        if let Some(a) = list(&sp.allow) {
            m.insert("allow".into(), Value::Array(a));
        }
        if let Some(d) = list(&sp.deny) {
            m.insert("deny".into(), Value::Array(d));
        }
        Value::Object(m)
    }
    let mut m = serde_json::Map::new();
    if let Some(p) = &p.publish {
        m.insert("publish".into(), side(p));
    }
    if let Some(s) = &p.subscribe {
        m.insert("subscribe".into(), side(s));
    }
    Value::Object(m)
}

/// The `cid` of a `KICK` or `LDM` request, if it is for this server. A body that does not
/// parse is logged and gets no answer, as in the reference.
pub fn client_request(server: &Server, body: &[u8]) -> Option<u64> {
    let req: ClientReq = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("Error unmarshalling kick client request: {e}");
            return None;
        }
    };
    match options::<NoOptions>(server, body) {
        Ok(_) => Some(req.cid),
        Err(_) => None,
    }
}

/// Whether a request without options of its own (`RELOAD`) is for this server; `Err` is the
/// answer to send instead.
pub fn for_this_server(server: &Server, body: &[u8]) -> Result<(), Answer> {
    options::<NoOptions>(server, body).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_token_of_request_subjects() {
        assert_eq!(
            account_token(b"$SYS.REQ.ACCOUNT.APP.CONNZ").as_deref(),
            Ok("APP")
        );
        assert_eq!(
            account_token(b"$SYS.REQ.USER.SYS.INFO").as_deref(),
            Ok("SYS")
        );
        assert!(account_token(b"$SYS.REQ.ACCOUNT.CONNZ").is_err());
    }

    #[test]
    fn connz_json_takes_the_reference_fields() {
        let j = br#"{"sort":"","auth":true,"subscriptions":true,"subscriptions_detail":false,"offset":0,"limit":1024,"cid":0,"mqtt_client":"","state":0,"user":"","acc":"","filter_subject":"","exact_match":true}"#;
        let o: ConnzJson = serde_json::from_slice(j).expect("parse");
        let o = o.into_options();
        assert!(o.auth && o.subscriptions && !o.subscriptions_detail);
        assert_eq!(o.limit, 1024);
        assert_eq!(o.state, Some(ConnState::Open));
        let f: EventFilter = serde_json::from_slice(j).expect("filter");
        assert!(f.exact_match && f.name.is_empty());
    }

    #[test]
    fn truncated_json_is_the_go_error() {
        let e = serde_json::from_slice::<ConnzJson>(b"{\"bad\":").expect_err("must fail");
        assert_eq!(json_error(&e), "unexpected end of JSON input");
    }
}
