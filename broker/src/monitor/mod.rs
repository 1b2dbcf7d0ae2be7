//! Monitoring HTTP server (port 8222): nats-server's endpoints (`/varz`, `/connz`, `/subsz`,
//! `/routez`, `/accountz`, `/healthz`) with its fields, options and errors, and Prometheus
//! `/metrics`.

pub mod accountz;
pub mod accstatz;
pub mod activity;
pub mod client_view;
pub mod closed;
pub mod connz;
pub(crate) mod gofmt;
pub(crate) mod healthz;
mod metrics;
pub(crate) mod query;
pub(crate) mod routez;
pub(crate) mod subsz;
pub(crate) mod varz;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
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

    fn request_stats(&self) -> BTreeMap<&'static str, u64> {
        self.requests.lock().clone()
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
    let base = normalize_base_path(&opts.http_base_path);
    let at = |p: &str| join_path(&base, p);
    let app = Router::new()
        .route(&at("/"), any(root))
        .route(&at("/varz"), any(varz::handler))
        .route(&at("/connz"), any(connz::handler))
        .route(&at("/subsz"), any(subsz::handler))
        .route(&at("/subscriptionsz"), any(subsz::handler))
        .route(&at("/routez"), any(routez::handler))
        .route(&at("/accountz"), any(accountz::handler))
        .route(&at("/accstatz"), any(accstatz::handler))
        .route(&at("/healthz"), any(healthz::handler))
        .route(&at("/metrics"), any(metrics::handler))
        .fallback(not_found)
        .with_state(state);
    let shutdown = server.shutdown.clone();
    Ok(Some(tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
    })))
}

/// JSON body as nats-server serves it: indented with two spaces, HTML characters escaped,
/// `Content-Type: application/json` and `Access-Control-Allow-Origin: *`.
pub(crate) fn json_response<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => json_headers((StatusCode::OK, gofmt::escape_html(body)).into_response()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Adds the headers the reference sends with every JSON body (`Content-Type` and CORS).
pub(crate) fn json_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// Go's `http.NotFound`.
async fn not_found() -> Response {
    let mut resp = (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Links to the endpoints, as the reference's index page.
/// nats-server's `normalizeBasePath`: a leading `/`, cleaned (`/` when empty).
fn normalize_base_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    if p.starts_with('/') {
        clean_path(p)
    } else {
        clean_path(&format!("/{p}"))
    }
}

/// Go's `path.Join(base, p)` for an absolute `base`.
fn join_path(base: &str, p: &str) -> String {
    clean_path(&format!("{base}/{p}"))
}

/// Go's `path.Clean` for an absolute path: no empty or `.` elements, `..` resolved, no
/// trailing slash (but `/` itself).
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

async fn root(State(m): State<Monitor>) -> Response {
    m.count("/");
    let base = normalize_base_path(&m.server.options().http_base_path);
    let links = [
        ("varz", "General"),
        ("connz", "Connections"),
        ("accountz", "Accounts"),
        ("subsz", "Subscriptions"),
        ("routez", "Routes"),
        ("healthz", "Health Probe"),
        ("metrics", "Prometheus Metrics"),
    ];
    let mut body = String::from("<html lang=\"en\">\n<body>\n");
    for (path, title) in links {
        let href = join_path(&base, path);
        body.push_str(&format!(
            "  <a href=.{href}>{title}<span class=\"endpoint\"> /{path}</span></a><br/>\n"
        ));
    }
    body.push_str("</body>\n</html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}
