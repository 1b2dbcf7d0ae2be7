//! One client connection: shared state other connections deliver into, and its lifecycle
//! (INFO, CONNECT, ping timer, auth timer, close) driven by the reader task in `conn`.

mod accept;
mod conn;
pub(crate) use conn::permissions_from_jwt;
pub mod connect;
pub(crate) mod delivery;
pub(crate) mod direct;
mod fanout;
pub mod outbound;
mod pub_perm_cache;
mod replies;
pub mod trace;
pub(crate) mod writer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

pub use accept::serve;
pub use delivery::Publisher;
use outbound::{CloseMode, Outbound};

use crate::account::Account;
use crate::permissions::Permissions;
use crate::server::Server;
use crate::subscription::Subscription;
use connect::ConnectOptions;

/// Why a connection closed (nats-server's `ClosedState` names, as `/connz` reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ClientClosed,
    AuthenticationTimeout,
    AuthenticationViolation,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    WriteError,
    ReadError,
    ParseError,
    StaleConnection,
    ProtocolViolation,
    BadClientProtocolVersion,
    NoRespondersRequiresHeaders,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    MaxConnectionsExceeded,
    ServerShutdown,
    TlsHandshakeError,
    DuplicateRoute,
    /// A configured route left the configuration on a reload.
    RouteRemoved,
    ClusterNameConflict,
    DuplicateServerName,
    MaxAccountConnectionsExceeded,
    AuthenticationExpired,
    /// Closed by a `$SYS.REQ.SERVER.<id>.KICK` request.
    Kicked,
    /// Operator mode: the account JWT revoked the user (seen on a reload).
    Revocation,
}

impl CloseReason {
    /// The text nats-server shows for this reason in `/connz`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "Client Closed",
            CloseReason::AuthenticationTimeout => "Authentication Timeout",
            CloseReason::AuthenticationViolation => "Authentication Failure",
            CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            CloseReason::WriteError => "Write Error",
            CloseReason::ReadError => "Read Error",
            CloseReason::ParseError => "Parse Error",
            CloseReason::StaleConnection => "Stale Connection",
            CloseReason::ProtocolViolation => "Protocol Violation",
            CloseReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            CloseReason::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            CloseReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            CloseReason::ServerShutdown => "Server Shutdown",
            CloseReason::TlsHandshakeError => "TLS Handshake Failure",
            CloseReason::DuplicateRoute => "Duplicate Route",
            CloseReason::RouteRemoved => "Route Removed",
            CloseReason::ClusterNameConflict => "Cluster Name Conflict",
            CloseReason::DuplicateServerName => "Duplicate Server Name",
            CloseReason::MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            CloseReason::AuthenticationExpired => "Authentication Expired",
            CloseReason::Kicked => "Kicked",
            CloseReason::Revocation => "Credentials Revoked",
        }
    }

    /// Whether what is already queued is still written before the socket closes. nats-server
    /// skips the flush only when writing is the problem.
    fn close_mode(self) -> CloseMode {
        match self {
            CloseReason::SlowConsumerPendingBytes
            | CloseReason::SlowConsumerWriteDeadline
            | CloseReason::WriteError
            | CloseReason::ReadError => CloseMode::Abort,
            _ => CloseMode::Flush,
        }
    }
}

/// Per-connection counters, read by monitoring.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
}

/// What the client said about itself in CONNECT, for monitoring and logs.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub name: String,
    pub lang: String,
    pub version: String,
    pub user: String,
    /// Operator mode: the user JWT (empty for bearer tokens, which `/connz` never shows),
    /// the key that signed it (a signing key, else the account), the user's tags and the
    /// account JWT's name.
    pub jwt: String,
    pub issuer_key: String,
    pub tags: Vec<String>,
    pub name_tag: String,
}

/// The part of a connection that other connections touch: its outbound queue, its delivery
/// flags, its subscriptions (auto-unsubscribe removes them from the publisher's task).
pub struct ClientShared {
    pub cid: u64,
    pub addr: SocketAddr,
    pub outbound: Outbound,
    /// Fired when the connection must stop reading.
    pub cancel: CancellationToken,
    /// Fired when the writer must stop without flushing.
    pub abort: CancellationToken,
    /// Whether deliveries to this connection may carry headers (HMSG).
    headers: AtomicBool,
    /// The account the connection is bound to.
    account: RwLock<Arc<Account>>,
    /// Subscriptions by sid.
    subs: Mutex<HashMap<Bytes, Arc<Subscription>>>,
    pub stats: ClientStats,
    pub meta: RwLock<ClientMeta>,
    close_reason: Mutex<Option<CloseReason>>,
    /// Set once the client may get asynchronous INFO (protocol >= 1, first PONG sent).
    async_info: AtomicBool,
    /// The credentials of the last accepted CONNECT, re-checked when the config reloads.
    credentials: Mutex<Option<ConnectOptions>>,
    /// Permissions in force; replaced on reload. The reader notices via `perms_gen`.
    perms: Mutex<Option<Arc<Permissions>>>,
    perms_gen: AtomicU64,
    /// Whether the permissions grant `allow_responses` (checked on every delivery with a
    /// reply, so a relaxed flag rather than the lock).
    tracks_replies: AtomicBool,
    /// The reply subjects received, for `allow_responses`.
    replies: Mutex<replies::Replies>,
    server: std::sync::Weak<Server>,
    pub start: chrono::DateTime<chrono::Utc>,
    /// Last activity and RTT, for `/connz`.
    pub activity: crate::monitor::activity::Activity,
    /// The INFO nonce and TLS client certificate, set once before the reader starts.
    transport: std::sync::OnceLock<crate::auth::Transport>,
    /// The socket's write half for direct writes by readers (plain TCP clients only; cleared
    /// when the writer task ends).
    direct: Mutex<Option<Arc<direct::DirectWriter>>>,
    /// What nats-server adds to the log label after CONNECT: `"v1.2:go:name" - "$G/user:u"`.
    log_tag: std::sync::OnceLock<String>,
}

