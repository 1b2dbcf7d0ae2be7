//! The server's routes: registered peers by server ID, the local interest they were told
//! about (`RS+`/`RS-` aggregated per account, subject and queue), and the client URLs that
//! peers advertise (pushed to clients as asynchronous INFO).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use super::conn::Route;
use super::info::{GOSSIP_DEFAULT, GOSSIP_DISABLED, GOSSIP_OVERRIDE, PeerInfo, gossip_line};
use crate::account::Account;
use crate::permissions::Permissions;
use crate::server::Server;
use crate::subscription::Subscription;

/// Local interest as peers know it: (account, subject, queue) → local subscription count.
type InterestKey = (String, Bytes, Option<Bytes>);

#[derive(Default)]
struct State {
    /// Registered routes by remote server ID (one connection per peer: no pooling).
    peers: HashMap<String, Arc<Route>>,
    /// Local subscription counts; a plain subject is announced on 0→1 and withdrawn on
    /// 1→0, a queue group re-announced with its new member count on every change.
    interest: HashMap<InterestKey, u32>,
    /// Route addresses being dialled (to not dial a gossiped peer twice), each with whether
    /// gossip asked for it again meanwhile (then a failed dialler tries once more).
    dialing: HashMap<String, bool>,
    /// Client URLs advertised by each peer (`connect_urls` of its INFO).
    peer_urls: Vec<(String, Vec<String>)>,
    /// Stream imports as interest of the exporting account (counted in `interest` too): a
    /// peer then routes the exporter's messages here, where they reach the importers.
    imports: HashSet<(String, Bytes)>,
    /// `cluster { permissions }`: interest in subjects outside `import` is not announced.
    perms: Option<Arc<Permissions>>,
}

/// nats-server's `canImport`: whether this server announces interest in `subject` to peers.
fn can_import(perms: Option<&Permissions>, subject: &[u8]) -> bool {
    perms.is_none_or(|p| p.can_publish(subject))
}

/// nats-server's `canExport` for `perms`: whether a peer's interest in `subject` is accepted.
pub(crate) fn can_export(perms: Option<&Permissions>, subject: &[u8]) -> bool {
    perms.is_none_or(|p| p.can_subscribe(subject, None))
}

/// The route registry of one server.
pub struct Routes {
    state: Mutex<State>,
    enabled: AtomicBool,
    listen_addr: RwLock<Option<SocketAddr>>,
    /// The cluster name: configured, adopted from a peer, or random (dynamic).
    name: RwLock<String>,
    dynamic: AtomicBool,
    /// Configured route addresses found to be this server itself (never dialled again).
    pub(crate) self_addrs: Mutex<HashSet<String>>,
    /// Route URLs this server advertises in INFO (`ip`), when `advertise` is set.
    pub(crate) advertise_ip: RwLock<String>,
    /// Bumped when the client URLs change (so client INFO is rebuilt).
    pub(crate) urls_gen: AtomicU64,
    /// The first hostname among the configured routes (`routeTLSName`): the name a TLS route
    /// dialled by IP (learnt by gossip) checks the server's certificate against.
    tls_name: RwLock<String>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            state: Mutex::new(State::default()),
            enabled: AtomicBool::new(false),
            listen_addr: RwLock::new(None),
            name: RwLock::new(String::new()),
            dynamic: AtomicBool::new(false),
            self_addrs: Mutex::new(HashSet::new()),
            advertise_ip: RwLock::new(String::new()),
            urls_gen: AtomicU64::new(0),
            tls_name: RwLock::new(String::new()),
        }
    }
}

impl Routes {
    /// nats-server's `saveRouteTLSName`: keeps the first configured route host that is not
    /// an IP address.
    pub(crate) fn save_tls_name(&self, hosts: impl IntoIterator<Item = String>) {
        let mut name = self.tls_name.write();
        if name.is_empty()
            && let Some(h) = hosts.into_iter().find(|h| h.parse::<IpAddr>().is_err())
        {
            *name = h;
        }
    }

