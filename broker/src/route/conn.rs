//! One route connection: the handshake (INFO/CONNECT both ways, credentials, cluster name,
//! self and duplicate detection), then interest (`RS+`/`RS-`) into the account sublists,
//! routed messages to local subscribers, gossip, PING/PONG, and cleanup on close.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use super::info::{OutConnect, PeerConnect, PeerInfo, route_info};
use super::options::RouteUrl;
use super::parse::{RouteOp, describe, parse};
use super::perms::PeerPerms;
use crate::client::delivery::Publisher;
use crate::client::{ClientShared, CloseReason, writer};
use crate::server::Server;
use crate::subscription::Subscription;

/// First read-buffer size of a route (routes carry bulk traffic, so start larger than clients).
const READ_BUF: usize = 32 * 1024;

/// A remote subscription's key: account, subject, queue.
type RemoteKey = (Bytes, Bytes, Option<Bytes>);

/// One route connection (accepted or solicited).
pub struct Route {
    pub rid: u64,
    /// Outbound queue and close state (the writer task drains it).
    pub shared: Arc<ClientShared>,
    /// This server dialled the connection.
    pub solicited: bool,
    /// The URL dialled (or the peer's route URL, learnt from its INFO).
    pub url: Mutex<Option<RouteUrl>>,
    /// Dialled because it is configured (`Explicit`), not learnt by gossip (`Implicit`).
    pub explicit: bool,
    /// The gossip mode of the INFO that made this server dial (implicit routes).
    pub gossip_mode: u8,
    /// The peer's INFO once the handshake completed.
    remote: OnceLock<PeerInfo>,
    /// Set when a duplicate connection to the same peer was dropped in favour of this one:
    /// when this one closes, reconnect (both servers may have dropped the other's).
    pub retry: AtomicBool,
    /// Set when a reload removed this route's URL from the configuration: do not reconnect.
    pub no_reconnect: AtomicBool,
    remote_subs: Mutex<HashMap<RemoteKey, Arc<Subscription>>>,
    pub start: chrono::DateTime<chrono::Utc>,
    /// The peer's TLS certificate, with route TLS.
    pub peer_cert: OnceLock<CertificateDer<'static>>,
    /// The peer's cluster permissions, from its INFO.
    pub peer_perms: Mutex<PeerPerms>,
}

impl Route {
    pub fn remote(&self) -> Option<&PeerInfo> {
        self.remote.get()
    }

    pub fn remote_id(&self) -> Option<String> {
        self.remote.get().map(|r| r.server_id.clone())
    }

    /// nats-server's log prefix: `127.0.0.1:6222 - rid:3`.
    pub fn label(&self) -> String {
        format!("{} - rid:{}", self.shared.addr, self.rid)
    }

    /// Number of remote subscriptions this peer announced.
    pub fn num_subs(&self) -> usize {
        self.remote_subs.lock().len()
    }

    /// Drops the peer's interest in subjects `keep` refuses (after a reload of the cluster's
    /// `export`).
    pub fn retain_remote_subs(&self, server: &Server, keep: impl Fn(&[u8]) -> bool) {
        let dropped: Vec<_> = {
            let mut subs = self.remote_subs.lock();
            let gone: Vec<RemoteKey> = subs
                .keys()
                .filter(|(_, subject, _)| !keep(subject))
                .cloned()
                .collect();
            gone.into_iter()
                .filter_map(|k| subs.remove(&k).map(|s| (k, s)))
                .collect()
        };
        for ((acc, _, _), sub) in dropped {
            sub.close();
            if let Some(acc) = route_account(server, &acc) {
                let _ = acc.sublist.remove(&sub.subject, sub.queue.as_deref(), &sub);
            }
        }
    }

    /// The peer's subscriptions (`/routez?subs=1`).
    pub fn subjects(&self) -> Vec<String> {
        self.remote_subs
            .lock()
            .keys()
            .map(|(_, s, q)| match q {
                Some(q) => format!(
                    "{} {}",
                    String::from_utf8_lossy(s),
                    String::from_utf8_lossy(q)
                ),
                None => String::from_utf8_lossy(s).into_owned(),
            })
            .collect()
    }
}

