//! The system account (`$SYS`, or the configured `system_account`): the server's own
//! subscriptions in it, answering `$SYS.REQ.*` requests, and the events it publishes
//! (connects, disconnects, account connection counts, periodic `STATSZ`, shutdown).
//!
//! Everything is subscriptions and publishes in ordinary accounts: a request reaches an
//! internal subscription through the sublist like any message, so a server that learns a
//! remote server's interest (routes) forwards requests there too and `PING` gathers every
//! server's answer. Handlers run on the publisher's task and only queue the message; one task
//! per server answers them in order.

pub mod events;
mod requests;
pub mod subjects;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::account::Account;
use crate::client::{ClientShared, CloseReason};
use crate::monitor::client_view::{ClientView, nanos};
use crate::server::Server;
use crate::server::info::COMPAT_VERSION;
use crate::subscription::{InternalHandler, InternalMsg, Subscription};
use events::{
    ACCOUNT_CONNS_TYPE, AccountNumConns, ApiResponse, CLIENT_KIND, CLIENT_TYPE_NATS,
    CONNECT_EVENT_TYPE, ClientInfo, ConnectEvent, DISCONNECT_EVENT_TYPE, DataStats,
    DisconnectEvent, KindCounts, RouteStat, ServerInfo, ServerStats, ServerStatsMsg,
};
use requests::Answer;
use subjects::{Endpoint, Handler};

/// Name of the system account when none is configured (`DEFAULT_SYSTEM_ACCOUNT`).
pub const DEFAULT_SYSTEM_ACCOUNT: &str = "$SYS";

/// Requests and events waiting for the system task. Bounded so a flood of `$SYS` requests
/// cannot grow memory without limit; past it, messages are dropped with a warning (the
/// reference's queue is unbounded).
const QUEUE_CAPACITY: usize = 4096;

/// First interval of the periodic `STATSZ`; it doubles up to [`STATSZ_INTERVAL`], so a new
/// server is seen quickly (`startStatszTimer`: 250 ms).
const STATSZ_FIRST: Duration = Duration::from_millis(250);

/// Interval of the periodic `STATSZ` once started (`statsHBInterval`: 10 s).
const STATSZ_INTERVAL: Duration = Duration::from_secs(10);

/// Interval of the account connection-count heartbeat while an account has connections
/// (`eventsHBInterval`: 30 s).
const ACCOUNT_CONNS_INTERVAL: Duration = Duration::from_secs(30);

/// A message for one of the system account's internal subscriptions.
struct Job {
    handler: Handler,
    /// The account the subscription lives in (where the reply subject is).
    account: Weak<Account>,
    subject: Bytes,
    reply: Option<Bytes>,
    header_len: usize,
    msg: Bytes,
    from: Option<Arc<ClientShared>>,
}

/// One of the system account's internal subscriptions.
struct OwnSub {
    account: Weak<Account>,
    sub: Arc<Subscription>,
    /// Whether other servers learn of it over routes (all but the user-info services, which
    /// only the client's own server can answer, as in the reference).
    routed: bool,
}

/// The system account of one server.
pub struct System {
    server: Weak<Server>,
    account: Arc<Account>,
    /// `seq` of the `server` block: one per message sent.
    seq: AtomicU64,
    /// Sids of the internal subscriptions.
    next_sid: AtomicU64,
    tx: mpsc::Sender<Job>,
    /// Every internal subscription, with its account, so they can be removed.
    subs: Mutex<Vec<OwnSub>>,
    /// Set once the shutdown event went out: nothing is sent after it.
    stopped: AtomicBool,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("account", &self.account.name)
            .finish()
    }
}

