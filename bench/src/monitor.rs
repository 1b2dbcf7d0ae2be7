//! What the tool reads about the server: `/varz` over plain HTTP, and RSS/CPU from `/proc`.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Fetches `/varz` from a monitoring URL such as `http://127.0.0.1:8222`.
pub async fn varz(base: &str) -> anyhow::Result<serde_json::Value> {
    get(base, "/varz").await
}

/// Polls `/routez?subs=1` until a route lists interest in `subject` (the subscribers of a
/// cross-server run are known to the publisher's server), or fails after `timeout`.
pub async fn wait_route_interest(
    base: &str,
    subject: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let v = get(base, "/routez?subs=1").await?;
        let known = v["routes"].as_array().is_some_and(|routes| {
            routes.iter().any(|r| {
                r["subscriptions_list"].as_array().is_some_and(|l| {
                    l.iter().any(|s| {
                        s.as_str()
                            .is_some_and(|s| s == subject || s.starts_with(&format!("{subject} ")))
                    })
                })
            })
        });
        if known {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no route interest in {subject:?} on {base} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET `path` from a monitoring URL; the JSON body.
async fn get(base: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let hostport = base
        .strip_prefix("http://")
        .unwrap_or(base)
        .trim_end_matches('/');
    let fetch = async {
        let mut s = TcpStream::connect(hostport)
            .await
            .with_context(|| format!("connecting to monitoring port {hostport}"))?;
        // HTTP/1.0: the body ends at close, never chunked (nats-server chunks a large
        // `/routez` answer to an HTTP/1.1 request).
        let req = format!("GET {path} HTTP/1.0\r\nHost: {hostport}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).await?;
        anyhow::Ok(body)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .with_context(|| format!("{path} timed out"))??;
    let Some(pos) = memchr::memmem::find(&raw, b"\r\n\r\n") else {
        bail!("malformed HTTP response from {hostport}");
    };
    if !raw.starts_with(b"HTTP/1.1 200") && !raw.starts_with(b"HTTP/1.0 200") {
        bail!("{path}: {}", String::from_utf8_lossy(&raw[..pos]));
    }
    serde_json::from_slice(&raw[pos + 4..]).with_context(|| format!("parsing {path} JSON"))
}

/// A numeric `/varz` field.
pub fn field(v: &serde_json::Value, name: &str) -> anyhow::Result<u64> {
    v.get(name)
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("/varz has no numeric `{name}`"))
}

/// Resident set size of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc status")?;
    Ok(kib * 1024)
}
