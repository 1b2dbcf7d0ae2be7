//! Shared helpers for broker integration tests: in-process servers and polling with deadlines.

#![allow(dead_code)]

pub mod jwt_client;
pub mod nsc;
pub mod pki;
pub mod process;

use std::time::{Duration, Instant};

use rnats_broker::launch::{self, Running};
use rnats_broker::options::Options;

/// Options for a test server on a random loopback port.
pub fn test_options() -> Options {
    Options {
        host: "127.0.0.1".into(),
        port: None,
        ..Options::default()
    }
}

/// Starts an in-process server.
pub async fn start(opts: Options) -> Running {
    launch::start(opts).await.expect("server starts")
}

/// `nats://host:port` of a running server.
pub fn url(r: &Running) -> String {
    format!("nats://{}", r.client_addr)
}

/// Polls `cond` until it holds or `timeout` passes.
pub async fn wait_for<F: FnMut() -> bool>(timeout: Duration, mut cond: F) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}
