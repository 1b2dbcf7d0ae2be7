//! Accounts: each one is its own subject space (a sublist). `$G` always exists; configured
//! accounts (`accounts {}`) and runtime ones ([`crate::server::Server::register_account`])
//! live in the server's registry. Exports and imports are declared here as config values.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::imports::{Responses, StreamRoute};
use crate::mapping::Mappings;
use crate::sublist::Sublist;
use crate::subscription::Subscription;

/// Name of the account clients join when no account is configured (`DEFAULT_GLOBAL_ACCOUNT`).
pub const GLOBAL_ACCOUNT: &str = "$G";

/// How a service export answers (`response_type`), nats-server's `ServiceRespType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// One response per request (the default).
    #[default]
    Singleton,
    /// Any number of responses until the requestor goes away.
    Stream,
    /// A response in several messages.
    Chunked,
}

impl ResponseType {
    /// The name nats-server shows (`Singleton`, `Streamed`, `Chunked`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Singleton => "Singleton",
            ResponseType::Stream => "Streamed",
            ResponseType::Chunked => "Chunked",
        }
    }
}

/// One export: a stream (messages flow to importers) or a service (requests flow in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub subject: String,
    /// `Some` for a service export, with its response type.
    pub service: Option<ResponseType>,
    /// The accounts allowed to import; empty means public.
    pub accounts: Vec<String>,
    /// `account_token_position`: the subject token that must equal the importer's name.
    pub token_position: u32,
}

/// One import: a stream or a service of another account, mapped into this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The exporting account.
    pub account: String,
    /// The subject in the exporter's space.
    pub subject: String,
    /// Service import: the local subject requests are published on (default: `subject`).
    /// Stream import: the local subject messages appear on (`to`), if any.
    pub to: Option<String>,
    /// Stream import: a prefix put in front of the exporter's subject.
    pub prefix: Option<String>,
    /// True for a service import.
    pub service: bool,
    /// Service import `share`: pass the requestor's latency data (accepted, not used).
    pub share: bool,
}

impl Import {
    /// Service import: the subject requests are published on in the importing account.
    pub fn local_subject(&self) -> &str {
        self.to.as_deref().unwrap_or(&self.subject)
    }

    /// Stream import: the subject pattern messages appear on in the importing account
    /// (`prefix.` + subject, or `to`, or the subject itself).
    pub fn stream_destination(&self) -> String {
        match (&self.prefix, &self.to) {
            (Some(p), _) if !p.is_empty() => {
                let p = p.trim_end_matches('.');
                format!("{p}.{}", self.subject)
            }
            (_, Some(to)) if !to.is_empty() => to.clone(),
            _ => self.subject.clone(),
        }
    }
}

/// nats-server's `isSubsetMatch`: is every subject `subject` can stand for also matched by
/// the export pattern `pattern`? (`x.*` is a subset of `x.>`, not the other way round.)
pub fn is_subset_match(subject: &str, pattern: &str) -> bool {
    let tokens: Vec<&str> = subject.split('.').collect();
    let test: Vec<&str> = pattern.split('.').collect();
    for (i, t2) in test.iter().enumerate() {
        let Some(t1) = tokens.get(i) else {
            return false;
        };
        if t2.is_empty() {
            return false;
        }
        if *t2 == ">" {
            return true;
        }
        if t1.is_empty() || *t1 == ">" {
            return false;
        }
        if *t1 == "*" {
            if *t2 != "*" {
                return false;
            }
            continue;
        }
        if *t2 != "*" && t1 != t2 {
            return false;
        }
    }
    tokens.len() == test.len()
}

/// nats-server's `checkStreamExportApproved` / `checkServiceExportApproved` for configured
/// accounts: does one of `exports` (of the right kind) let `importer` import `subject`?
/// The exact subject is looked up first, then any export it is a subset of.
pub fn export_allows(exports: &[Export], service: bool, importer: &str, subject: &str) -> bool {
    let kind = |e: &&Export| e.service.is_some() == service;
    let allowed = |e: &Export| {
        if e.token_position > 0 {
            return subject
                .split('.')
                .nth(e.token_position as usize - 1)
                .is_some_and(|t| t == importer);
        }
        e.accounts.is_empty() || e.accounts.iter().any(|a| a == importer)
    };
    if let Some(e) = exports.iter().filter(kind).find(|e| e.subject == subject) {
        return allowed(e);
    }
    exports
        .iter()
        .filter(kind)
        .find(|e| is_subset_match(subject, &e.subject))
        .is_some_and(allowed)
}

/// Told when a server-made subscription (a service-import response subscription) is added
/// (`1`) or removed (`-1`), so routes can announce it to peers as nats-server does.
pub type InterestSink = Arc<dyn Fn(&Account, &Subscription, i32) + Send + Sync>;