    /// The name to verify a dialled route's certificate against: the host, or the saved
    /// route TLS name when the host is an IP address.
    pub(crate) fn tls_name_for(&self, host: &str) -> String {
        let saved = self.tls_name.read();
        if !saved.is_empty() && host.parse::<IpAddr>().is_ok() {
            saved.clone()
        } else {
            host.to_string()
        }
    }

    /// A handshake failed on the name: forget it if it was the saved one (nats-server resets
    /// `routeTLSName`, nats-server issue 1256).
    pub(crate) fn forget_tls_name(&self, name: &str) {
        let mut saved = self.tls_name.write();
        if *saved == name {
            saved.clear();
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn enable(&self, name: Option<&str>, addr: SocketAddr) {
        match name {
            Some(n) => *self.name.write() = n.to_string(),
            None => {
                *self.name.write() = nkeys::KeyPair::new_server().public_key()[..22].to_string();
                self.dynamic.store(true, Ordering::Relaxed);
            }
        }
        *self.listen_addr.write() = Some(addr);
        self.enabled.store(true, Ordering::Release);
    }

    pub fn listen_addr(&self) -> Option<SocketAddr> {
        *self.listen_addr.read()
    }

    pub fn cluster_name(&self) -> String {
        self.name.read().clone()
    }

    pub fn name_is_dynamic(&self) -> bool {
        self.dynamic.load(Ordering::Relaxed)
    }

    /// Takes a peer's cluster name (nats-server's `setClusterName` for a dynamic name).
    pub(crate) fn adopt_name(&self, name: &str) {
        *self.name.write() = name.to_string();
        self.dynamic.store(false, Ordering::Relaxed);
        tracing::info!("Cluster name updated to {name}");
    }

    pub fn routes(&self) -> Vec<Arc<Route>> {
        self.state.lock().peers.values().cloned().collect()
    }

    pub fn num_routes(&self) -> usize {
        self.state.lock().peers.len()
    }

    pub fn has_peer(&self, id: &str) -> bool {
        self.state.lock().peers.contains_key(id)
    }

    /// Marks `addr` as being dialled; false when it already is (the dialler is then asked
    /// to try again if it fails).
    pub(crate) fn start_dialing(&self, addr: &str) -> bool {
        let mut st = self.state.lock();
        match st.dialing.get_mut(addr) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                st.dialing.insert(addr.to_string(), false);
                true
            }
        }
    }

    /// Ends dialling `addr`; true when it was asked for again meanwhile (a peer gossiped
    /// it while the attempt was failing, e.g. right as a partition healed).
    pub(crate) fn stop_dialing(&self, addr: &str) -> bool {
        self.state.lock().dialing.remove(addr).unwrap_or(false)
    }

    /// Whether `addr` was asked for again while being dialled (and clears the mark).
    pub(crate) fn asked_again(&self, addr: &str) -> bool {
        self.state
            .lock()
            .dialing
            .get_mut(addr)
            .is_some_and(std::mem::take)
    }

    /// Client URLs of every peer, in registration order (for client INFO).
    pub fn peer_client_urls(&self) -> Vec<String> {
        let st = self.state.lock();
        let mut out: Vec<String> = Vec::new();
        for (_, urls) in &st.peer_urls {
            for u in urls {
                if !out.contains(u) {
                    out.push(u.clone());
                }
            }
        }
        out
    }

    /// Registers `route` for its peer and sends it all local interest, or returns the route
    /// already registered for that peer (the new one is then a duplicate).
    pub(crate) fn register(
        &self,
        server: &Server,
        route: &Arc<Route>,
        info: &PeerInfo,
    ) -> Result<(), Arc<Route>> {
        let mut st = self.state.lock();
        if let Some(existing) = st.peers.get(&info.server_id) {
            return Err(existing.clone());
        }
        st.peers.insert(info.server_id.clone(), route.clone());
        // All local interest, under the same lock as interest changes so none is lost.
        let mut dump = Vec::new();
        for ((acc, subject, queue), n) in &st.interest {
            if can_import(st.perms.as_deref(), subject) {
                interest_line(&mut dump, true, acc, subject, queue.as_ref(), *n);
            }
        }
        if !dump.is_empty() {
            route.shared.outbound.push_proto(&dump);
        }
        if !info.connect_urls.is_empty() && !server.options().cluster.no_advertise {
            st.peer_urls
                .push((info.server_id.clone(), info.connect_urls.clone()));
            self.urls_gen.fetch_add(1, Ordering::Release);
        }
        route.shared.outbound.wake();
        Ok(())
    }