impl ClientShared {
    pub fn new(cid: u64, addr: SocketAddr, server: &Arc<Server>, account: Arc<Account>) -> Self {
        ClientShared {
            cid,
            addr,
            outbound: Outbound::new(server.options().max_pending),
            cancel: CancellationToken::new(),
            abort: CancellationToken::new(),
            headers: AtomicBool::new(false),
            account: RwLock::new(account),
            subs: Mutex::new(HashMap::new()),
            stats: ClientStats::default(),
            meta: RwLock::new(ClientMeta::default()),
            close_reason: Mutex::new(None),
            async_info: AtomicBool::new(false),
            credentials: Mutex::new(None),
            perms: Mutex::new(None),
            perms_gen: AtomicU64::new(0),
            tracks_replies: AtomicBool::new(false),
            replies: Mutex::new(replies::Replies::default()),
            server: Arc::downgrade(server),
            start: chrono::Utc::now(),
            activity: Default::default(),
            transport: std::sync::OnceLock::new(),
            direct: Mutex::new(None),
            log_tag: std::sync::OnceLock::new(),
        }
    }

    /// Sets the part of the log label that CONNECT adds (once).
    pub fn set_log_tag(&self, tag: String) {
        let _ = self.log_tag.set(tag);
    }

    /// What the transport proved before CONNECT (empty until set).
    pub fn transport(&self) -> &crate::auth::Transport {
        static NONE: crate::auth::Transport = crate::auth::Transport {
            nonce: String::new(),
            peer_cert: None,
            tls: None,
        };
        self.transport.get().unwrap_or(&NONE)
    }

    pub(crate) fn set_transport(&self, t: crate::auth::Transport) {
        let _ = self.transport.set(t);
    }

    /// The write half readers may write to directly, while the writer task runs.
    pub(crate) fn direct(&self) -> Option<Arc<direct::DirectWriter>> {
        self.direct.lock().clone()
    }

    pub(crate) fn set_direct(&self, writer: Arc<direct::DirectWriter>) {
        *self.direct.lock() = Some(writer);
    }

    pub(crate) fn clear_direct(&self) {
        self.direct.lock().take();
    }

    pub fn headers(&self) -> bool {
        self.headers.load(Ordering::Relaxed)
    }

    pub(crate) fn set_headers(&self, on: bool) {
        self.headers.store(on, Ordering::Relaxed);
    }

    pub fn account(&self) -> Arc<Account> {
        self.account.read().clone()
    }

    /// Binds the connection to `account` (at CONNECT): subscriptions made before move over.
    pub(crate) fn set_account(&self, account: Arc<Account>) {
        let old = std::mem::replace(&mut *self.account.write(), account.clone());
        if Arc::ptr_eq(&old, &account) {
            return;
        }
        for sub in self.subscriptions() {
            if old
                .sublist
                .remove(&sub.subject, sub.queue.as_deref(), &sub)
                .is_ok()
            {
                let _ = account
                    .sublist
                    .insert(&sub.subject, sub.queue.as_deref(), sub.clone());
            }
        }
    }