/// One account: a name, the subscriptions of its connections, and the routes its imports
/// and exports installed.
pub struct Account {
    pub name: String,
    pub sublist: Sublist<Subscription>,
    /// Streams other accounts import from this one, checked on every publish here.
    streams_out: RwLock<Arc<Vec<StreamRoute>>>,
    /// Whether `streams_out` is non-empty (one relaxed load on the publish path).
    has_streams_out: AtomicBool,
    /// The service-import subscriptions this account holds in its own sublist.
    import_subs: Mutex<Vec<Arc<Subscription>>>,
    /// Responses owed to requestors that came in through service imports.
    pub(crate) responses: Mutex<Responses>,
    /// Where interest of server-made subscriptions is reported (set by the server).
    interest_sink: OnceLock<InterestSink>,
    /// Traffic counters, for `/accstatz` and `/metrics`.
    pub stats: AccountStats,
    /// Subject mappings applied to what this account's clients publish.
    mappings: RwLock<Option<Arc<Mappings>>>,
    /// Whether `mappings` is set (one relaxed load on the publish path).
    has_mappings: AtomicBool,
}

/// An account's traffic (nats-server's `a.stats`): messages its clients published, messages
/// delivered from its subject space, and its slow consumers.
#[derive(Debug, Default)]
pub struct AccountStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
}

impl AccountStats {
    pub fn add_in(&self, msgs: u64, bytes: u64) {
        self.in_msgs.fetch_add(msgs, Ordering::Relaxed);
        self.in_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_out(&self, msgs: u64, bytes: u64) {
        self.out_msgs.fetch_add(msgs, Ordering::Relaxed);
        self.out_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

impl Account {
    pub fn new(name: &str, sublist_cache: bool) -> Arc<Self> {
        Arc::new(Account {
            name: name.to_string(),
            sublist: Sublist::new(sublist_cache),
            streams_out: RwLock::new(Arc::new(Vec::new())),
            has_streams_out: AtomicBool::new(false),
            import_subs: Mutex::new(Vec::new()),
            responses: Mutex::new(Responses::default()),
            interest_sink: OnceLock::new(),
            stats: AccountStats::default(),
            mappings: RwLock::new(None),
            has_mappings: AtomicBool::new(false),
        })
    }

    /// Replaces the account's subject mappings (none when `m` is empty).
    pub fn set_mappings(&self, m: &Mappings) {
        let m = (!m.is_empty()).then(|| Arc::new(m.clone()));
        self.has_mappings.store(m.is_some(), Ordering::Release);
        *self.mappings.write() = m;
    }

    /// Whether publishes here may be mapped to other subjects.
    #[inline]
    pub fn has_mappings(&self) -> bool {
        self.has_mappings.load(Ordering::Relaxed)
    }

    /// The subject a publish to `subject` goes to, if a mapping applies (see
    /// [`Mappings::select`]).
    pub fn map_subject(&self, subject: &[u8], cluster: impl FnOnce() -> String) -> Option<Vec<u8>> {
        let m = self.mappings.read().clone()?;
        m.select(subject, cluster)
    }

    /// Sets where this account reports server-made interest (first call wins).
    pub fn set_interest_sink(&self, sink: InterestSink) {
        let _ = self.interest_sink.set(sink);
    }

    /// Reports a server-made subscription added (`1`) or removed (`-1`).
    pub fn interest_changed(&self, sub: &Subscription, delta: i32) {
        if let Some(sink) = self.interest_sink.get() {
            sink(self, sub, delta);
        }
    }

    /// The stream routes to importers, when there are any.
    pub fn stream_routes(&self) -> Option<Arc<Vec<StreamRoute>>> {
        if !self.has_streams_out.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.streams_out.read().clone())
    }

    pub(crate) fn add_stream_route(&self, route: StreamRoute) {
        let mut routes = self.streams_out.write();
        let mut next: Vec<StreamRoute> = routes.as_ref().clone();
        next.push(route);
        *routes = Arc::new(next);
        self.has_streams_out.store(true, Ordering::Relaxed);
    }

    pub(crate) fn add_import_sub(&self, sub: Subscription) {
        let sub = Arc::new(sub);
        if self
            .sublist
            .insert(&sub.subject, sub.queue.as_deref(), sub.clone())
            .is_ok()
        {
            self.import_subs.lock().push(sub);
        }
    }

    /// Number of service imports installed in this account.
    pub fn num_service_imports(&self) -> usize {
        self.import_subs.lock().len()
    }

    /// Number of stream routes other accounts import through.
    pub fn num_stream_routes(&self) -> usize {
        self.streams_out.read().len()
    }

    /// Removes the routes and subscriptions of the previous import configuration.
    pub(crate) fn clear_imports(&self) {
        *self.streams_out.write() = Arc::new(Vec::new());
        self.has_streams_out.store(false, Ordering::Relaxed);
        for sub in self.import_subs.lock().drain(..) {
            sub.close();
            let _ = self
                .sublist
                .remove(&sub.subject, sub.queue.as_deref(), &sub);
        }
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("name", &self.name).finish()
    }
}