    /// Forwards a newly registered peer's INFO to the other routes, so they connect to it
    /// (nats-server's `forwardNewRouteInfoToKnownServers`).
    pub(crate) fn gossip(&self, route: &Route, info: &PeerInfo, raw: &serde_json::Value) {
        let from_gossip = route.solicited && !route.explicit;
        if (from_gossip && route.gossip_mode != GOSSIP_OVERRIDE)
            || info.gossip_mode == GOSSIP_DISABLED
        {
            return;
        }
        let st = self.state.lock();
        for (id, r) in &st.peers {
            if *id == info.server_id {
                continue;
            }
            let mode = if (!route.solicited && r.explicit) || (route.solicited && route.explicit) {
                GOSSIP_OVERRIDE
            } else if !route.solicited {
                GOSSIP_DISABLED
            } else {
                GOSSIP_DEFAULT
            };
            r.shared.outbound.push_proto(&gossip_line(raw, mode));
            r.shared.outbound.wake();
        }
    }

    /// Removes `route` if it is the one registered for its peer; its client URLs go too.
    /// True when it was registered.
    pub(crate) fn unregister(&self, route: &Arc<Route>) -> bool {
        let Some(id) = route.remote_id() else {
            return false;
        };
        let mut st = self.state.lock();
        if !st.peers.get(&id).is_some_and(|r| Arc::ptr_eq(r, route)) {
            return false;
        }
        st.peers.remove(&id);
        let before = st.peer_urls.len();
        st.peer_urls.retain(|(pid, _)| *pid != id);
        if st.peer_urls.len() != before {
            self.urls_gen.fetch_add(1, Ordering::Release);
        }
        true
    }

    /// A peer entered lame duck mode: its client URLs are withdrawn.
    pub(crate) fn remove_peer_urls(&self, id: &str) -> bool {
        let mut st = self.state.lock();
        let before = st.peer_urls.len();
        st.peer_urls.retain(|(pid, _)| pid != id);
        let changed = st.peer_urls.len() != before;
        if changed {
            self.urls_gen.fetch_add(1, Ordering::Release);
        }
        changed
    }

    /// The stream imports of `accounts` become interest of their exporters (announced to
    /// peers as plain subscriptions); those of a previous configuration are withdrawn.
    pub fn set_import_interest(&self, accounts: &[Arc<Account>]) {
        let mut want: HashSet<(String, Bytes)> = HashSet::new();
        for a in accounts {
            if let Some(routes) = a.stream_routes() {
                for r in routes.iter() {
                    want.insert((a.name.clone(), r.from.clone()));
                }
            }
        }
        let mut st = self.state.lock();
        let old = std::mem::take(&mut st.imports);
        let mut lines = Vec::new();
        for (acc, subject) in old.difference(&want) {
            bump(
                &mut st,
                (acc.clone(), subject.clone(), None),
                -1,
                &mut lines,
            );
        }
        for (acc, subject) in want.difference(&old) {
            bump(&mut st, (acc.clone(), subject.clone(), None), 1, &mut lines);
        }
        st.imports = want;
        if !lines.is_empty() {
            for r in st.peers.values() {
                r.shared.outbound.push_proto(&lines);
                r.shared.outbound.wake();
            }
        }
    }

    /// Whether a peer's interest in `subject` is accepted (`cluster { permissions { export } }`).
    pub fn can_export(&self, subject: &[u8]) -> bool {
        can_export(self.state.lock().perms.as_deref(), subject)
    }

