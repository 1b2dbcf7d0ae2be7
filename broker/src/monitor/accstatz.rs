//! `/accstatz`: per-account connection and traffic counters in the reference's shape
//! (`AccountStatz`); accounts without connections only with `unused=1`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::ser_time;
use super::query::{Query, bad_request};
use super::{Monitor, json_response};
use crate::account::{Account, AccountStats};
use crate::client::ClientShared;
use crate::server::Server;

/// Messages and bytes (`MsgBytes`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MsgBytes {
    pub msgs: u64,
    pub bytes: u64,
}

/// Messages and bytes, split per connection kind where known (`DataStats`): rnats has no
/// gateways or leafnodes, so those are zero where the reference reports them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataStats {
    pub msgs: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateways: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leafs: Option<MsgBytes>,
}

impl DataStats {
    /// Totals only, as connect/disconnect events and `STATSZ` report them.
    pub fn total(msgs: u64, bytes: u64) -> Self {
        DataStats {
            msgs,
            bytes,
            ..Default::default()
        }
    }

    /// Totals with the (zero) per-kind split, as account statistics report them.
    pub fn split(msgs: u64, bytes: u64) -> Self {
        DataStats {
            msgs,
            bytes,
            gateways: Some(MsgBytes::default()),
            routes: Some(MsgBytes::default()),
            leafs: Some(MsgBytes::default()),
        }
    }
}

/// One account (`AccountStat`).
#[derive(Debug, Clone, Serialize)]
pub struct AccountStat {
    pub acc: String,
    pub name: String,
    pub conns: usize,
    pub leafnodes: usize,
    pub total_conns: usize,
    pub num_subscriptions: u64,
    pub sent: DataStats,
    pub received: DataStats,
    pub slow_consumers: u64,
}

/// The `/accstatz` answer.
#[derive(Debug, Serialize)]
pub struct AccountStatz {
    pub server_id: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    pub account_statz: Vec<AccountStat>,
}

/// One account's figures; `conns` is its current client connections.
pub fn stat(account: &Account, conns: usize) -> AccountStat {
    let st = &account.stats;
    let get = AccountStats::get;
    AccountStat {
        acc: account.name.clone(),
        name: account.name.clone(),
        conns,
        leafnodes: 0,
        total_conns: conns,
        num_subscriptions: account.sublist.count() as u64,
        // Sent: what the account's subject space delivered; received: what its clients
        // published (the reference's outMsgs/inMsgs).
        sent: DataStats::split(get(&st.out_msgs), get(&st.out_bytes)),
        received: DataStats::split(get(&st.in_msgs), get(&st.in_bytes)),
        slow_consumers: get(&st.slow_consumers),
    }
}

/// How many of `clients` are in `account`.
fn conns_in(clients: &[Arc<ClientShared>], account: &Account) -> usize {
    clients
        .iter()
        .filter(|c| std::ptr::eq(Arc::as_ptr(&c.account()), account))
        .count()
}

/// Every account with its current connection count.
pub fn with_conns(server: &Server) -> Vec<(Arc<Account>, usize)> {
    let clients = server.clients();
    server
        .accounts()
        .into_iter()
        .map(|a| {
            let n = conns_in(&clients, &a);
            (a, n)
        })
        .collect()
}

/// One account's figures now, as `/accstatz`, the `$SYS` account `STATZ` and the account
/// connection events all report them (the reference's `Account.statz`).
pub fn account_stat(server: &Server, account: &Account) -> AccountStat {
    stat(account, conns_in(&server.clients(), account))
}

/// Builds `/accstatz`: accounts with connections, or all with `unused`.
pub fn accstatz(server: &Server, unused: bool) -> AccountStatz {
    AccountStatz {
        server_id: server.id.clone(),
        now: Utc::now(),
        account_statz: with_conns(server)
            .iter()
            .filter(|(_, n)| unused || *n > 0)
            .map(|(a, n)| stat(a, *n))
            .collect(),
    }
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    m.count("/accstatz");
    let q = Query::parse(uri.query());
    match q.bool("unused") {
        Ok(unused) => json_response(&accstatz(&m.server, unused)),
        Err(e) => bad_request(e.0),
    }
}
