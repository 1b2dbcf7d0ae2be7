//! The route listener: binds `cluster.listen`, logs as nats-server, accepts peers, and starts
//! dialling the configured routes.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::server::{Server, host_port};

/// Why routes could not start.
#[derive(Debug, thiserror::Error)]
pub enum RouteStartError {
    #[error("listen for route connections on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// The bound route listener, not yet accepting.
pub struct Bound {
    listener: TcpListener,
    addr: std::net::SocketAddr,
}

impl Bound {
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

/// Binds the route listener when clustering is enabled (before the ports file is written).
pub async fn bind(server: &Arc<Server>) -> Result<Option<Bound>, RouteStartError> {
    let opts = server.options();
    let c = &opts.cluster;
    if !c.enabled() {
        return Ok(None);
    }
    let port = c.port.unwrap_or(0);
    let listener = TcpListener::bind((c.host.as_str(), port))
        .await
        .map_err(|source| RouteStartError::Listen {
            addr: format!("{}:{}", c.host, port),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| RouteStartError::Listen {
            addr: format!("{}:{}", c.host, port),
            source,
        })?;
    // Before enabling: no local interest is tracked yet, so nothing to announce.
    let _ = server.routes.set_permissions(c.permissions.clone());
    server.routes.enable(c.name.as_deref(), addr);
    Ok(Some(Bound { listener, addr }))
}

/// Logs the cluster lines (after `Server is ready`, as nats-server), starts accepting peers
/// and dials the configured routes.
pub fn start(server: &Arc<Server>, bound: Bound) -> tokio::task::JoinHandle<()> {
    let Bound { listener, addr } = bound;
    let opts = server.options();
    let c = &opts.cluster;
    if let Some(adv) = &c.advertise {
        let hp = if adv.contains(':') {
            adv.clone()
        } else {
            format!("{adv}:{}", addr.port())
        };
        *server.routes.advertise_ip.write() = format!("nats-route://{hp}/");
    }
    tracing::info!("Cluster name is {}", server.routes.cluster_name());
    if server.routes.name_is_dynamic() {
        tracing::warn!("Cluster name was dynamically generated, consider setting one");
    }
    tracing::info!(
        "Listening for route connections on {}",
        host_port(&c.host, addr)
    );
    if c.tls.as_ref().is_some_and(|t| t.settings.insecure) {
        tracing::warn!("{}", crate::tls::route::INSECURE_WARNING);
    }
    if c.pool_size > 1 {
        tracing::debug!(
            "Route pooling (pool_size {}) is not implemented: one connection per peer",
            c.pool_size
        );
    }
    if !matches!(c.compression.as_str(), "off" | "disabled" | "accept") {
        tracing::warn!(
            "Route compression {:?} is not implemented: routes are not compressed",
            c.compression
        );
    }
    let srv = server.clone();
    let task = tokio::spawn(async move { accept_loop(srv, listener).await });
    super::dial::solicit_configured(server);
    task
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = server.shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => {
                backoff = Duration::from_millis(10);
                tokio::spawn(super::conn::serve(server.clone(), stream, addr, None));
            }
            Err(err) => {
                tracing::error!("Error accepting route connection: {err}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
