//! Soliciting routes: configured (explicit) routes dialled until they connect, routes learnt by
//! gossip (implicit) dialled `connect_retries` + 1 times, and reconnects after a close, with
//! nats-server's delays and error reports.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpStream;

use super::conn::{Dialed, Route};
use super::info::PeerInfo;
use super::options::RouteUrl;
use crate::client::CloseReason;
use crate::server::Server;

/// Dial timeout for a route (`DEFAULT_ROUTE_DIAL`).
const ROUTE_DIAL: Duration = Duration::from_secs(1);
/// Delay between two attempts to reach a route (`DEFAULT_ROUTE_CONNECT`).
const ROUTE_CONNECT_DELAY: Duration = Duration::from_secs(1);
/// Extra delay before reconnecting an explicit route after a close
/// (`DEFAULT_ROUTE_RECONNECT`).
const ROUTE_RECONNECT: Duration = Duration::from_secs(1);
/// Random delay added before a reconnect so that two servers that dropped each other's
/// duplicate do not collide again (nats-server adds up to 100 ms).
const RECONNECT_JITTER_MS: u64 = 100;

/// Starts dialling every configured route.
pub fn solicit_configured(server: &Arc<Server>) {
    let routes = server.options().cluster.routes.clone();
    solicit(server, routes);
}

/// Starts dialling `routes`, configured routes (at start, or added by a reload).
pub fn solicit(server: &Arc<Server>, routes: Vec<RouteUrl>) {
    server
        .routes
        .save_tls_name(routes.iter().map(|r| r.host.clone()));
    for url in routes {
        let server = server.clone();
        tokio::spawn(async move {
            connect(
                server,
                Dialed {
                    url,
                    explicit: true,
                    gossip_mode: 0,
                },
                true,
            )
            .await
        });
    }
}

/// A peer told us about another server: dial it unless connected, configured or ourselves
/// (nats-server's `processImplicitRoute`).
pub fn implicit(server: &Arc<Server>, info: &PeerInfo) {
    if info.server_id == server.id
        || server.routes.has_peer(&info.server_id)
        || !info.route_account.is_empty()
    {
        return;
    }
    let url = if !info.ip.is_empty() {
        RouteUrl::parse(&info.ip).ok()
    } else {
        RouteUrl::parse(&format!("nats-route://{}:{}/", info.host, info.port)).ok()
    };
    let Some(mut url) = url else {
        tracing::error!("Error parsing URL from INFO: {:?}", info.ip);
        return;
    };
    let opts = server.options();
    if opts.cluster.routes.iter().any(|r| {
        r.addr().eq_ignore_ascii_case(&url.addr())
            || r.port == url.port && r.host.eq_ignore_ascii_case(&info.host)
    }) {
        return;
    }
    if info.auth_required {
        url.user = opts.cluster.username.clone();
        url.pass = opts.cluster.password.clone();
    }
    let server = server.clone();
    let gossip_mode = info.gossip_mode;
    tokio::spawn(async move {
        connect(
            server,
            Dialed {
                url,
                explicit: false,
                gossip_mode,
            },
            true,
        )
        .await
    });
}

/// After a route closed: reconnect if this server dialled it (or kept it over a duplicate),
/// as nats-server's `reconnect` does.
pub fn after_close(
    server: &Arc<Server>,
    route: &Arc<Route>,
    registered: bool,
    reason: CloseReason,
) {
    if server.shutdown.is_cancelled() {
        return;
    }
    let retry = route.retry.load(Ordering::Relaxed);
    if !(route.solicited || retry) || route.no_reconnect.load(Ordering::Relaxed) {
        return;
    }
    if matches!(
        reason,
        CloseReason::DuplicateRoute
            | CloseReason::ClusterNameConflict
            | CloseReason::DuplicateServerName
            | CloseReason::ServerShutdown
    ) && !registered
    {
        return;
    }
    let Some(url) = route.url.lock().clone() else {
        return;
    };
    let explicit = route.explicit;
    let server = server.clone();
    let peer = route.remote_id();
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(fastrand::u64(0..RECONNECT_JITTER_MS));
        if explicit {
            delay += ROUTE_RECONNECT;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = server.shutdown.cancelled() => return,
        }
        if peer.is_some_and(|id| server.routes.has_peer(&id)) {
            return;
        }
        connect(
            server,
            Dialed {
                url,
                explicit,
                gossip_mode: 0,
            },
            false,
        )
        .await
    });
}

