//! `/subsz` (and `/subscriptionsz`): sublist statistics over all accounts and, with
//! `subs=1`, the subscriptions themselves, filtered by `acc` and `test`.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::{ser_f64, ser_time};
use super::query::{BadRequest, Query, bad_request};
use super::{Monitor, json_response};
use crate::server::Server;
use crate::subject::{is_valid_literal_subject, subject_matches};
use crate::sublist::SublistStats;
use crate::subscription::Subscription;

/// nats-server's `DefaultSubListSize`.
pub const DEFAULT_SUB_LIST_SIZE: i64 = 1024;

/// One subscription (`SubDetail`).
#[derive(Debug, Clone, Serialize)]
pub struct SubDetail {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_tag: String,
    pub subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    pub queue: String,
    pub sid: String,
    pub msgs: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub cid: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl SubDetail {
    /// As listed under a connection (`newClientSubDetail`): no account.
    pub fn of(sub: &Subscription) -> Self {
        SubDetail {
            account: String::new(),
            account_tag: String::new(),
            subject: String::from_utf8_lossy(&sub.subject).into_owned(),
            queue: sub
                .queue
                .as_ref()
                .map(|q| String::from_utf8_lossy(q).into_owned())
                .unwrap_or_default(),
            sid: String::from_utf8_lossy(&sub.sid).into_owned(),
            msgs: sub.delivered(),
            max: sub.max(),
            cid: sub.client().map_or(0, |c| c.cid),
        }
    }

    /// As `/subsz` and closed connections list it (`newSubDetail`): with the account and
    /// its name tag (the name, until accounts have tags).
    pub fn with_account(sub: &Subscription, account: &str) -> Self {
        SubDetail {
            account: account.to_string(),
            account_tag: account.to_string(),
            ..Self::of(sub)
        }
    }
}

/// Sublist statistics with Go's number formatting (`SublistStats`).
#[derive(Debug, Clone, Serialize)]
pub struct StatsJson {
    pub num_subscriptions: u64,
    pub num_cache: u64,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    #[serde(serialize_with = "ser_f64")]
    pub cache_hit_rate: f64,
    pub max_fanout: u64,
    #[serde(serialize_with = "ser_f64")]
    pub avg_fanout: f64,
}

impl From<&SublistStats> for StatsJson {
    fn from(s: &SublistStats) -> Self {
        StatsJson {
            num_subscriptions: s.num_subscriptions,
            num_cache: s.num_cache,
            num_inserts: s.num_inserts,
            num_removes: s.num_removes,
            num_matches: s.num_matches,
            cache_hit_rate: s.cache_hit_rate,
            max_fanout: s.max_fanout,
            avg_fanout: s.avg_fanout,
        }
    }
}

/// The `/subsz` answer.
#[derive(Debug, Serialize)]
pub struct Subsz {
    pub server_id: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    #[serde(flatten)]
    pub stats: StatsJson,
    pub total: usize,
    pub offset: i64,
    pub limit: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<SubDetail>,
}

/// `/subsz` options.
#[derive(Debug, Default)]
pub struct SubszOptions {
    pub subscriptions: bool,
    pub offset: i64,
    pub limit: i64,
    pub account: String,
    pub test: String,
}

/// Builds `/subsz`; an error is the reference's 400 text.
pub fn subsz(server: &Server, opts: &SubszOptions) -> Result<Subsz, String> {
    let offset = opts.offset.max(0);
    let limit = if opts.limit <= 0 {
        DEFAULT_SUB_LIST_SIZE
    } else {
        opts.limit
    };
    let test = (!opts.test.is_empty()).then_some(opts.test.as_str());
    if let Some(t) = test
        && !is_valid_literal_subject(t.as_bytes())
    {
        return Err(format!(
            "invalid test subject, must be valid publish subject: {t}"
        ));
    }
    let mut stats = SublistStats::default();
    let mut details = Vec::new();
    for account in server.accounts() {
        if !opts.account.is_empty() && account.name != opts.account {
            continue;
        }
        stats.add(&account.sublist.stats());
        if opts.subscriptions {
            for (subject, _, sub) in account.sublist.collect_all() {
                if test.is_some_and(|t| !subject_matches(&subject, t.as_bytes())) {
                    continue;
                }
                details.push(SubDetail::with_account(&sub, &account.name));
            }
        }
    }
    details.sort_by(|a, b| (a.cid, &a.sid).cmp(&(b.cid, &b.sid)));
    let total = details.len();
    let (lo, hi) = page(offset, limit, total);
    Ok(Subsz {
        server_id: server.id.clone(),
        now: Utc::now(),
        stats: StatsJson::from(&stats),
        total: if opts.subscriptions { total } else { 0 },
        offset,
        limit,
        subscriptions_list: details.drain(lo..hi).collect(),
    })
}

/// The reference's pagination bounds: `[min(offset, n), that + min(limit, rest)]`.
pub fn page(offset: i64, limit: i64, n: usize) -> (usize, usize) {
    let lo = usize::try_from(offset.max(0)).unwrap_or(usize::MAX).min(n);
    let limit = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
    (lo, lo + limit.min(n - lo))
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    m.count("/subsz");
    let q = Query::parse(uri.query());
    let opts = match (|| {
        Ok::<_, BadRequest>(SubszOptions {
            subscriptions: q.bool("subs")?,
            offset: q.int("offset")?,
            limit: q.int("limit")?,
            account: q.get("acc").to_string(),
            test: q.get("test").to_string(),
        })
    })() {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    match subsz(&m.server, &opts) {
        Ok(s) => json_response(&s),
        Err(e) => bad_request(e),
    }
}
