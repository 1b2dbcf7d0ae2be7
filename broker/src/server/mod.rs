//! The server: identity, options, accounts, the client registry, listeners and shutdown.

mod auth_state;
pub mod info;
mod lame_duck;
mod operator;
mod operator_reload;
mod reload;
mod signals;
pub mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::account::{Account, GLOBAL_ACCOUNT};
use crate::client::{self, ClientShared, CloseReason};
use crate::options::Options;
use info::{CLIENT_PROTO, COMPAT_VERSION, Info, JS_API_LEVEL, RNATS_VERSION};
pub use lame_duck::lame_duck;
pub use reload::{ReloadContext, reload};
pub use signals::{Signals, handle_signals};
use stats::ServerStats;

/// Git commit rnats was built from (set by build.rs).
pub const GIT_COMMIT: &str = env!("RNATS_GIT_COMMIT");
/// Toolchain rnats was built with; reported in INFO's `go` field, which clients only display.
pub const TOOLCHAIN: &str = env!("RNATS_RUSTC_VERSION");

/// A running server.
pub struct Server {
    opts: RwLock<Arc<Options>>,
    pub id: String,
    pub name: String,
    pub xkey: String,
    global: Arc<Account>,
    /// Every account by name, `$G` included: configured, and registered at runtime.
    accounts: RwLock<HashMap<String, Arc<Account>>>,
    /// Names of the accounts the auth state defines (a new state drops those it no longer
    /// names).
    configured: Mutex<Vec<String>>,
    /// Who may connect, as whom, into which account (replaced whole by `set_auth`).
    auth: RwLock<Arc<crate::auth::AuthState>>,
    clients: Mutex<HashMap<u64, Arc<ClientShared>>>,
    next_cid: AtomicU64,
    pub stats: ServerStats,
    pub start: chrono::DateTime<chrono::Utc>,
    pub config_load_time: RwLock<chrono::DateTime<chrono::Utc>>,
    client_addr: RwLock<Option<SocketAddr>>,
    http_addr: RwLock<Option<SocketAddr>>,
    /// Fired to stop accepting and close everything.
    pub shutdown: CancellationToken,
    /// Fired to close the client listener (lame duck mode, shutdown).
    stop_accepting: CancellationToken,
    lame_duck: AtomicBool,
    /// Recently closed connections and close counters, for `/connz` and `/metrics`.
    pub closed: crate::monitor::closed::ClosedClients,
    /// Bumped whenever the options are replaced, so connections re-read their limits.
    options_gen: AtomicU64,
    /// Routes to the other servers of the cluster.
    pub routes: crate::route::Routes,
    /// The system account's services and events, once started (none with
    /// `no_system_account`).
    sys: std::sync::OnceLock<Arc<crate::sys::System>>,
    /// What a reload requested through `$SYS` needs (set by the binary, like SIGHUP's).
    reload_ctx: std::sync::OnceLock<Arc<ReloadContext>>,
    /// Operator mode's trusted keys and account resolver (`None`: not in operator mode).
    trust: RwLock<Option<Arc<crate::auth::jwt::Trust>>>,
    /// Reports accounts' server-made interest to the routes (set once the server exists).
    interest_sink: std::sync::OnceLock<crate::account::InterestSink>,
}

/// The trust of operator-mode options; `None` without operators or when they do not
/// validate (startup validation reports that before a server exists).
fn build_trust(opts: &Options) -> Option<Arc<crate::auth::jwt::Trust>> {
    let op = opts.operator.as_ref().filter(|o| !o.operators.is_empty())?;
    crate::auth::jwt::Trust::new(
        op.operators.clone(),
        opts.system_account.clone(),
        &op.preloads,
    )
    .and_then(|t| t.with_pinned(op.pinned.clone()))
    .map(Arc::new)
    .map_err(|e| tracing::error!("operator mode: {e}"))
    .ok()
}

