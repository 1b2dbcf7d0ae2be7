//! Monitoring HTTP server (port 8222): `/healthz` and `/varz` as nats-server serves them.

mod varz;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use crate::server::{Server, host_port};

/// Shared state of the monitoring handlers.
#[derive(Clone)]
pub struct Monitor {
    server: Arc<Server>,
    /// Requests served per path (`http_req_stats` in `/varz`).
    requests: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Monitor {
    fn count(&self, path: &'static str) {
        *self.requests.lock().entry(path).or_insert(0) += 1;
    }
}

/// Binds the monitoring port and serves it until the server shuts down.
pub async fn start(server: Arc<Server>) -> std::io::Result<Option<tokio::task::JoinHandle<()>>> {
    let opts = server.options();
    let Some(port) = opts.http_port else {
        return Ok(None);
    };
    let host = opts.http_host.clone().unwrap_or_else(|| opts.host.clone());
    let listener = TcpListener::bind((host.as_str(), port.unwrap_or(0))).await?;
    let addr = listener.local_addr()?;
    server.set_http_addr(addr);
    tracing::info!("Starting http monitor on {}", host_port(&host, addr));
    let state = Monitor {
        server: server.clone(),
        requests: Arc::default(),
    };
    let app = Router::new()
        .route("/", get(root))
        .route("/healthz", get(healthz))
        .route("/varz", get(varz::varz))
        .with_state(state);
    let shutdown = server.shutdown.clone();
    Ok(Some(tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
    })))
}

/// JSON body with nats-server's headers (indented, as the reference serves it).
pub(crate) fn json_response<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => {
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn root(State(m): State<Monitor>) -> Response {
    m.count("/");
    let body =
        "<html><body><a href=\"/varz\">varz</a><br/><a href=\"/healthz\">healthz</a></body></html>";
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn healthz(State(m): State<Monitor>) -> Response {
    m.count("/healthz");
    #[derive(serde::Serialize)]
    struct Health {
        status: &'static str,
    }
    json_response(&Health { status: "ok" })
}
