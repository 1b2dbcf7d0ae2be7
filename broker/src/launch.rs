//! Starting and stopping a server: banner, listeners, pid file, readiness, shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
        let opts = self.server.options();
        if let Some(p) = &opts.pid_file {
            let _ = std::fs::remove_file(p);
        }
        if let Some(dir) = &opts.ports_file_dir {
            let path = ports_file_path(dir);
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::error!("Error cleaning up ports file {}: {err}", path.display());
            }
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
    if let Some(trust) = server.trust() {
        trust.log_startup();
    }
    if !opts.no_system_account {
        // In operator mode the account comes from its JWT (the trust checked it); otherwise
        // it must be one of `accounts {}`.
        if let Some(name) = &opts.system_account
            && server.trust().is_none()
            && server.lookup_account(name).is_none()
        {
            anyhow::bail!("error resolving system account: account missing");
        }
        server.start_system();
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
    let routes = crate::route::listen::bind(&server).await?;
    let cluster_addr = routes.as_ref().map(|b| b.addr());
    if routes.is_some()
        && let Some(sys) = server.system()
    {
        sys.announce_to_routes(&server);
    }
    if let Some(p) = &opts.pid_file {
        std::fs::write(p, std::process::id().to_string())
            .with_context(|| format!("writing pid file {}", p.display()))?;
    }
    let client_addr = server.client_addr().context("client listener address")?;
    let http_addr = server.http_addr();
    if let Some(dir) = &opts.ports_file_dir {
        let path = ports_file_path(dir);
        let cluster = cluster_addr.map(|a| (a, opts.cluster.tls.is_some()));
        let ports = ports_json(client_addr, http_addr, cluster);
        if let Err(err) = std::fs::write(&path, ports) {
            tracing::error!("Error writing ports file ({}): {err}", path.display());
        }
    }
    tracing::info!("Server is ready");
    if let Some(b) = routes {
        tasks.push(crate::route::listen::start(&server, b));
    }
    Ok(Running {
        server,
        client_addr,
        http_addr,
        tasks,
    })
}

/// `<dir>/<executable name>_<pid>.ports`, as nats-server names it.
fn ports_file_path(dir: &Path) -> PathBuf {
    let exe = std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "rnats-server".into());
    dir.join(format!("{exe}_{}.ports", std::process::id()))
}

/// The ports file's JSON: `{"nats":["nats://h:p"],"monitoring":["http://h:p"]}`. For a
/// wildcard listen address nats-server lists every interface; rnats lists loopback. The
/// cluster URL's scheme is `tls` with route TLS, as nats-server writes it.
fn ports_json(
    client: SocketAddr,
    http: Option<SocketAddr>,
    cluster: Option<(SocketAddr, bool)>,
) -> String {
    let shown = |a: SocketAddr| -> String {
        let ip = if a.ip().is_unspecified() {
            if a.is_ipv4() {
                "127.0.0.1".to_string()
            } else {
                "[::1]".to_string()
            }
        } else if a.is_ipv6() {
            format!("[{}]", a.ip())
        } else {
            a.ip().to_string()
        };
        format!("{ip}:{}", a.port())
    };
    #[derive(serde::Serialize)]
    struct Ports {
        nats: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        monitoring: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        cluster: Vec<String>,
    }
    let ports = Ports {
        nats: vec![format!("nats://{}", shown(client))],
        monitoring: http
            .map(|h| vec![format!("http://{}", shown(h))])
            .unwrap_or_default(),
        cluster: cluster
            .map(|(c, tls)| {
                let scheme = if tls { "tls" } else { "nats" };
                vec![format!("{scheme}://{}", shown(c))]
            })
            .unwrap_or_default(),
    };
    serde_json::to_string(&ports).unwrap_or_default()
}