impl Server {
    pub fn new(opts: Options) -> Arc<Self> {
        let id = nkeys::KeyPair::new_server().public_key();
        let xkey = nkeys::XKey::new().public_key();
        let name = opts.server_name.clone().unwrap_or_else(|| id.clone());
        let global = Account::new(GLOBAL_ACCOUNT, !opts.no_sublist_cache);
        let now = chrono::Utc::now();
        let opts_for_trust = opts.clone();
        let mut accounts = HashMap::new();
        accounts.insert(GLOBAL_ACCOUNT.to_string(), global.clone());
        let server = Arc::new(Server {
            accounts: RwLock::new(accounts),
            configured: Mutex::new(Vec::new()),
            auth: RwLock::new(Arc::new(crate::auth::AuthState::from_options(&opts))),
            opts: RwLock::new(Arc::new(opts)),
            id,
            name,
            xkey,
            global,
            clients: Mutex::new(HashMap::new()),
            next_cid: AtomicU64::new(1),
            stats: ServerStats::default(),
            start: now,
            config_load_time: RwLock::new(now),
            client_addr: RwLock::new(None),
            http_addr: RwLock::new(None),
            shutdown: CancellationToken::new(),
            stop_accepting: CancellationToken::new(),
            lame_duck: AtomicBool::new(false),
            closed: crate::monitor::closed::ClosedClients::new(opts_for_trust.max_closed_clients),
            options_gen: AtomicU64::new(0),
            trust: RwLock::new(build_trust(&opts_for_trust)),
            routes: Default::default(),
            interest_sink: std::sync::OnceLock::new(),
            sys: std::sync::OnceLock::new(),
            reload_ctx: std::sync::OnceLock::new(),
        });
        let weak = Arc::downgrade(&server);
        let sink: crate::account::InterestSink = Arc::new(move |acc, sub, delta| {
            if let Some(s) = weak.upgrade() {
                s.routes.local_interest(acc, sub, delta);
            }
        });
        let _ = server.interest_sink.set(sink);
        server.configure_accounts(&server.auth());
        server
    }

    /// The options in force (a snapshot; reload swaps the whole value).
    pub fn options(&self) -> Arc<Options> {
        self.opts.read().clone()
    }

    /// Replaces the options in force (config reload); the auth state is replaced apart
    /// ([`Server::set_auth`]).
    pub fn set_options(&self, opts: Options) {
        for c in self.clients.lock().values() {
            c.outbound.set_max_pending(opts.max_pending);
        }
        *self.trust.write() = build_trust(&opts);
        *self.opts.write() = Arc::new(opts);
        *self.config_load_time.write() = chrono::Utc::now();
        self.options_gen.fetch_add(1, Ordering::Release);
        self.reinstall_jwt_accounts();
    }

    /// Operator mode's trust (trusted keys, resolver, resolved accounts), if configured.
    pub fn trust(&self) -> Option<Arc<crate::auth::jwt::Trust>> {
        self.trust.read().clone()
    }

    /// Connections bound to `account`, but `except` (a connection id).
    pub fn clients_in_account(&self, account: &Account, except: u64) -> usize {
        self.clients
            .lock()
            .values()
            .filter(|c| c.cid != except && std::ptr::eq(&*c.account(), account))
            .count()
    }

    /// Changes whenever the options are replaced.
    pub fn options_generation(&self) -> u64 {
        self.options_gen.load(Ordering::Acquire)
    }

    /// The system account's services, unless disabled (`no_system_account`).
    pub fn system(&self) -> Option<&Arc<crate::sys::System>> {
        self.sys.get()
    }

    /// Starts the system account (once; later calls return the first one).
    pub fn start_system(self: &Arc<Self>) -> &Arc<crate::sys::System> {
        self.sys.get_or_init(|| crate::sys::start(self))
    }

    /// Lets `$SYS.REQ.SERVER.<id>.RELOAD` reload the configuration as SIGHUP does.
    pub fn set_reload_context(&self, ctx: Arc<ReloadContext>) {
        let _ = self.reload_ctx.set(ctx);
    }

    /// Reloads the configuration (a `$SYS` request); the error is the reason it failed.
    pub fn request_reload(self: &Arc<Self>) -> Result<(), String> {
        let Some(ctx) = self.reload_ctx.get() else {
            return Err("config reload not available".into());
        };
        reload(self, ctx).inspect_err(|err| {
            tracing::error!("Failed to reload server configuration: {err}");
        })
    }

    pub fn global_account(&self) -> Arc<Account> {
        self.global.clone()
    }

    /// The account named `name`, if it exists.
    pub fn lookup_account(&self, name: &str) -> Option<Arc<Account>> {
        self.accounts.read().get(name).cloned()
    }

    /// The account named `name`, created (empty: no users, exports or imports) if it does
    /// not exist yet. For accounts made at runtime (`$SYS`, accounts from JWTs).
    pub fn register_account(&self, name: &str) -> Arc<Account> {
        if let Some(a) = self.lookup_account(name) {
            return a;
        }
        let cache = !self.options().no_sublist_cache;
        let mut created = false;
        let account = self
            .accounts
            .write()
            .entry(name.to_string())
            .or_insert_with(|| {
                created = true;
                Account::new(name, cache)
            })
            .clone();
        if let Some(sink) = self.interest_sink.get() {
            account.set_interest_sink(sink.clone());
        }
        // A new account gets the system account's imports, as every account does.
        if created && let Some(sys) = self.system() {
            sys.import_into(&account);
        }
        account
    }

