//! The raw client's transport and credentials: plain TCP or TLS (rustls on ring, trusting
//! the CA file given with `--tlsca`), and the user and password sent in CONNECT.
//!
//! Set once at start-up from the global flags; every raw connection (throughput,
//! request/reply, storm, idle) and the async-nats client read them.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use anyhow::{Context as _, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Longest INFO line read before a TLS handshake (nats-server's INFO is well under 4 KiB;
/// the limit only stops a runaway read).
const MAX_INFO: usize = 64 * 1024;

/// How connections are made; the default is plain TCP without credentials.
#[derive(Default)]
pub struct Settings {
    /// TLS client configuration and the CA file it came from, when `--tlsca` was given.
    pub tls: Option<(Arc<rustls::ClientConfig>, std::path::PathBuf)>,
    pub user: Option<String>,
    pub password: Option<String>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets the transport for the whole run (once, before connecting).
pub fn configure(
    tlsca: Option<&Path>,
    user: Option<String>,
    password: Option<String>,
) -> anyhow::Result<()> {
    let tls = match tlsca {
        Some(path) => Some((Arc::new(client_config(path)?), path.to_path_buf())),
        None => None,
    };
    if SETTINGS
        .set(Settings {
            tls,
            user,
            password,
        })
        .is_err()
    {
        bail!("transport configured twice");
    }
    Ok(())
}

/// The settings in force.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// A rustls client configuration trusting the certificates in the PEM file `ca`.
fn client_config(ca: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.with_context(|| format!("parsing {}", ca.display()))?;
        roots.add(cert).context("adding a CA certificate")?;
    }
    if roots.is_empty() {
        bail!("{}: no certificate", ca.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The CONNECT line with PING: credentials and `tls_required` from the settings.
pub fn connect_line() -> Vec<u8> {
    let s = settings();
    let mut opts = serde_json::json!({
        "verbose": false,
        "pedantic": false,
        "tls_required": s.tls.is_some(),
        "name": "rnats-bench",
        "lang": "rust-raw",
        "version": "0.1.0",
        "protocol": 1,
        "echo": true,
    });
    if let (Some(user), Some(map)) = (&s.user, opts.as_object_mut()) {
        map.insert("user".into(), user.as_str().into());
        map.insert(
            "pass".into(),
            s.password.as_deref().unwrap_or_default().into(),
        );
    }
    format!("CONNECT {opts}\r\nPING\r\n").into_bytes()
}

/// A raw client connection: plain TCP or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Opens the transport to `addr` (`host:port`). With TLS, reads the server's plaintext INFO
/// line first (nats-server's order: INFO, then the handshake); `info_read` tells the caller.
pub async fn open(addr: &str) -> anyhow::Result<(Stream, bool)> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let Some((config, _)) = &settings().tls else {
        return Ok((Stream::Plain(tcp), false));
    };
    let mut line = Vec::with_capacity(1024);
    let mut byte = [0u8; 512];
    while !line.ends_with(b"\r\n") {
        // The server sends nothing after INFO until the handshake, so a read cannot take
        // bytes that belong to TLS.
        let n = tcp.read(&mut byte).await?;
        if n == 0 {
            bail!("connection closed before INFO");
        }
        line.extend_from_slice(&byte[..n]);
        if line.len() > MAX_INFO {
            bail!("INFO longer than {MAX_INFO} bytes");
        }
    }
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let name = ServerName::try_from(host.to_string()).context("TLS server name")?;
    let tls = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    Ok((Stream::Tls(Box::new(tls)), true))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
