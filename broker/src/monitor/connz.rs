//! `/connz`: open and recently closed client connections, with nats-server's options
//! (`sort`, `offset`, `limit`, `subs`, `state`, `cid`, `auth`, `user`, `acc`,
//! `mqtt_client`), ordering and errors.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::client_view::{ClientView, nanos};
use super::closed::ClosedClient;
use super::gofmt::{self, ser_opt_time, ser_time};
use super::query::{BadRequest, ConnState, Query, bad_request};
use super::subsz::{SubDetail, page};
use super::{Monitor, json_response};
use crate::account::GLOBAL_ACCOUNT;
use crate::client::ClientShared;
use crate::server::Server;
use crate::tls::PeerCertInfo;

/// nats-server's `DefaultConnListSize`.
pub const DEFAULT_CONN_LIST_SIZE: i64 = 1024;

/// One connection (`ConnInfo`), fields in the reference's order.
#[derive(Debug, Clone, Serialize)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub conn_type: &'static str,
    pub ip: String,
    pub port: u16,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub last_activity: DateTime<Utc>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub stop: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: usize,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub stalls: u64,
    pub subscriptions: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_cipher_suite: String,
    /// Only with `auth=1`, as in the reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_peer_certs: Vec<PeerCertInfo>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_first: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authorized_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list_detail: Vec<SubDetail>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The RTT in nanoseconds, for sorting.
    #[serde(skip)]
    pub rtt_nanos: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The `/connz` answer.
#[derive(Debug, Serialize)]
pub struct Connz {
    pub server_id: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    pub num_connections: usize,
    pub total: usize,
    pub offset: i64,
    pub limit: i64,
    /// `null` only when `acc` names an unknown account, as in the reference.
    pub connections: Option<Vec<ConnInfo>>,
}

/// `/connz` options (`ConnzOptions`).
#[derive(Debug, Default, Clone)]
pub struct ConnzOptions {
    pub sort: String,
    pub auth: bool,
    pub subscriptions: bool,
    pub subscriptions_detail: bool,
    pub offset: i64,
    pub limit: i64,
    pub cid: u64,
    pub state: Option<ConnState>,
    pub user: String,
    pub account: String,
    pub mqtt_client: String,
}

/// Sort keys (`SortOpt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Cid,
    Subs,
    Pending,
    OutMsgs,
    InMsgs,
    OutBytes,
    InBytes,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
    Rtt,
}

fn sort_opt(s: &str) -> Option<SortBy> {
    Some(match s {
        "" | "cid" | "start" => SortBy::Cid,
        "subs" => SortBy::Subs,
        "pending" => SortBy::Pending,
        "msgs_to" => SortBy::OutMsgs,
        "msgs_from" => SortBy::InMsgs,
        "bytes_to" => SortBy::OutBytes,
        "bytes_from" => SortBy::InBytes,
        "last" => SortBy::Last,
        "idle" => SortBy::Idle,
        "uptime" => SortBy::Uptime,
        "stop" => SortBy::Stop,
        "reason" => SortBy::Reason,
        "rtt" => SortBy::Rtt,
        _ => return None,
    })
}

/// The RTT as the reference reports it: truncated to microseconds between 1µs and 1ms.
fn report_rtt(rtt: Duration) -> Duration {
    if rtt > Duration::from_micros(1) && rtt < Duration::from_millis(1) {
        Duration::from_micros(rtt.as_micros() as u64)
    } else {
        rtt
    }
}

/// A connection's figures at `now` (`ConnInfo.fill`), without subscriptions and auth.
pub fn fill(c: &ClientShared, now: DateTime<Utc>) -> ConnInfo {
    let v = ClientView::of(c);
    let meta = v.meta;
    let tls = c.transport().tls.as_ref();
    let last = c.activity.last().unwrap_or(v.start);
    let rtt = report_rtt(v.rtt);
    ConnInfo {
        cid: v.cid,
        kind: "Client",
        conn_type: "nats",
        ip: v.ip,
        port: v.port,
        start: v.start,
        last_activity: last,
        stop: None,
        reason: String::new(),
        rtt: gofmt::duration(rtt),
        uptime: gofmt::uptime(now - v.start),
        idle: gofmt::uptime(now - last),
        pending_bytes: c.outbound.pending(),
        in_msgs: v.in_msgs,
        out_msgs: v.out_msgs,
        in_bytes: v.in_bytes,
        out_bytes: v.out_bytes,
        stalls: 0,
        subscriptions: c.num_subs(),
        name: meta.name,
        lang: meta.lang,
        version: meta.version,
        tls_version: tls.map(|t| t.version.clone()).unwrap_or_default(),
        tls_cipher_suite: tls.map(|t| t.cipher.clone()).unwrap_or_default(),
        tls_peer_certs: tls.map(|t| t.peer_cert_infos()).unwrap_or_default(),
        tls_first: tls.is_some_and(|t| t.first),
        authorized_user: String::new(),
        account: String::new(),
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
        jwt: String::new(),
        issuer_key: String::new(),
        name_tag: String::new(),
        tags: Vec::new(),
        rtt_nanos: nanos(rtt),
    }
}