    /// Every account, sorted by name.
    pub fn accounts(&self) -> Vec<Arc<Account>> {
        let mut all: Vec<_> = self.accounts.read().values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The account a user bound to `name` joins (`None`: `$G`).
    pub fn account_for(&self, name: Option<&str>) -> Arc<Account> {
        match name {
            Some(n) => self.register_account(n),
            None => self.global_account(),
        }
    }

    /// Publishes a message from the server itself into `account` (no client behind it):
    /// delivered to the account's matching subscriptions, client and internal alike.
    pub fn publish_internal(
        &self,
        account: &Account,
        subject: &bytes::Bytes,
        reply: Option<&bytes::Bytes>,
        header_len: usize,
        msg: &bytes::Bytes,
    ) {
        let mut p = client::Publisher::internal();
        p.publish(account, subject, reply, header_len, msg);
        p.flush_targets(self);
    }

    pub fn client_addr(&self) -> Option<SocketAddr> {
        *self.client_addr.read()
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        *self.http_addr.read()
    }

    pub(crate) fn set_http_addr(&self, addr: SocketAddr) {
        *self.http_addr.write() = Some(addr);
    }

    pub fn next_cid(&self) -> u64 {
        self.next_cid.fetch_add(1, Ordering::Relaxed)
    }

    pub fn num_clients(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn clients(&self) -> Vec<Arc<ClientShared>> {
        self.clients.lock().values().cloned().collect()
    }

    pub fn is_lame_duck(&self) -> bool {
        self.lame_duck.load(Ordering::Relaxed)
    }

    /// Adds a connection to the registry; false when `max_connections` is reached.
    pub(crate) fn register_client(&self, c: &Arc<ClientShared>) -> bool {
        let max = self.options().max_connections;
        let mut clients = self.clients.lock();
        if clients.len() >= max {
            return false;
        }
        clients.insert(c.cid, c.clone());
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub(crate) fn unregister_client(&self, c: &ClientShared) {
        self.clients.lock().remove(&c.cid);
    }

    /// The INFO line for a client: the first one (no account) or the one answering the first
    /// PING (`connect_info`, with the account the client is bound to).
    pub fn client_info(
        &self,
        cid: u64,
        client_ip: &str,
        account: Option<&str>,
        ldm: bool,
    ) -> Vec<u8> {
        self.info_line(cid, client_ip, account, ldm, None, None)
    }

    /// [`Server::client_info`] for a client whose payload limit is not the server's (a user or
    /// account JWT set a lower one): INFO shows the client's, as nats-server does.
    pub fn client_info_with_max_payload(
        &self,
        cid: u64,
        client_ip: &str,
        account: Option<&str>,
        max_payload: usize,
    ) -> Vec<u8> {
        self.info_line(cid, client_ip, account, false, None, Some(max_payload))
    }

    /// The first INFO a client gets, with the nonce nkey users must sign (empty: none). Only
    /// this one drops `auth_required` when a `no_auth_user` is set, as nats-server does.
    pub fn first_client_info(&self, cid: u64, client_ip: &str, nonce: &str) -> Vec<u8> {
        self.info_line(cid, client_ip, None, false, Some(nonce), None)
    }

    /// `first` carries the nonce of a connection's first INFO.
    fn info_line(
        &self,
        cid: u64,
        client_ip: &str,
        account: Option<&str>,
        ldm: bool,
        first: Option<&str>,
        max_payload: Option<usize>,
    ) -> Vec<u8> {
        let opts = self.options();
        let auth = self.auth();
        let port = self.client_addr().map(|a| a.port()).unwrap_or(0);
        let cluster = if self.routes.enabled() {
            self.routes.cluster_name()
        } else {
            String::new()
        };
        let connect_urls = self.client_connect_urls();
        let info = Info {
            server_id: &self.id,
            server_name: &self.name,
            version: COMPAT_VERSION,
            proto: CLIENT_PROTO,
            git_commit: GIT_COMMIT,
            go: TOOLCHAIN,
            host: &opts.host,
            port,
            headers: !opts.no_header_support,
            auth_required: auth.auth_required() && (first.is_none() || auth.no_auth_user.is_none()),
            tls_required: opts.tls.is_some(),
            tls_verify: opts.tls.as_ref().is_some_and(|t| t.verify()),
            tls_available: false,
            max_payload: max_payload.unwrap_or(opts.max_payload),
            client_id: cid,
            client_ip,
            nonce: first.unwrap_or_default(),
            cluster: &cluster,
            cluster_dynamic: self.routes.enabled() && self.routes.name_is_dynamic(),
            connect_urls: &connect_urls,
            ldm,
            connect_info: account.is_some(),
            remote_account: account.unwrap_or(""),
            acc_is_sys: account.is_some_and(|a| opts.system_account.as_deref() == Some(a)),
            api_lvl: JS_API_LEVEL,
            xkey: &self.xkey,
            rnats_version: RNATS_VERSION,
        };
        info.to_line()
    }

    /// This server's own client URLs (`host:port`): the advertised address, or the listen
    /// address (each non-loopback interface address for a wildcard listen, as nats-server).
    pub fn own_client_urls(&self) -> Vec<String> {
        let opts = self.options();
        let Some(addr) = self.client_addr() else {
            return Vec::new();
        };
        if let Some(adv) = &opts.client_advertise {
            return vec![if adv.contains(':')
                && !adv.starts_with('[')
                && adv.matches(':').count() == 1
            {
                adv.clone()
            } else {
                format!("{adv}:{}", addr.port())
            }];
        }
        let ip = addr.ip();
        if ip.is_unspecified() {
            let ips = crate::route::dial::interface_ips();
            if !ips.is_empty() {
                return ips
                    .into_iter()
                    .map(|i| std::net::SocketAddr::new(i, addr.port()).to_string())
                    .collect();
            }
        }
        vec![addr.to_string()]
    }

    /// `connect_urls` for client INFO: empty until a peer advertised URLs, then this
    /// server's own followed by the peers' (nats-server's `ClientConnectURLs`).
    pub fn client_connect_urls(&self) -> Vec<String> {
        if !self.routes.enabled() || self.options().cluster.no_advertise {
            return Vec::new();
        }
        let peers = self.routes.peer_client_urls();
        if peers.is_empty() && self.routes.urls_gen.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let mut urls = self.own_client_urls();
        for u in peers {
            if !urls.contains(&u) {
                urls.push(u);
            }
        }
        urls
    }

    /// Sends the current INFO to every client that takes asynchronous INFO (the cluster's
    /// client URLs changed).
    pub fn send_async_info(&self) {
        let ldm = self.is_lame_duck();
        for c in self.clients() {
            if c.async_info() {
                let info = self.client_info(c.cid, &c.addr.ip().to_string(), None, ldm);
                c.outbound.push_proto(&info);
                c.outbound.wake();
            }
        }
    }

    /// Binds the client listener and serves clients until shutdown.
    pub async fn start_clients(self: &Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let opts = self.options();
        let port = opts.port.unwrap_or(0);
        let listener = TcpListener::bind((opts.host.as_str(), port)).await?;
        let addr = listener.local_addr()?;
        *self.client_addr.write() = Some(addr);
        tracing::info!(
            "Listening for client connections on {}",
            host_port(&opts.host, addr)
        );
        crate::tls::log_listener(opts.tls.as_ref());
        let server = self.clone();
        Ok(tokio::spawn(
            async move { server.accept_loop(listener).await },
        ))
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut backoff = std::time::Duration::from_millis(10);
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.stop_accepting.cancelled() => return,
                r = listener.accept() => r,
            };
            match accepted {
                Ok((stream, addr)) => {
                    backoff = std::time::Duration::from_millis(10);
                    let server = self.clone();
                    tokio::spawn(client::serve(server, stream, addr));
                }
                Err(err) => {
                    tracing::error!("Error accepting client connection: {err}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(1));
                }
            }
        }
    }

    /// Enters lame duck mode; false when it already started (or the server is stopping).
    pub(crate) fn begin_lame_duck(&self) -> bool {
        if self.shutdown.is_cancelled() || self.lame_duck.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.stop_accepting.cancel();
        if let Some(sys) = self.system() {
            sys.lame_duck_event(self);
        }
        true
    }

    /// Stops accepting and closes every client.
    pub fn shutdown_now(&self) {
        if !self.shutdown.is_cancelled()
            && let Some(sys) = self.system()
        {
            sys.shutdown_event(self);
        }
        self.shutdown.cancel();
        for c in self.clients() {
            c.close(CloseReason::ServerShutdown);
        }
    }
}

/// `host:port` as nats-server logs it (IPv6 hosts in brackets).
pub fn host_port(host: &str, addr: SocketAddr) -> String {
    if host.contains(':') {
        format!("[{}]:{}", host, addr.port())
    } else {
        format!("{}:{}", host, addr.port())
    }
}
