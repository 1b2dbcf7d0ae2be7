//! `/accountz`: the account list and, with `acc=<name>`, one account's details in the
//! reference's shape.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::ser_time;
use super::query::{Query, bad_request};
use super::subsz::StatsJson;
use super::{Monitor, json_response};
use crate::server::Server;

/// One export (`ExtExport`: the JWT export's fields the reference fills from a config).
#[derive(Debug, Serialize)]
pub struct ExtExport {
    pub subject: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approved_accounts: Vec<String>,
}

/// One import (`ExtImport`).
#[derive(Debug, Serialize)]
pub struct ExtImport {
    pub subject: String,
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub local_subject: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub invalid: bool,
    pub share: bool,
    pub tracking: bool,
}

/// One account's details (`AccountInfo`), fields rnats has.
#[derive(Debug, Serialize)]
pub struct AccountInfo {
    pub account_name: String,
    #[serde(serialize_with = "ser_time")]
    pub update_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_system: bool,
    pub expired: bool,
    pub complete: bool,
    pub jetstream_enabled: bool,
    pub leafnode_connections: usize,
    pub client_connections: usize,
    pub subscriptions: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<ExtExport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<ExtImport>,
    pub name_tag: String,
    pub sublist_stats: StatsJson,
}

/// The configured exports and imports of `name`, as the reference lists them.
fn exports_imports(server: &Server, name: &str) -> (Vec<ExtExport>, Vec<ExtImport>) {
    let opts = server.options();
    let Some(cfg) = opts.accounts.iter().find(|a| a.name == name) else {
        return (Vec::new(), Vec::new());
    };
    let exports = cfg
        .exports
        .iter()
        .map(|e| ExtExport {
            subject: e.subject.clone(),
            kind: if e.service.is_some() {
                "service"
            } else {
                "stream"
            },
            response_type: e.service.map(|rt| rt.as_str()),
            approved_accounts: e.accounts.clone(),
        })
        .collect();
    let imports = cfg
        .imports
        .iter()
        .map(|i| {
            let (to, local) = if i.service {
                let local = i.local_subject().to_string();
                (Some(local.clone()), local)
            } else {
                // The reference shows `to` for services only; a stream import's mapping
                // is in local_subject.
                (None, i.stream_destination())
            };
            ExtImport {
                subject: i.subject.clone(),
                account: i.account.clone(),
                to,
                local_subject: local,
                kind: if i.service { "service" } else { "stream" },
                invalid: false,
                share: i.share,
                tracking: false,
            }
        })
        .collect();
    (exports, imports)
}

/// The `/accountz` answer.
#[derive(Debug, Serialize)]
pub struct Accountz {
    pub server_id: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_detail: Option<AccountInfo>,
}

/// Builds `/accountz`; an error is the reference's 400 text.
pub fn accountz(server: &Server, acc: &str) -> Result<Accountz, String> {
    let mut out = Accountz {
        server_id: server.id.clone(),
        now: Utc::now(),
        system_account: server
            .system()
            .map(|sys| sys.account().name.clone())
            .unwrap_or_default(),
        accounts: None,
        account_detail: None,
    };
    if acc.is_empty() {
        out.accounts = Some(server.accounts().iter().map(|a| a.name.clone()).collect());
        return Ok(out);
    }
    let Some(account) = server.lookup_account(acc) else {
        return Err(format!("Account {acc} does not exist"));
    };
    let stats = account.sublist.stats();
    let (exports, imports) = exports_imports(server, &account.name);
    let clients = server
        .clients()
        .iter()
        .filter(|c| Arc::ptr_eq(&c.account(), &account))
        .count();
    out.account_detail = Some(AccountInfo {
        account_name: account.name.clone(),
        update_time: server.start,
        is_system: out.system_account == account.name,
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: clients,
        subscriptions: stats.num_subscriptions,
        exports,
        imports,
        name_tag: account.name.clone(),
        sublist_stats: StatsJson::from(&stats),
    });
    Ok(out)
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    m.count("/accountz");
    let q = Query::parse(uri.query());
    match accountz(&m.server, q.get("acc")) {
        Ok(a) => json_response(&a),
        Err(e) => bad_request(e),
    }
}