/// How this server came to dial a route.
#[derive(Debug, Clone)]
pub struct Dialed {
    pub url: RouteUrl,
    pub explicit: bool,
    pub gossip_mode: u8,
}

/// Serves one route connection until it closes; then maybe reconnects. With route TLS the
/// handshake comes first (this server is the TLS client when it dialled), and nothing is
/// written before it completes.
pub async fn serve(
    server: Arc<Server>,
    stream: TcpStream,
    addr: SocketAddr,
    dialed: Option<Dialed>,
) {
    let _ = stream.set_nodelay(true);
    let rid = server.next_cid();
    let shared = Arc::new(ClientShared::new(
        rid,
        addr,
        &server,
        server.global_account(),
    ));
    shared.set_headers(true);
    let route = Arc::new(Route {
        rid,
        shared: shared.clone(),
        solicited: dialed.is_some(),
        url: Mutex::new(dialed.as_ref().map(|d| d.url.clone())),
        explicit: dialed.as_ref().is_some_and(|d| d.explicit),
        gossip_mode: dialed.as_ref().map_or(0, |d| d.gossip_mode),
        remote: OnceLock::new(),
        retry: AtomicBool::new(false),
        no_reconnect: AtomicBool::new(false),
        remote_subs: Mutex::new(HashMap::new()),
        peer_perms: Mutex::new(PeerPerms::default()),
        start: chrono::Utc::now(),
        peer_cert: OnceLock::new(),
    });
    let opts = server.options();
    let Some(tls) = &opts.cluster.tls else {
        let (rd, wr) = stream.into_split();
        return run(server, route, dialed, rd, wr).await;
    };
    let label = route.label();
    match dialed
        .as_ref()
        .map(|d| server.routes.tls_name_for(&d.url.host))
    {
        None => {
            if let Some((s, session)) = tls.accept(stream, &label).await {
                log_session(&route, &session);
                let (rd, wr) = tokio::io::split(s);
                return run(server, route, dialed, rd, wr).await;
            }
        }
        Some(name) => match tls.connect(stream, &name, &label).await {
            Ok((s, session)) => {
                log_session(&route, &session);
                let (rd, wr) = tokio::io::split(s);
                return run(server, route, dialed, rd, wr).await;
            }
            Err(f) if f.hostname => server.routes.forget_tls_name(&name),
            Err(_) => {}
        },
    }
    shared.close(CloseReason::TlsHandshakeError);
    tracing::info!("{label} - Router connection closed: TLS Handshake Failure");
    super::dial::after_close(&server, &route, false, CloseReason::TlsHandshakeError);
}

/// Logs the finished handshake and keeps the peer's certificate.
fn log_session(route: &Route, s: &crate::tls::TlsSession) {
    if let Some(c) = s.peer_certs.first() {
        let _ = route.peer_cert.set(c.clone());
    }
    let label = route.label();
    tracing::debug!("{label} - TLS handshake complete");
    tracing::debug!(
        "{label} - TLS version {}, cipher suite {}",
        s.version,
        s.cipher
    );
}

/// The route protocol over an established (plain or TLS) connection.
async fn run<R, W>(server: Arc<Server>, route: Arc<Route>, dialed: Option<Dialed>, rd: R, wr: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = route.shared.clone();
    let opts = server.options();
    let tls_required = opts.cluster.tls.is_some();
    let writer = tokio::spawn(writer::run(shared.clone(), wr, opts.write_deadline));
    if let Some(d) = &dialed {
        let c = &opts.cluster;
        let user = d
            .url
            .user
            .as_deref()
            .or(c.username.as_deref())
            .unwrap_or("");
        let pass = d
            .url
            .pass
            .as_deref()
            .or(c.password.as_deref())
            .unwrap_or("");
        let name = server.routes.cluster_name();
        let connect = OutConnect {
            echo: true,
            verbose: false,
            pedantic: false,
            user,
            pass,
            tls_required,
            headers: true,
            name: &server.id,
            cluster: &name,
            cluster_dynamic: server.routes.name_is_dynamic(),
        };
        shared.outbound.push_proto(&connect.to_line());
    }
    shared
        .outbound
        .push_proto(&route_info(&server, dialed.is_none()));
    shared.outbound.wake();
    tracing::info!("{} - Route connection created", route.label());

    let mut conn = RouteConn {
        server: server.clone(),
        route: route.clone(),
        publisher: Publisher::new(shared.clone()),
        got_connect: dialed.is_some(),
        registered: false,
        pings_out: 0,
        in_msgs: 0,
        in_bytes: 0,
        last_account: None,
    };
    conn.run(rd).await;
    conn.cleanup();
    let _ = writer.await;
    let reason = shared.close_reason().unwrap_or(CloseReason::ClientClosed);
    tracing::info!(
        "{} - Router connection closed: {}",
        route.label(),
        reason.as_str()
    );
    super::dial::after_close(&server, &route, conn.registered, reason);
}