    /// Sets the cluster's permissions (at start and on a reload). Returns the `RS+`/`RS-`
    /// every peer must get for the local interest the change lets through or holds back
    /// (nats-server's `reloadClusterPermissions`).
    pub(crate) fn set_permissions(&self, perms: Option<Arc<Permissions>>) -> Vec<u8> {
        let mut st = self.state.lock();
        let old = std::mem::replace(&mut st.perms, perms);
        let mut lines = Vec::new();
        for ((acc, subject, queue), n) in &st.interest {
            let then = can_import(old.as_deref(), subject);
            let now = can_import(st.perms.as_deref(), subject);
            if then != now {
                interest_line(&mut lines, now, acc, subject, queue.as_ref(), *n);
            }
        }
        lines
    }

    /// A peer's `export` changed (its INFO after a reload): the local interest it now accepts
    /// and did not before is announced again (nats-server's `updateRemoteRoutePerms`).
    pub(crate) fn export_widened(
        &self,
        route: &Route,
        old: Option<&Permissions>,
        new: Option<&Permissions>,
    ) {
        let st = self.state.lock();
        let mut lines = Vec::new();
        for ((acc, subject, queue), n) in &st.interest {
            if can_export(new, subject)
                && !can_export(old, subject)
                && can_import(st.perms.as_deref(), subject)
            {
                interest_line(&mut lines, true, acc, subject, queue.as_ref(), *n);
            }
        }
        if !lines.is_empty() {
            route.shared.outbound.push_proto(&lines);
            route.shared.outbound.wake();
        }
    }

    /// A local subscription was added (`delta` 1) or removed (-1): tells every peer when the
    /// aggregate interest changes.
    pub fn local_interest(&self, account: &Account, sub: &Subscription, delta: i32) {
        if !self.enabled() || sub.is_route() {
            return;
        }
        let key = (account.name.clone(), sub.subject.clone(), sub.queue.clone());
        let mut st = self.state.lock();
        let mut line = Vec::new();
        bump(&mut st, key, delta, &mut line);
        if line.is_empty() {
            return;
        }
        for r in st.peers.values() {
            r.shared.outbound.push_proto(&line);
            r.shared.outbound.wake();
        }
    }
}

/// Adds `delta` to the local count of `key`; appends the `RS+`/`RS-` peers must get, if any.
fn bump(st: &mut State, key: InterestKey, delta: i32, out: &mut Vec<u8>) {
    {
        let n = st.interest.get(&key).copied().unwrap_or(0);
        let new = if delta > 0 {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if new == n {
            return;
        }
        let (acc, subject, queue) = &key;
        let announce = match queue {
            None => (n == 0) != (new == 0),
            Some(_) => true,
        };
        if announce && can_import(st.perms.as_deref(), subject) {
            interest_line(out, new > 0, acc, subject, queue.as_ref(), new);
        }
        if new == 0 {
            st.interest.remove(&key);
        } else {
            st.interest.insert(key, new);
        }
    }
}

/// `RS+ <acc> <subject>[ <queue> <weight>]` or `RS- <acc> <subject>[ <queue>]`.
fn interest_line(
    out: &mut Vec<u8>,
    add: bool,
    acc: &str,
    subject: &[u8],
    queue: Option<&Bytes>,
    weight: u32,
) {
    out.extend_from_slice(if add { b"RS+ " } else { b"RS- " });
    out.extend_from_slice(acc.as_bytes());
    out.push(b' ');
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        if add {
            out.push(b' ');
            out.extend_from_slice(weight.to_string().as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::interest_line;
    use bytes::Bytes;

    #[test]
    fn interest_lines_as_nats_server() {
        let mut out = Vec::new();
        interest_line(&mut out, true, "$G", b"foo", None, 1);
        interest_line(
            &mut out,
            true,
            "$G",
            b"w",
            Some(&Bytes::from_static(b"g")),
            3,
        );
        interest_line(
            &mut out,
            false,
            "$G",
            b"w",
            Some(&Bytes::from_static(b"g")),
            0,
        );
        interest_line(&mut out, false, "$G", b"foo", None, 0);
        assert_eq!(
            out,
            b"RS+ $G foo\r\nRS+ $G w g 3\r\nRS- $G w g\r\nRS- $G foo\r\n".to_vec()
        );
    }
}