/// Whether `url` is still among the configured routes (a reload may have removed it; nats-server's
/// `routeStillValid`).
fn still_configured(server: &Server, url: &RouteUrl) -> bool {
    server.options().cluster.routes.contains(url)
}

/// Closes the routes dialled to `removed` URLs without reconnecting them, as nats-server's
/// reload does (`routesOption.Apply`); dials that have not connected yet stop on their next
/// attempt.
pub fn remove(server: &Server, removed: &[RouteUrl]) {
    for url in removed {
        for route in server.routes.routes() {
            if route.url.lock().as_ref() == Some(url) {
                route.no_reconnect.store(true, Ordering::Relaxed);
                route.shared.close(CloseReason::RouteRemoved);
                tracing::info!("Removed route {}", url.shown);
            }
        }
    }
}

/// Dials `d.url` until it connects (explicit) or the retries run out (implicit), then serves
/// the route.
async fn connect(server: Arc<Server>, d: Dialed, first_connect: bool) {
    let addr = d.url.addr();
    if server.routes.self_addrs.lock().contains(&addr) || !server.routes.start_dialing(&addr) {
        return;
    }
    let mut attempts: u64 = 0;
    let stream = loop {
        if server.shutdown.is_cancelled() {
            server.routes.stop_dialing(&addr);
            return;
        }
        if d.explicit && !still_configured(&server, &d.url) {
            tracing::debug!(
                "Not attempting to connect to explicit route {:?}, no longer part of configured routes",
                d.url.shown
            );
            server.routes.stop_dialing(&addr);
            return;
        }
        tracing::debug!("Trying to connect to route on {addr} ({addr})");
        let res = tokio::time::timeout(ROUTE_DIAL, TcpStream::connect(&addr)).await;
        let err = match res {
            Ok(Ok(s)) => break s,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "i/o timeout".to_string(),
        };
        attempts += 1;
        if should_report(&server.options(), first_connect, attempts) {
            tracing::error!(
                "Error trying to connect to route (attempt {attempts}): dial tcp {addr}: {err}"
            );
        } else {
            tracing::debug!(
                "Error trying to connect to route (attempt {attempts}): dial tcp {addr}: {err}"
            );
        }
        let retries = server.options().cluster.connect_retries;
        let out_of_retries = if d.explicit {
            retries > 0 && attempts > retries as u64
        } else {
            retries <= 0 || attempts > retries as u64
        };
        if out_of_retries {
            // Gossip named this peer again while the attempt failed: one more try.
            if server.routes.asked_again(&addr) {
                attempts = 0;
                continue;
            }
            server.routes.stop_dialing(&addr);
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUTE_CONNECT_DELAY) => {}
            _ = server.shutdown.cancelled() => {
                server.routes.stop_dialing(&addr);
                return;
            }
        }
    };
    server.routes.stop_dialing(&addr);
    let peer = match stream.peer_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    super::conn::serve(server, stream, peer, Some(d)).await;
}

/// nats-server's `shouldReportConnectErr`: the first failure, then one in
/// `connect_error_reports` on a first connect, one in `reconnect_error_reports` after a
/// disconnect.
fn should_report(opts: &crate::options::Options, first_connect: bool, attempts: u64) -> bool {
    let every = if first_connect {
        opts.connect_error_reports
    } else {
        opts.reconnect_error_reports
    };
    attempts == 1 || attempts.is_multiple_of(every.max(1))
}

/// Addresses of the host's interfaces (non-loopback), for a wildcard listen's client URLs.
pub fn interface_ips() -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let Some(sa) = a.address else { continue };
            let ip = if let Some(v4) = sa.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else if let Some(v6a) = sa.as_sockaddr_in6() {
                IpAddr::V6(v6a.ip())
            } else {
                continue;
            };
            if ip.is_loopback() {
                continue;
            }
            if let IpAddr::V6(v6ip) = ip
                && (v6ip.segments()[0] & 0xffc0) == 0xfe80
            {
                // Link-local addresses need a zone; nats-server skips them too.
                continue;
            }
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}
