//! What the tool reads about the server: `/varz` over plain HTTP, and RSS/CPU from `/proc`.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Fetches `/varz` from a monitoring URL such as `http://127.0.0.1:8222`.
pub async fn varz(base: &str) -> anyhow::Result<serde_json::Value> {
    let hostport = base
        .strip_prefix("http://")
        .unwrap_or(base)
        .trim_end_matches('/');
    let fetch = async {
        let mut s = TcpStream::connect(hostport)
            .await
            .with_context(|| format!("connecting to monitoring port {hostport}"))?;
        let req = format!("GET /varz HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).await?;
        anyhow::Ok(body)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .context("/varz timed out")??;
    let Some(pos) = memchr::memmem::find(&raw, b"\r\n\r\n") else {
        bail!("malformed HTTP response from {hostport}");
    };
    if !raw.starts_with(b"HTTP/1.1 200") && !raw.starts_with(b"HTTP/1.0 200") {
        bail!("/varz: {}", String::from_utf8_lossy(&raw[..pos]));
    }
    serde_json::from_slice(&raw[pos + 4..]).context("parsing /varz JSON")
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
