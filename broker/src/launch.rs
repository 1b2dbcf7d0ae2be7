//! Starting and stopping a server: banner, listeners, pid file, readiness, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use crate::options::Options;
use crate::server::info::{COMPAT_VERSION, RNATS_VERSION};
use crate::server::{GIT_COMMIT, Server};

/// A started server and its bound addresses.
pub struct Running {
    pub server: Arc<Server>,
    pub client_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Closes listeners and connections and waits for the listener tasks to end.
    pub async fn shutdown(self) {
        self.server.shutdown_now();
        self.wait().await;
    }

    /// Waits until the server has been shut down (by a signal or `shutdown_now`).
    pub async fn wait(self) {
        self.server.shutdown.cancelled().await;
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(p) = &self.server.options().pid_file {
            let _ = std::fs::remove_file(p);
        }
        tracing::info!("Server Exiting..");
    }
}

/// Starts a server with `opts`: logs the banner, binds monitoring then clients, writes the pid
/// file, and logs `Server is ready`.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let server = Server::new(opts);
    let opts = server.options();
    tracing::info!("Starting rnats-server");
    tracing::info!("  Version:  {RNATS_VERSION} (nats-server {COMPAT_VERSION} compatible)");
    tracing::info!(
        "  Git:      [{}]",
        if GIT_COMMIT.is_empty() {
            "not set"
        } else {
            GIT_COMMIT
        }
    );
    tracing::info!("  Name:     {}", server.name);
    tracing::info!("  ID:       {}", server.id);
    if let Some(cfg) = &opts.config_file {
        tracing::info!("Using configuration file: {}", cfg.display());
    }
    let mut tasks = Vec::new();
    if let Some(t) = crate::monitor::start(server.clone())
        .await
        .context("monitoring listener")?
    {
        tasks.push(t);
    }
    let accept = server.start_clients().await.context("client listener")?;
    tasks.push(accept);
    if let Some(p) = &opts.pid_file {
        std::fs::write(p, std::process::id().to_string())
            .with_context(|| format!("writing pid file {}", p.display()))?;
    }
    let client_addr = server.client_addr().context("client listener address")?;
    let http_addr = server.http_addr();
    tracing::info!("Server is ready");
    Ok(Running {
        server,
        client_addr,
        http_addr,
        tasks,
    })
}