    pub fn num_subs(&self) -> usize {
        self.subs.lock().len()
    }

    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.subs.lock().values().cloned().collect()
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.close_reason.lock()
    }

    /// Log prefix in nats-server's format: `127.0.0.1:53211 - cid:5`.
    pub fn label(&self) -> String {
        match self.log_tag.get() {
            Some(tag) => format!("{} - cid:{} - {tag}", self.addr, self.cid),
            None => format!("{} - cid:{}", self.addr, self.cid),
        }
    }

    /// Closes the connection for `reason`. The first reason wins; later calls only escalate a
    /// flushing close to an abort.
    pub fn close(&self, reason: CloseReason) {
        {
            let mut r = self.close_reason.lock();
            if r.is_none() {
                *r = Some(reason);
            }
        }
        let mode = reason.close_mode();
        if self.outbound.close(mode) {
            match reason {
                CloseReason::SlowConsumerPendingBytes => {
                    tracing::info!(
                        "{} - Slow Consumer Detected: MaxPending of {} Exceeded",
                        self.label(),
                        self.outbound.max_pending()
                    );
                    if let Some(s) = self.server.upgrade() {
                        s.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    }
                    self.account()
                        .stats
                        .slow_consumers
                        .fetch_add(1, Ordering::Relaxed);
                }
                CloseReason::SlowConsumerWriteDeadline => {
                    tracing::info!(
                        "{} - Slow Consumer Detected: WriteDeadline of {:?} exceeded",
                        self.label(),
                        self.server.upgrade().map(|s| s.options().write_deadline)
                    );
                    if let Some(s) = self.server.upgrade() {
                        s.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    }
                    self.account()
                        .stats
                        .slow_consumers
                        .fetch_add(1, Ordering::Relaxed);
                }
                CloseReason::StaleConnection => {
                    if let Some(s) = self.server.upgrade() {
                        s.stats.stale_connections.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
        if mode == CloseMode::Abort {
            self.abort.cancel();
        }
        self.cancel.cancel();
    }

    pub fn async_info(&self) -> bool {
        self.async_info.load(Ordering::Relaxed)
    }

    pub(crate) fn set_async_info(&self) {
        self.async_info.store(true, Ordering::Relaxed);
    }

    /// The credentials of the accepted CONNECT (none before CONNECT).
    pub fn credentials(&self) -> Option<ConnectOptions> {
        self.credentials.lock().clone()
    }

    pub(crate) fn set_credentials(&self, c: ConnectOptions) {
        *self.credentials.lock() = Some(c);
    }

    /// Installs new permissions (CONNECT or reload); the reader picks them up.
    pub fn set_permissions(&self, perms: Option<Arc<Permissions>>) {
        let responses = perms.as_ref().is_some_and(|p| p.response.is_some());
        self.tracks_replies.store(responses, Ordering::Relaxed);
        *self.perms.lock() = perms;
        self.perms_gen.fetch_add(1, Ordering::Release);
    }

    pub fn permissions(&self) -> Option<Arc<Permissions>> {
        self.perms.lock().clone()
    }

    /// A message with `reply` is being delivered to this connection (`allow_responses`).
    pub(crate) fn note_reply(&self, reply: &Bytes) {
        if !self.tracks_replies.load(Ordering::Relaxed) {
            return;
        }
        if let Some(perms) = self.permissions() {
            self.replies.lock().record(reply, &perms);
        }
    }

    /// May this connection publish to `subject` as an answer to a message it received?
    pub(crate) fn response_allowed(&self, subject: &[u8], perms: &Permissions) -> bool {
        match &perms.response {
            Some(rp) => self.replies.lock().allow(subject, rp),
            None => false,
        }
    }

    pub(crate) fn perms_generation(&self) -> u64 {
        self.perms_gen.load(Ordering::Acquire)
    }

    /// Called by the writer after a successful flush.
    pub(crate) fn note_flushed(&self) {}

    /// Adds a subscription under its sid; returns the existing one if the sid is taken.
    pub(crate) fn add_sub(&self, sub: Arc<Subscription>) -> Option<Arc<Subscription>> {
        let mut subs = self.subs.lock();
        if let Some(existing) = subs.get(&sub.sid) {
            return Some(existing.clone());
        }
        subs.insert(sub.sid.clone(), sub);
        None
    }

    pub(crate) fn get_sub(&self, sid: &[u8]) -> Option<Arc<Subscription>> {
        self.subs.lock().get(sid).cloned()
    }

    /// Removes a subscription from this connection and from its account's sublist.
    pub(crate) fn remove_sub(&self, sub: &Arc<Subscription>) {
        if !sub.close() {
            return;
        }
        {
            let mut subs = self.subs.lock();
            if subs.get(&sub.sid).is_some_and(|s| Arc::ptr_eq(s, sub)) {
                subs.remove(&sub.sid);
            }
        }
        let account = self.account();
        if account
            .sublist
            .remove(&sub.subject, sub.queue.as_deref(), sub)
            .is_ok()
            && let Some(server) = self.server.upgrade()
        {
            server.routes.local_interest(&account, sub, -1);
        }
    }

    /// Removes every subscription (connection closed).
    /// Drops every subscription (at close); returns their sids.
    pub(crate) fn remove_all_subs(&self) -> Vec<Bytes> {
        let subs: Vec<_> = self.subs.lock().drain().map(|(_, s)| s).collect();
        let sids = subs.iter().map(|s| s.sid.clone()).collect();
        let account = self.account();
        for sub in subs {
            if sub.close()
                && account
                    .sublist
                    .remove(&sub.subject, sub.queue.as_deref(), &sub)
                    .is_ok()
                && let Some(server) = self.server.upgrade()
            {
                server.routes.local_interest(&account, &sub, -1);
            }
        }
        sids
    }
}
