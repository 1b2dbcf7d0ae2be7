//! `/healthz`: readiness as nats-server answers it, with its options (`js-enabled-only`,
//! `js-server-only`, `js-meta-only`, `account`, `stream`, `consumer`, `details`). JetStream
//! is not implemented yet, so the JetStream checks pass as the reference's do when
//! JetStream is disabled.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Monitor;
use super::query::{BadRequest, Query};
use crate::server::Server;

/// The `/healthz` answer (`HealthStatus`, without `status_code`).
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthError>,
}

/// One failed check (`HealthzError`).
#[derive(Debug, Serialize)]
pub struct HealthError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: String,
}

/// `/healthz` options that change the answer while JetStream is absent.
#[derive(Debug, Default)]
pub struct HealthzOptions {
    pub account: String,
    pub stream: String,
    pub consumer: String,
    pub details: bool,
}

/// The health status and its HTTP code.
pub fn healthz(server: &Server, opts: &HealthzOptions) -> (StatusCode, Health) {
    let fail = |code: StatusCode, kind: &'static str, msg: String| {
        let health = if opts.details {
            Health {
                status: "error",
                error: String::new(),
                errors: vec![HealthError { kind, error: msg }],
            }
        } else {
            Health {
                status: "error",
                error: msg,
                errors: Vec::new(),
            }
        };
        (code, health)
    };
    if opts.account.is_empty() && !opts.stream.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "\"account\" must not be empty when checking stream health".into(),
        );
    }
    if opts.stream.is_empty() && !opts.consumer.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "\"stream\" must not be empty when checking consumer health".into(),
        );
    }
    // The reference is not ready while its client listener is not open (before start,
    // and in lame duck mode, which closes it).
    if server.client_addr().is_none() || server.is_lame_duck() {
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "CONNECTION",
            "failed to be ready for connections after 1ms: server".into(),
        );
    }
    let ok = Health {
        status: "ok",
        error: String::new(),
        errors: Vec::new(),
    };
    (StatusCode::OK, ok)
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    m.count("/healthz");
    let q = Query::parse(uri.query());
    let parsed = (|| {
        for flag in [
            "js-enabled",
            "js-enabled-only",
            "js-server-only",
            "js-meta-only",
        ] {
            q.bool(flag)?;
        }
        Ok::<_, BadRequest>(HealthzOptions {
            details: q.bool("details")?,
            account: q.get("account").to_string(),
            stream: q.get("stream").to_string(),
            consumer: q.get("consumer").to_string(),
        })
    })();
    let opts = match parsed {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let (code, health) = healthz(&m.server, &opts);
    if !health.error.is_empty() {
        tracing::warn!("Healthcheck failed: {:?}", health.error);
    } else if !health.errors.is_empty() {
        tracing::warn!("Healthcheck failed: {} errors", health.errors.len());
    }
    let body = serde_json::to_vec(&health).unwrap_or_default();
    super::json_headers((code, body).into_response())
}