/// Sets up the system account of `server` (the configured one, else `$SYS`), its
/// subscriptions and imports, and starts the task answering them. Call once, in a runtime.
pub fn start(server: &Arc<Server>) -> Arc<System> {
    let opts = server.options();
    // In operator mode the trust knows it (the config's, else the operator JWT's).
    let name = server
        .trust()
        .and_then(|t| t.system_account.clone())
        .or_else(|| opts.system_account.clone())
        .unwrap_or_else(|| DEFAULT_SYSTEM_ACCOUNT.to_string());
    let account = server.register_account(&name);
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let sys = Arc::new(System {
        server: Arc::downgrade(server),
        account: account.clone(),
        seq: AtomicU64::new(0),
        next_sid: AtomicU64::new(1),
        tx,
        subs: Mutex::new(Vec::new()),
        stopped: AtomicBool::new(false),
    });
    let shash = subjects::short_hash(&server.name);
    for (subject, handler) in subjects::system_subscriptions(&server.id, &shash) {
        sys.subscribe(&account, &subject, handler);
    }
    for acc in server.accounts() {
        sys.import_into(&acc);
    }
    tokio::spawn(run(sys.clone(), rx, server.shutdown.clone()));
    tokio::spawn(statsz_timer(sys.clone(), server.shutdown.clone()));
    tokio::spawn(account_conns_timer(sys.clone(), server.shutdown.clone()));
    sys
}

/// Answers queued requests until the server shuts down.
async fn run(
    sys: Arc<System>,
    mut rx: mpsc::Receiver<Job>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let job = tokio::select! {
            _ = shutdown.cancelled() => return,
            j = rx.recv() => match j {
                Some(j) => j,
                None => return,
            },
        };
        let Some(server) = sys.server.upgrade() else {
            return;
        };
        sys.handle(&server, job);
    }
}

/// Publishes `STATSZ` to `$SYS.SERVER.<id>.STATSZ` when someone listens: first after 250 ms,
/// then at doubling intervals up to every 10 s.
async fn statsz_timer(sys: Arc<System>, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = STATSZ_FIRST;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        every = (every * 2).min(STATSZ_INTERVAL);
        let Some(server) = sys.server.upgrade() else {
            return;
        };
        let subject = Bytes::from(subjects::statsz(&server.id));
        if sys.has_interest(&sys.account, &subject) {
            sys.send_statsz(&server, &subject);
        }
    }
}

/// Re-sends every account's connection count every 30 s while it has connections.
async fn account_conns_timer(sys: Arc<System>, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(ACCOUNT_CONNS_INTERVAL) => {}
        }
        let Some(server) = sys.server.upgrade() else {
            return;
        };
        for acc in server.accounts() {
            if acc.name != server.global_account().name
                && server
                    .clients()
                    .iter()
                    .any(|c| c.account().name == acc.name)
            {
                sys.account_conns(&server, &acc);
            }
        }
    }
}