/// Whether an account of that name exists.
fn account_exists(server: &Server, name: &str) -> bool {
    server.lookup_account(name).is_some()
}

/// Builds `/connz`; an error is the reference's 400 text.
pub fn connz(server: &Server, opts: &ConnzOptions) -> Result<Connz, String> {
    let sort =
        sort_opt(&opts.sort).ok_or_else(|| format!("invalid sorting option: {}", opts.sort))?;
    let state = opts.state.unwrap_or(ConnState::Open);
    let offset = opts.offset.max(0);
    let mut limit = if opts.limit <= 0 {
        DEFAULT_CONN_LIST_SIZE
    } else {
        opts.limit
    };
    if sort == SortBy::Stop && state != ConnState::Closed {
        return Err("sort by stop only valid on closed connections".into());
    }
    if sort == SortBy::Reason && state != ConnState::Closed {
        return Err("sort by reason only valid on closed connections".into());
    }
    if opts.cid > 0 {
        limit = 1;
    }
    let now = Utc::now();
    let mut out = Connz {
        server_id: String::new(),
        now,
        num_connections: 0,
        total: 0,
        offset,
        limit,
        connections: None,
    };
    let acc = opts.account.as_str();
    if !acc.is_empty() && !account_exists(server, acc) {
        return Ok(out);
    }
    out.server_id = server.id.clone();

    let mut open: Vec<Arc<ClientShared>> = server.clients();
    if !acc.is_empty() {
        open.retain(|c| c.account().name == acc);
    }
    open.sort_by_key(|c| c.cid);
    let mut closed: Vec<Arc<ClosedClient>> = match state {
        ConnState::Open => Vec::new(),
        ConnState::Closed | ConnState::All => server.closed.snapshot(),
    };
    out.total = match state {
        ConnState::Open => open.len(),
        ConnState::Closed => closed.len(),
        ConnState::All => open.len() + closed.len(),
    };
    if !acc.is_empty() && !closed.is_empty() {
        let before = closed.len();
        closed.retain(|cc| cc.account == acc);
        out.total -= before - closed.len();
    }
    let want_open = matches!(state, ConnState::Open | ConnState::All);
    if opts.cid > 0 {
        open = if want_open {
            open.into_iter().filter(|c| c.cid == opts.cid).collect()
        } else {
            Vec::new()
        };
        if open.is_empty() {
            closed.retain(|cc| cc.info.cid == opts.cid);
            closed.truncate(1);
        } else {
            closed.clear();
        }
    } else if want_open {
        open.retain(|c| {
            (opts.user.is_empty() || c.meta.read().user == opts.user) && opts.mqtt_client.is_empty()
        });
    } else {
        open.clear();
    }
    if open.is_empty() && closed.is_empty() {
        out.connections = Some(Vec::new());
        return Ok(out);
    }

    let mut conns = Vec::with_capacity(open.len() + closed.len());
    for c in &open {
        let mut ci = fill(c, now);
        let subs = || {
            let mut v: Vec<SubDetail> =
                c.subscriptions().iter().map(|s| SubDetail::of(s)).collect();
            v.sort_by(|a, b| (&a.subject, &a.sid).cmp(&(&b.subject, &b.sid)));
            v
        };
        if ci.subscriptions > 0 {
            if opts.subscriptions_detail {
                ci.subscriptions_list_detail = subs();
            } else if opts.subscriptions {
                ci.subscriptions_list = subs().into_iter().map(|s| s.subject).collect();
            }
        }
        if !opts.auth {
            ci.tls_peer_certs.clear();
        }
        if opts.auth {
            let account = c.account().name.clone();
            let meta = c.meta.read();
            ci.authorized_user = meta.user.clone();
            if account != GLOBAL_ACCOUNT {
                ci.account = account.clone();
            }
            ci.name_tag = if meta.name_tag.is_empty() {
                account
            } else {
                meta.name_tag.clone()
            };
            ci.jwt = meta.jwt.clone();
            ci.issuer_key = meta.issuer_key.clone();
            ci.tags = meta.tags.clone();
        }
        conns.push(ci);
    }
    for cc in &closed {
        if (!acc.is_empty() && cc.account != acc)
            || (!opts.user.is_empty() && cc.user != opts.user)
            || !opts.mqtt_client.is_empty()
        {
            continue;
        }
        let mut ci = cc.info.clone();
        if !opts.auth {
            ci.tls_peer_certs.clear();
        }
        if !cc.subs.is_empty() {
            if opts.subscriptions_detail {
                ci.subscriptions_list_detail = cc.subs.clone();
            } else if opts.subscriptions {
                ci.subscriptions_list = cc.subs.iter().map(|s| s.subject.clone()).collect();
            }
        }
        if opts.auth {
            ci.authorized_user = cc.user.clone();
            if !cc.account.is_empty() && cc.account != GLOBAL_ACCOUNT {
                ci.account = cc.account.clone();
                ci.name_tag = cc.account.clone();
            }
        }
        conns.push(ci);
    }

    sort_conns(&mut conns, sort, now);
    let (lo, hi) = page(offset, limit, conns.len());
    let page: Vec<ConnInfo> = conns.drain(lo..hi).collect();
    out.num_connections = page.len();
    out.connections = Some(page);
    Ok(out)
}

