//! Readiness: health probes for etcd and the Kubernetes components, and the
//! polling loop that waits for one with a deadline while checking that no
//! component has died meanwhile.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::process::{Component, LOG_TAIL_LINES};

/// Pause between two probes.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Bound on one probe, so a hung endpoint cannot stall the wait past its deadline.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `probe` every [`POLL_INTERVAL`] until it succeeds. Fails when `timeout`
/// passes (with the last probe error and the log tail of the newest component)
/// or as soon as any of `components` exits.
pub async fn wait_until<P, F>(
    what: &str,
    timeout: Duration,
    components: &mut [Component],
    mut probe: P,
) -> Result<()>
where
    P: FnMut() -> F,
    F: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        for component in components.iter_mut() {
            component.check_running()?;
        }
        let last = match tokio::time::timeout(PROBE_TIMEOUT, probe()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(detail)) => detail,
            Err(_) => format!("probe timed out after {PROBE_TIMEOUT:?}"),
        };
        if start.elapsed() >= timeout {
            let log = components
                .last()
                .map(|c| {
                    format!(
                        "\nlast lines of {}'s log:\n{}",
                        c.name(),
                        c.log_tail(LOG_TAIL_LINES)
                    )
                })
                .unwrap_or_default();
            return Err(Error::Timeout {
                what: what.to_owned(),
                after: timeout,
                detail: format!("{last}{log}"),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// etcd's `GET /health` over plain HTTP answers `{"health":"true",…}`.
pub async fn etcd(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write to {addr}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    if response.contains(r#""health":"true""#) {
        Ok(())
    } else {
        Err(format!("etcd /health: {}", response.trim()))
    }
}

/// `GET path` through `client` answers `ok` (the body of /readyz, /healthz).
pub async fn endpoint_ok(client: &kube::Client, path: &str) -> Result<(), String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| format!("build GET {path}: {e}"))?;
    match client.request_text(request).await {
        Ok(body) if body.trim() == "ok" => Ok(()),
        Ok(body) => Err(format!("GET {path}: {body}")),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}