impl System {
    /// The system account.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// Adds an internal subscription on `subject` in `account`.
    fn subscribe(&self, account: &Arc<Account>, subject: &str, handler: Handler) {
        let tx = self.tx.clone();
        let weak = Arc::downgrade(account);
        let cb: InternalHandler = Arc::new(move |m: &InternalMsg<'_>| {
            let job = Job {
                handler,
                account: weak.clone(),
                subject: Bytes::copy_from_slice(m.subject),
                reply: m.reply.cloned(),
                header_len: m.header_len,
                msg: m.msg.clone(),
                from: m.from.cloned(),
            };
            if tx.try_send(job).is_err() {
                tracing::warn!("System request queue is full, dropping a message");
            }
        });
        let sid = self.next_sid.fetch_add(1, Ordering::Relaxed).to_string();
        let sub = Arc::new(Subscription::internal(
            cb,
            Bytes::copy_from_slice(subject.as_bytes()),
            None,
            Bytes::from(sid),
        ));
        match account.sublist.insert(&sub.subject, None, sub.clone()) {
            Ok(_) => {
                let routed =
                    !matches!(handler, Handler::UserInfo) && subject != subjects::DEBUG_SUBSCRIBERS;
                if routed && let Some(server) = self.server.upgrade() {
                    server.routes.local_interest(account, &sub, 1);
                }
                self.subs.lock().push(OwnSub {
                    account: Arc::downgrade(account),
                    sub,
                    routed,
                });
            }
            Err(_) => tracing::error!("Error setting up internal tracking for {subject}"),
        }
    }

    /// The system services every other account imports (`registerSystemImports`): four
    /// subscriptions whose answers concern that account. Call for each new account.
    pub fn import_into(&self, account: &Arc<Account>) {
        if Arc::ptr_eq(account, &self.account) {
            return;
        }
        for (subject, handler) in subjects::imported_subscriptions() {
            self.subscribe(account, subject, handler);
        }
    }

    /// True when a subscriber other than the system account's own subscriptions listens on
    /// `subject` in `account` (events are only built for someone): a client, or any other
    /// kind of subscription (a route's, an import's), or a stream export other accounts
    /// import the subject through.
    fn has_interest(&self, account: &Account, subject: &[u8]) -> bool {
        let r = account.sublist.matches(subject);
        let subs = self.subs.lock();
        let foreign = |s: &Arc<Subscription>| !subs.iter().any(|own| Arc::ptr_eq(&own.sub, s));
        r.psubs.iter().any(foreign)
            || r.qsubs.iter().any(|g| g.members.iter().any(foreign))
            || account
                .stream_routes()
                .is_some_and(|routes| routes.iter().any(|rt| rt.matches(subject)))
    }

    /// The `server` block of the next message.
    fn server_info(&self, server: &Server) -> ServerInfo {
        ServerInfo {
            name: server.name.clone(),
            host: server.options().host.clone(),
            id: server.id.clone(),
            cluster: requests::cluster_name(server),
            ver: COMPAT_VERSION,
            feature_flags: crate::monitor::varz::FEATURE_FLAGS.into_iter().collect(),
            tags: server.options().tags.clone(),
            metadata: server.options().metadata.clone(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time: Utc::now(),
            ..Default::default()
        }
    }

    /// Publishes `value` as JSON on `subject` in `account`.
    fn send<T: Serialize>(&self, server: &Server, account: &Account, subject: &[u8], value: &T) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        match serde_json::to_vec(value) {
            Ok(body) => server.publish_internal(
                account,
                &Bytes::copy_from_slice(subject),
                None,
                0,
                &Bytes::from(body),
            ),
            Err(e) => tracing::error!("Error encoding system message: {e}"),
        }
    }

    /// Handles one queued message.
    fn handle(&self, server: &Arc<Server>, job: Job) {
        let Some(account) = job.account.upgrade() else {
            return;
        };
        let body = job.msg.slice(job.header_len.min(job.msg.len())..);
        let reply = job.reply.clone();
        let answer = match job.handler {
            Handler::Observe => return,
            Handler::Ping | Handler::Server(Endpoint::Statsz) => {
                return self.statsz_request(server, &account, reply, &body);
            }
            Handler::Server(Endpoint::Idz) => {
                if let Some(r) = reply {
                    self.send(server, &account, &r, &requests::idz(server));
                }
                return;
            }
            Handler::Server(e) => requests::server_endpoint(server, e, &body),
            Handler::Account(subjects::AccountEndpoint::Conns) => {
                return self.conns_request(server, &job.subject, reply.as_ref(), &body);
            }
            Handler::Account(e) => requests::account_endpoint(server, e, &job.subject, &body),
            Handler::AccountPingStatz => requests::account_ping_statz(server, &body),
            Handler::ImportedConnz => {
                let subject = format!("$SYS.REQ.ACCOUNT.{}.CONNZ", account.name);
                requests::account_endpoint(
                    server,
                    subjects::AccountEndpoint::Connz,
                    subject.as_bytes(),
                    &body,
                )
            }
            Handler::ImportedStatz => {
                let subject = format!("$SYS.REQ.ACCOUNT.{}.STATZ", account.name);
                requests::account_endpoint(
                    server,
                    subjects::AccountEndpoint::Statz,
                    subject.as_bytes(),
                    &body,
                )
            }
            Handler::UserInfo => requests::user_info(job.from.as_ref()),
            Handler::Kick | Handler::Ldm => match requests::client_request(server, &body) {
                Some(cid) => self.client_action(server, job.handler, cid),
                None => return,
            },
            Handler::Reload => match requests::for_this_server(server, &body) {
                Ok(()) => self.reload(server),
                Err(a) => a,
            },
        };
        let Some(reply) = reply else {
            return;
        };
        if let Some((data, error)) = answer.into_parts() {
            let resp = ApiResponse {
                server: self.server_info(server),
                data,
                error,
            };
            self.send(server, &account, &reply, &resp);
        }
    }

    /// `$SYS.REQ.SERVER.PING` / `.STATSZ`: the statistics to the reply subject, or without
    /// one to the server's `STATSZ` subject.
    fn statsz_request(
        &self,
        server: &Server,
        account: &Account,
        reply: Option<Bytes>,
        body: &[u8],
    ) {
        if !body.is_empty() {
            match serde_json::from_slice::<requests::EventFilter>(body) {
                Ok(f) if f.excludes(server) => return,
                Ok(_) => {}
                Err(e) => {
                    if let Some(r) = &reply {
                        let resp: ApiResponse<()> = ApiResponse {
                            server: self.server_info(server),
                            data: None,
                            error: Some(events::ApiError {
                                code: 400,
                                description: e.to_string(),
                            }),
                        };
                        self.send(server, account, r, &resp);
                    }
                    return;
                }
            }
        }
        match reply {
            Some(r) => self.send(server, account, &r, &self.statsz(server)),
            None => {
                let subject = subjects::statsz(&server.id);
                self.send(
                    server,
                    &self.account,
                    subject.as_bytes(),
                    &self.statsz(server),
                );
            }
        }
    }

    fn send_statsz(&self, server: &Server, subject: &[u8]) {
        let msg = self.statsz(server);
        self.send(server, &self.account, subject, &msg);
    }

    /// The `STATSZ` message, from the same figures as `/varz`.
    fn statsz(&self, server: &Server) -> ServerStatsMsg {
        let v = crate::monitor::varz::varz(server, Default::default());
        let mut active: Vec<String> = server
            .clients()
            .iter()
            .map(|c| c.account().name.clone())
            .collect();
        active.sort();
        active.dedup();
        let kind = |n: u64| {
            (n > 0).then_some(KindCounts {
                clients: n,
                ..Default::default()
            })
        };
        ServerStatsMsg {
            server: self.server_info(server),
            statsz: ServerStats {
                start: server.start,
                mem: v.mem,
                cores: v.cores,
                cpu: v.cpu,
                connections: v.connections,
                total_connections: v.total_connections,
                active_accounts: active.len(),
                subscriptions: v.subscriptions,
                sent: DataStats::total(v.out_msgs, v.out_bytes),
                sent_to_clients: DataStats::total(v.out_client_msgs, v.out_client_bytes),
                received: DataStats::total(v.in_msgs, v.in_bytes),
                received_from_clients: DataStats::total(v.in_client_msgs, v.in_client_bytes),
                slow_consumers: v.slow_consumers,
                slow_consumer_stats: kind(v.slow_consumers),
                stale_connections: v.stale_connections,
                stale_connection_stats: kind(v.stale_connections),
                stalled_clients: 0,
                routes: crate::monitor::routez::routez(server)
                    .routes
                    .into_iter()
                    .map(|r| RouteStat {
                        rid: r.rid,
                        name: r.remote_name,
                        sent: DataStats::total(r.out_msgs, r.out_bytes),
                        received: DataStats::total(r.in_msgs, r.in_bytes),
                        pending: r.pending_size,
                    })
                    .collect(),
                active_servers: 1 + server.routes.num_routes(),
                gomaxprocs: v.gomaxprocs,
            },
        }
    }

    /// `KICK` closes the client; `LDM` tells it the server is going away (INFO `ldm`).
    fn client_action(&self, server: &Server, handler: Handler, cid: u64) -> Answer {
        let client = server.clients().into_iter().find(|c| c.cid == cid);
        match (handler, client) {
            (Handler::Kick, Some(c)) => {
                c.close(CloseReason::Kicked);
                Answer::Empty
            }
            (Handler::Kick, None) => Answer::Error("no such client or leafnode id".into()),
            (_, None) => Answer::Error("no such client id".into()),
            (_, Some(c)) if c.async_info() => {
                let info = server.client_info(c.cid, &c.addr.ip().to_string(), None, true);
                c.outbound.push_proto(&info);
                c.outbound.wake();
                Answer::Empty
            }
            (_, Some(_)) => Answer::Error(
                "client does not support Lame Duck Mode or is not ready to receive the \
                 notification"
                    .into(),
            ),
        }
    }

    /// `RELOAD`: reloads the configuration, as SIGHUP does.
    fn reload(&self, server: &Arc<Server>) -> Answer {
        match server.request_reload() {
            Ok(()) => Answer::Empty,
            Err(e) => Answer::Error(e),
        }
    }

    /// The event for a client that authenticated (`accountConnectEvent`).
    pub fn connect_event(&self, server: &Server, c: &ClientShared) {
        let account = c.account();
        if account.name != server.global_account().name {
            self.account_conns(server, &account);
        }
        let subject = subjects::connect_event(&account.name);
        if self.has_interest(&self.account, subject.as_bytes()) {
            let ev = ConnectEvent {
                kind: CONNECT_EVENT_TYPE,
                id: event_id(),
                timestamp: Utc::now(),
                server: self.server_info(server),
                client: client_info(&ClientView::of(c), &account.name, None),
            };
            self.send(server, &self.account, subject.as_bytes(), &ev);
        }
    }

    /// The event for a closed client (`accountDisconnectEvent`).
    pub fn disconnect_event(&self, server: &Server, c: &ClientShared) {
        let account = c.account();
        let subject = subjects::disconnect_event(&account.name);
        if self.has_interest(&self.account, subject.as_bytes()) {
            let ev = self.disconnect_message(server, c);
            self.send(server, &self.account, subject.as_bytes(), &ev);
        }
    }

    /// A disconnect event for `c`, now.
    fn disconnect_message(&self, server: &Server, c: &ClientShared) -> DisconnectEvent {
        let account = c.account();
        let now = Utc::now();
        let v = ClientView::of(c);
        DisconnectEvent {
            kind: DISCONNECT_EVENT_TYPE,
            id: event_id(),
            timestamp: now,
            server: self.server_info(server),
            client: client_info(&v, &account.name, Some(now)),
            sent: DataStats::total(v.in_msgs, v.in_bytes),
            received: DataStats::total(v.out_msgs, v.out_bytes),
            reason: c
                .close_reason()
                .unwrap_or(CloseReason::ClientClosed)
                .as_str()
                .to_string(),
        }
    }

    /// `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` for a client that failed to authenticate
    /// (`sendAuthErrorEvent`): a disconnect event with the failure as its reason.
    pub fn auth_error_event(&self, server: &Server, c: &ClientShared) {
        let subject = subjects::auth_error(&server.id);
        if self.has_interest(&self.account, subject.as_bytes()) {
            let ev = self.disconnect_message(server, c);
            self.send(server, &self.account, subject.as_bytes(), &ev);
        }
    }

    /// Called once a closed client left the registry: its account's new connection count.
    pub fn client_gone(&self, server: &Server, c: &ClientShared) {
        let account = c.account();
        if account.name != server.global_account().name {
            self.account_conns(server, &account);
        }
    }

    /// `$SYS.ACCOUNT.<acc>.SERVER.CONNS` and the old `$SYS.SERVER.ACCOUNT.<acc>.CONNS`.
    fn account_conns(&self, server: &Server, account: &Account) {
        let new = subjects::account_conns(&account.name);
        let old = subjects::account_conns_old(&account.name);
        let targets: Vec<&String> = [&new, &old]
            .into_iter()
            .filter(|s| self.has_interest(&self.account, s.as_bytes()))
            .collect();
        if targets.is_empty() {
            return;
        }
        let subjects: Vec<&[u8]> = targets.iter().map(|s| s.as_bytes()).collect();
        self.send_account_conns(server, account, &subjects);
    }

    /// An `account_connections` message for `account` on each of `subjects`.
    fn send_account_conns(&self, server: &Server, account: &Account, subjects: &[&[u8]]) {
        let id = event_id();
        let timestamp = Utc::now();
        let stat = crate::monitor::accstatz::account_stat(server, account);
        for subject in subjects {
            let msg = AccountNumConns {
                kind: ACCOUNT_CONNS_TYPE,
                id: id.clone(),
                timestamp,
                server: self.server_info(server),
                stat: stat.clone(),
            };
            self.send(server, &self.account, subject, &msg);
        }
    }

    /// `$SYS.REQ.ACCOUNT.<acc>.CONNS` (`connsRequest`): another server asks for this one's
    /// connection count of an account; answered only when it has connections here.
    fn conns_request(&self, server: &Server, subject: &[u8], reply: Option<&Bytes>, body: &[u8]) {
        let Ok(name) = requests::account_token(subject) else {
            tracing::error!("Bad subject account connections request message");
            return;
        };
        if !body.is_empty() {
            #[derive(serde::Deserialize)]
            struct Req {
                #[serde(default)]
                acc: String,
            }
            match serde_json::from_slice::<Req>(body) {
                Ok(r) if r.acc == name => {}
                Ok(_) => {
                    tracing::error!("Error unmarshalled account does not match subject");
                    return;
                }
                Err(e) => {
                    tracing::error!("Error unmarshalling account connections request message: {e}");
                    return;
                }
            }
        }
        let (Some(reply), Some(account)) = (reply, server.lookup_account(&name)) else {
            return;
        };
        if server.clients().iter().any(|c| c.account().name == name) {
            self.send_account_conns(server, &account, &[reply]);
        }
    }

    /// `$SYS.SERVER.<id>.LAMEDUCK`, when lame duck mode starts.
    pub fn lame_duck_event(&self, server: &Server) {
        let subject = subjects::lame_duck(&server.id);
        if self.has_interest(&self.account, subject.as_bytes()) {
            let info = self.server_info(server);
            self.send(server, &self.account, subject.as_bytes(), &info);
        }
    }

    /// `$SYS.SERVER.<id>.SHUTDOWN`, the last message the system account sends.
    pub fn shutdown_event(&self, server: &Server) {
        let subject = subjects::shutdown(&server.id);
        if self.has_interest(&self.account, subject.as_bytes()) {
            let info = self.server_info(server);
            self.send(server, &self.account, subject.as_bytes(), &info);
        }
        self.stopped.store(true, Ordering::Release);
    }

    /// Removes every internal subscription (server shutdown).
    pub fn unsubscribe_all(&self) {
        let server = self.server.upgrade();
        for own in self.subs.lock().drain(..) {
            if own.sub.close()
                && let Some(acc) = own.account.upgrade()
            {
                let _ = acc.sublist.remove(&own.sub.subject, None, &own.sub);
                if own.routed
                    && let Some(server) = &server
                {
                    server.routes.local_interest(&acc, &own.sub, -1);
                }
            }
        }
    }

    /// Tells the route layer about the internal subscriptions made before it was enabled, so
    /// peers forward `$SYS` requests and events here (call once clustering is listening).
    pub fn announce_to_routes(&self, server: &Server) {
        for own in self.subs.lock().iter() {
            if own.routed
                && let Some(acc) = own.account.upgrade()
            {
                server.routes.local_interest(&acc, &own.sub, 1);
            }
        }
    }
}

/// A client as events describe it.
fn client_info(v: &ClientView, account: &str, stop: Option<chrono::DateTime<Utc>>) -> ClientInfo {
    ClientInfo {
        start: Some(v.start),
        host: v.ip.clone(),
        id: v.cid,
        account: account.to_string(),
        user: v.meta.user.clone(),
        name: v.meta.name.clone(),
        lang: v.meta.lang.clone(),
        version: v.meta.version.clone(),
        rtt: stop.map(|_| nanos(v.rtt)).unwrap_or(0),
        stop,
        name_tag: account.to_string(),
        kind: CLIENT_KIND.to_string(),
        client_type: CLIENT_TYPE_NATS.to_string(),
        ..Default::default()
    }
}

/// A unique event id: 22 characters of `[0-9A-Za-z]`, as the reference's NUIDs look.
fn event_id() -> String {
    /// The NUID alphabet.
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| DIGITS[fastrand::usize(0..DIGITS.len())] as char)
        .collect()
}