/// A comparison of two connections.
type Cmp<'a> = dyn Fn(&ConnInfo, &ConnInfo) -> Ordering + 'a;

/// Orders as the reference: ascending by cid (`cid`, `start`), uptime and reason,
/// descending by everything else. Ties keep cid order.
fn sort_conns(conns: &mut [ConnInfo], sort: SortBy, now: DateTime<Utc>) {
    conns.sort_by_key(|c| c.cid);
    let uptime = move |c: &ConnInfo| c.stop.unwrap_or(now) - c.start;
    let desc = |f: fn(&ConnInfo) -> u64| move |a: &ConnInfo, b: &ConnInfo| f(b).cmp(&f(a));
    let cmp: Box<Cmp<'_>> = match sort {
        SortBy::Cid => return,
        SortBy::Subs => Box::new(desc(|c| c.subscriptions as u64)),
        SortBy::Pending => Box::new(desc(|c| c.pending_bytes as u64)),
        SortBy::OutMsgs => Box::new(desc(|c| c.out_msgs)),
        SortBy::InMsgs => Box::new(desc(|c| c.in_msgs)),
        SortBy::OutBytes => Box::new(desc(|c| c.out_bytes)),
        SortBy::InBytes => Box::new(desc(|c| c.in_bytes)),
        SortBy::Rtt => Box::new(desc(|c| c.rtt_nanos)),
        SortBy::Last => Box::new(|a, b| b.last_activity.cmp(&a.last_activity)),
        SortBy::Idle => Box::new(|a, b| a.last_activity.cmp(&b.last_activity)),
        SortBy::Uptime => Box::new(move |a, b| uptime(a).cmp(&uptime(b))),
        SortBy::Stop => Box::new(|a, b| b.stop.cmp(&a.stop)),
        SortBy::Reason => Box::new(|a, b| a.reason.cmp(&b.reason)),
    };
    conns.sort_by(|a, b| cmp(a, b));
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    let q = Query::parse(uri.query());
    let parsed = (|| {
        let auth = q.bool("auth")?;
        let (subscriptions, subscriptions_detail) = q.subs()?;
        Ok::<_, BadRequest>(ConnzOptions {
            sort: q.get("sort").to_string(),
            auth,
            subscriptions,
            subscriptions_detail,
            offset: q.int("offset")?,
            limit: q.int("limit")?,
            cid: q.uint64("cid")?,
            state: Some(q.state()?),
            user: q.get("user").to_string(),
            account: q.get("acc").to_string(),
            mqtt_client: q.get("mqtt_client").to_string(),
        })
    })();
    let opts = match parsed {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    m.count("/connz");
    match connz(&m.server, &opts) {
        Ok(c) => json_response(&c),
        Err(e) => bad_request(e),
    }
}