struct RouteConn {
    server: Arc<Server>,
    route: Arc<Route>,
    publisher: Publisher,
    got_connect: bool,
    registered: bool,
    pings_out: u32,
    in_msgs: u64,
    in_bytes: u64,
    /// The account of the last routed message, by name.
    last_account: Option<(Bytes, Arc<crate::account::Account>)>,
}

impl RouteConn {
    async fn run<R: AsyncRead + Unpin>(&mut self, mut rd: R) {
        let opts = self.server.options();
        let c = &opts.cluster;
        let mut buf = BytesMut::with_capacity(READ_BUF);
        let ping_every = c.ping_interval.min(super::options::ROUTE_MAX_PING_INTERVAL);
        let ping = tokio::time::sleep(first_ping(ping_every));
        tokio::pin!(ping);
        let auth = tokio::time::sleep(c.auth_timeout);
        tokio::pin!(auth);
        // nats-server starts the auth timer on accepted routes only when route authorization
        // is configured (`authRequired && !didSolicit`).
        let auth_on = !self.route.solicited && c.auth_required();
        let shared = self.route.shared.clone();
        loop {
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_BUF);
            }
            tokio::select! {
                biased;
                _ = shared.cancel.cancelled() => return,
                _ = self.server.shutdown.cancelled() => {
                    shared.close(CloseReason::ServerShutdown);
                    return;
                }
                res = rd.read_buf(&mut buf) => match res {
                    Ok(0) => {
                        shared.close(CloseReason::ClientClosed);
                        return;
                    }
                    Ok(_) => {
                        self.publisher.refresh_trace();
                        let open = self.process(&mut buf);
                        self.end_of_batch();
                        if !open {
                            return;
                        }
                        self.publisher.stall().await;
                    }
                    Err(_) => {
                        shared.close(CloseReason::ReadError);
                        return;
                    }
                },
                _ = &mut auth, if auth_on && !self.registered => {
                    self.send_err("Authentication Timeout");
                    tracing::error!("{} - Authentication Timeout", self.route.label());
                    shared.close(CloseReason::AuthenticationTimeout);
                    return;
                }
                _ = &mut ping => {
                    if self.pings_out + 1 > c.ping_max {
                        self.send_err("Stale Connection");
                        tracing::debug!("{} - Stale Route Connection - Closing", self.route.label());
                        shared.close(CloseReason::StaleConnection);
                        return;
                    }
                    self.pings_out += 1;
                    shared.activity.ping_sent();
                    shared.outbound.push_proto(b"PING\r\n");
                    shared.outbound.wake();
                    ping.as_mut().reset(tokio::time::Instant::now() + ping_every);
                }
            }
        }
    }

    fn send_err(&self, text: &str) {
        let line = format!("-ERR '{text}'\r\n");
        self.route.shared.outbound.push_proto(line.as_bytes());
        self.route.shared.outbound.wake();
    }

    fn process(&mut self, buf: &mut BytesMut) -> bool {
        loop {
            // An accepted route must start with CONNECT: anything else (a TLS ClientHello from
            // a peer configured for route TLS, an INFO) is an authorization violation, as in
            // nats-server's parser (`awaitingAuth`).
            if !self.got_connect && buf.first().is_some_and(|b| !matches!(b, b'C' | b'c')) {
                self.send_err("Authorization Violation");
                tracing::error!("{} - authentication error", self.route.label());
                self.route
                    .shared
                    .close(CloseReason::AuthenticationViolation);
                return false;
            }
            match parse(buf) {
                Ok(Some(op)) => {
                    tracing::trace!("{} - <<- {}", self.route.label(), describe(&op));
                    if !self.handle(op) {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(err) => {
                    tracing::error!("{} - Route Error {err}", self.route.label());
                    self.route.shared.close(CloseReason::ParseError);
                    return false;
                }
            }
        }
    }

    fn end_of_batch(&mut self) {
        self.publisher.flush_targets(&self.server);
        if self.in_msgs > 0 {
            let s = &self.route.shared.stats;
            s.in_msgs.fetch_add(self.in_msgs, Ordering::Relaxed);
            s.in_bytes.fetch_add(self.in_bytes, Ordering::Relaxed);
            let st = &self.server.stats;
            st.in_msgs.fetch_add(self.in_msgs, Ordering::Relaxed);
            st.in_bytes.fetch_add(self.in_bytes, Ordering::Relaxed);
            self.in_msgs = 0;
            self.in_bytes = 0;
        }
        self.route.shared.activity.touch();
    }

    fn handle(&mut self, op: RouteOp) -> bool {
        match op {
            RouteOp::Ping => {
                self.route.shared.outbound.push_proto(b"PONG\r\n");
                self.publisher.mark_self();
                true
            }
            RouteOp::Pong => {
                self.pings_out = 0;
                self.route.shared.activity.pong_received();
                true
            }
            RouteOp::Ok => true,
            RouteOp::Err(text) => {
                tracing::error!(
                    "{} - Router Error {}",
                    self.route.label(),
                    String::from_utf8_lossy(&text)
                );
                self.route.shared.close(CloseReason::ClientClosed);
                false
            }
            RouteOp::Connect(json) => self.connect(&json),
            RouteOp::Info(json) => self.info(&json),
            _ if !self.registered => {
                // Interest or messages before the handshake completed.
                tracing::error!("{} - Route protocol before INFO", self.route.label());
                self.route.shared.close(CloseReason::ProtocolViolation);
                false
            }
            RouteOp::Sub {
                account,
                subject,
                queue,
            } => {
                self.remote_sub(account, subject, queue);
                true
            }
            RouteOp::Unsub {
                account,
                subject,
                queue,
            } => {
                self.remote_unsub(account, subject, queue);
                true
            }
            RouteOp::Msg {
                account,
                subject,
                reply,
                queues,
                header_len,
                message,
            } => {
                self.in_msgs += 1;
                self.in_bytes += message.len() as u64;
                // The last account is kept: a route usually carries one account's traffic
                // in runs, and the lookup takes the registry's lock.
                let acc = match &self.last_account {
                    Some((name, acc)) if *name == account => acc.clone(),
                    _ => {
                        let Some(acc) = route_account(&self.server, &account) else {
                            return true;
                        };
                        self.last_account = Some((account, acc.clone()));
                        acc
                    }
                };
                self.publisher.publish_routed(
                    &acc,
                    &subject,
                    reply.as_ref(),
                    header_len,
                    &message,
                    &queues,
                );
                true
            }
        }
    }

    /// The peer's CONNECT (accept side): credentials and cluster name.
    fn connect(&mut self, json: &[u8]) -> bool {
        let Ok(c) = serde_json::from_slice::<PeerConnect>(json) else {
            self.route.shared.close(CloseReason::ProtocolViolation);
            return false;
        };
        if !c.lang.is_empty() {
            self.send_err("Rejecting connection from a client on the route port");
            self.route.shared.close(CloseReason::ProtocolViolation);
            return false;
        }
        let opts = self.server.options();
        let co = &opts.cluster;
        let by_cert = super::certauth::authorized(co, self.route.peer_cert.get());
        if by_cert == Some(false) {
            self.send_err("Authorization Violation");
            tracing::error!(
                "{} - authentication error - User {:?}",
                self.route.label(),
                c.user
            );
            self.route
                .shared
                .close(CloseReason::AuthenticationViolation);
            return false;
        }
        if let (None, Some(user)) = (by_cert, &co.username) {
            let pass = co.password.as_deref().unwrap_or("");
            if c.user != *user || !crate::auth::password_matches(pass, &c.pass) {
                self.send_err("Authorization Violation");
                tracing::error!(
                    "{} - authentication error - User {:?}",
                    self.route.label(),
                    c.user
                );
                self.route
                    .shared
                    .close(CloseReason::AuthenticationViolation);
                return false;
            }
        }
        let ours = self.server.routes.cluster_name();
        if !c.cluster.is_empty() && c.cluster != ours && !self.server.routes.name_is_dynamic() {
            let text = format!(
                "Rejecting connection, cluster name {:?} does not match {:?}",
                c.cluster, ours
            );
            tracing::error!("{} - {text}", self.route.label());
            self.send_err(&text);
            self.route.shared.close(CloseReason::ClusterNameConflict);
            return false;
        }
        self.got_connect = true;
        true
    }

    /// An INFO: the handshake's, or later a gossiped peer or a lame duck notice.
    fn info(&mut self, json: &[u8]) -> bool {
        let Ok(raw) = serde_json::from_slice::<serde_json::Value>(json) else {
            self.route.shared.close(CloseReason::ProtocolViolation);
            return false;
        };
        let Ok(info) = serde_json::from_value::<PeerInfo>(raw.clone()) else {
            self.route.shared.close(CloseReason::ProtocolViolation);
            return false;
        };
        if self.registered {
            let own = self.route.remote_id().unwrap_or_default();
            if info.server_id != own {
                super::dial::implicit(&self.server, &info);
            } else if info.ldm {
                if self.server.routes.remove_peer_urls(&own) {
                    self.server.send_async_info();
                }
            } else {
                super::perms::later_info(&self.server, &self.route, &info);
            }
            return true;
        }
        if !self.got_connect {
            self.route.shared.close(CloseReason::ProtocolViolation);
            return false;
        }
        self.first_info(info, raw)
    }

    fn first_info(&mut self, mut info: PeerInfo, mut raw: serde_json::Value) -> bool {
        let routes = &self.server.routes;
        if info.server_id == self.server.id {
            tracing::debug!("{} - Detected route to self, ignoring", self.route.label());
            if let Some(u) = self.route.url.lock().as_ref() {
                routes.self_addrs.lock().insert(u.addr());
            }
            self.route.shared.close(CloseReason::DuplicateRoute);
            return false;
        }
        let ours = routes.cluster_name();
        if !info.cluster.is_empty() && info.cluster != ours {
            if routes.name_is_dynamic() && (!info.cluster_dynamic || ours < info.cluster) {
                routes.adopt_name(&info.cluster);
            } else {
                tracing::error!(
                    "{} - Rejecting connection, cluster name {:?} does not match {:?}",
                    self.route.label(),
                    info.cluster,
                    ours
                );
                self.route.shared.close(CloseReason::ClusterNameConflict);
                return false;
            }
        }
        if !self.route.solicited && info.server_name == self.server.name {
            tracing::error!(
                "{} - Remote server has a duplicate name: {:?}",
                self.route.label(),
                info.server_name
            );
            self.route.shared.close(CloseReason::DuplicateServerName);
            return false;
        }
        if !info.route_account.is_empty() || info.route_pool_idx > 0 {
            // A pooled or per-account connection: rnats keeps one connection per peer, as
            // it told the peer (no `route_pool_size`); nats-server does not open these then.
            tracing::debug!(
                "{} - Ignoring pooled route connection (pool index {}, account {:?})",
                self.route.label(),
                info.route_pool_idx,
                info.route_account
            );
            self.route.shared.close(CloseReason::DuplicateRoute);
            return false;
        }
        // The peer's route URL as seen from here, unless it advertises one: gossip carries
        // it so other servers can dial the peer (nats-server fills `ip` the same way).
        if info.ip.is_empty() {
            let ip = self.route.shared.addr.ip();
            let host = if ip.is_ipv6() {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            info.ip = format!("nats-route://{host}:{}/", info.port);
            if let Some(m) = raw.as_object_mut() {
                m.insert("ip".into(), info.ip.clone().into());
            }
        }
        if self.route.url.lock().is_none() {
            *self.route.url.lock() = RouteUrl::parse(&info.ip).ok();
        }
        let _ = self.route.remote.set(info.clone());
        super::perms::first_info(&self.route, &info);
        match routes.register(&self.server, &self.route, &info) {
            Ok(()) => {
                self.registered = true;
                tracing::debug!(
                    "{} - Registering remote route {:?}",
                    self.route.label(),
                    info.server_id
                );
                routes.gossip(&self.route, &info, &raw);
                if !info.connect_urls.is_empty() && !self.server.options().cluster.no_advertise {
                    self.server.send_async_info();
                }
                true
            }
            Err(existing) => {
                tracing::debug!(
                    "{} - Detected duplicate remote route {:?}",
                    self.route.label(),
                    info.server_id
                );
                existing.retry.store(true, Ordering::Relaxed);
                self.route.shared.close(CloseReason::DuplicateRoute);
                false
            }
        }
    }

    fn remote_sub(&mut self, account: Bytes, subject: Bytes, queue: Option<(Bytes, u32)>) {
        let Some(acc) = route_account(&self.server, &account) else {
            tracing::trace!(
                "{} - Unknown account {:?} for remote subject {:?}",
                self.route.label(),
                String::from_utf8_lossy(&account),
                String::from_utf8_lossy(&subject)
            );
            return;
        };
        if !self.server.routes.can_export(&subject) {
            tracing::debug!(
                "{} - Can not export {:?}, ignoring remote subscription request",
                self.route.label(),
                String::from_utf8_lossy(&subject)
            );
            return;
        }
        let (qname, weight) = match queue {
            Some((q, w)) => (Some(q), w),
            None => (None, 1),
        };
        let key = (account, subject.clone(), qname.clone());
        let mut subs = self.route.remote_subs.lock();
        if let Some(existing) = subs.get(&key) {
            existing.set_weight(weight);
            return;
        }
        let sub = Arc::new(Subscription::new_route(
            self.route.shared.clone(),
            subject,
            qname,
            weight,
        ));
        if acc
            .sublist
            .insert(&sub.subject, sub.queue.as_deref(), sub.clone())
            .is_ok()
        {
            subs.insert(key, sub);
        }
    }

    fn remote_unsub(&mut self, account: Bytes, subject: Bytes, queue: Option<Bytes>) {
        let key = (account, subject, queue);
        let Some(sub) = self.route.remote_subs.lock().remove(&key) else {
            return;
        };
        sub.close();
        if let Some(acc) = route_account(&self.server, &key.0) {
            let _ = acc.sublist.remove(&sub.subject, sub.queue.as_deref(), &sub);
        }
    }

    /// Unregisters the route and drops the peer's interest.
    fn cleanup(&mut self) {
        if self.registered && self.server.routes.unregister(&self.route) {
            self.server.send_async_info();
        }
        let subs: Vec<_> = self.route.remote_subs.lock().drain().collect();
        for ((acc, _, _), sub) in subs {
            sub.close();
            if let Some(acc) = route_account(&self.server, &acc) {
                let _ = acc.sublist.remove(&sub.subject, sub.queue.as_deref(), &sub);
            }
        }
    }
}

/// The account a peer names. In operator mode an account this server has not loaded yet is
/// created empty, as nats-server does for a JWT resolver, so interest is not lost; with
/// static accounts an unknown name is ignored.
fn route_account(server: &Server, name: &[u8]) -> Option<Arc<crate::account::Account>> {
    let name = std::str::from_utf8(name).ok()?;
    if let Some(a) = server.lookup_account(name) {
        return Some(a);
    }
    let is_account_key = name.len() == 56 && name.starts_with('A');
    (is_account_key && server.trust().is_some()).then(|| server.register_account(name))
}

/// The first route PING goes out sooner than the interval, so RTT and liveness are known
/// early (nats-server's `firstPingInterval`), with up to 20% jitter.
fn first_ping(interval: Duration) -> Duration {
    let base = interval.min(Duration::from_secs(2));
    let jitter = fastrand::u64(0..=(base.as_millis() as u64 / 5).max(1));
    base + Duration::from_millis(jitter)
}
