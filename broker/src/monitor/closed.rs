//! Recently closed connections, kept for `/connz?state=closed` in a bounded ring (the
//! reference's `closedRingBuffer`, `max_closed_clients` entries, default 10000), plus
//! unbounded per-reason close counters for `/metrics`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::connz::{ConnInfo, fill};
use super::subsz::SubDetail;
use crate::account::GLOBAL_ACCOUNT;
use crate::client::{ClientShared, CloseReason};

/// nats-server's `DEFAULT_MAX_CLOSED_CLIENTS`.
pub const DEFAULT_MAX_CLOSED_CLIENTS: usize = 10_000;

/// A closed connection as `/connz` shows it, with what the optional parts need.
#[derive(Debug, Clone)]
pub struct ClosedClient {
    /// The connection's figures at close time (`stop` and `reason` set).
    pub info: ConnInfo,
    /// Its subscriptions at close time (with account, as the reference keeps them).
    pub subs: Vec<SubDetail>,
    /// The authenticated user.
    pub user: String,
    /// The account name, empty for `$G` (as the reference keeps it: so `acc=$G` does not
    /// list closed connections).
    pub account: String,
}

/// The ring of closed connections and the close counters.
#[derive(Debug)]
pub struct ClosedClients {
    max: usize,
    ring: Mutex<VecDeque<Arc<ClosedClient>>>,
    total: AtomicU64,
    by_reason: Mutex<BTreeMap<&'static str, u64>>,
}

impl Default for ClosedClients {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CLOSED_CLIENTS)
    }
}

impl ClosedClients {
    /// A ring keeping at most `max` connections.
    pub fn new(max: usize) -> Self {
        ClosedClients {
            max,
            ring: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            by_reason: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records a connection that has just closed, before its subscriptions are removed.
    pub fn record(&self, c: &ClientShared) {
        let now = chrono::Utc::now();
        let reason = c
            .close_reason()
            .unwrap_or(CloseReason::ClientClosed)
            .as_str();
        let account_name = c.account().name.clone();
        let mut info = fill(c, now);
        info.stop = Some(now);
        info.reason = reason.to_string();
        let mut subs: Vec<SubDetail> = c
            .subscriptions()
            .iter()
            .map(|s| SubDetail {
                // Closing clears auto-unsubscribe limits first, as in the reference.
                max: 0,
                ..SubDetail::with_account(s, &account_name)
            })
            .collect();
        subs.sort_by(|a, b| (&a.subject, &a.sid).cmp(&(&b.subject, &b.sid)));
        info.subscriptions = subs.len();
        let closed = Arc::new(ClosedClient {
            info,
            subs,
            user: c.meta.read().user.clone(),
            account: if account_name == GLOBAL_ACCOUNT {
                String::new()
            } else {
                account_name
            },
        });
        *self.by_reason.lock().entry(reason).or_insert(0) += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        if self.max == 0 {
            return;
        }
        let mut ring = self.ring.lock();
        while ring.len() >= self.max {
            ring.pop_front();
        }
        ring.push_back(closed);
    }

    /// The retained connections, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<ClosedClient>> {
        self.ring.lock().iter().cloned().collect()
    }

    /// Connections retained now.
    pub fn len(&self) -> usize {
        self.ring.lock().len()
    }

    /// Whether none is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Connections closed since start (retained or not).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Connections closed since start, by reason text.
    pub fn by_reason(&self) -> Vec<(&'static str, u64)> {
        self.by_reason
            .lock()
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }
}
