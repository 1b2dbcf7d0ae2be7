//! `/routez`: the reference's shape with no routes (clustering comes with the route issue).

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gofmt::ser_time;
use super::query::Query;
use super::{Monitor, json_response};
use crate::server::Server;

/// A route (`RouteInfo`); none exist yet.
#[derive(Debug, Serialize)]
pub struct RouteInfo {}

/// The `/routez` answer.
#[derive(Debug, Serialize)]
pub struct Routez {
    pub server_id: String,
    pub server_name: String,
    #[serde(serialize_with = "ser_time")]
    pub now: DateTime<Utc>,
    pub num_routes: usize,
    pub routes: Vec<RouteInfo>,
}

/// Builds `/routez`.
pub fn routez(server: &Server) -> Routez {
    Routez {
        server_id: server.id.clone(),
        server_name: server.name.clone(),
        now: Utc::now(),
        num_routes: 0,
        routes: Vec::new(),
    }
}

pub(super) async fn handler(State(m): State<Monitor>, uri: Uri) -> Response {
    if let Err(e) = Query::parse(uri.query()).subs() {
        return e.into_response();
    }
    m.count("/routez");
    json_response(&routez(&m.server))
}
