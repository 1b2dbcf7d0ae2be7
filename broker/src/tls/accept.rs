//! The server side of a client's TLS handshake, as nats-server runs it: under the `tls`
//! timeout, silently closing a client that speaks plaintext or stalls (no `-ERR` reaches the
//! wire: nats-server queues `Secure Connection - TLS Required` but cannot write it through the
//! unfinished TLS session), and checking `pinned_certs` once the handshake is done.

use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{TlsConfig, pinned_cert_ok};

/// TLS record types a ClientHello may start with (handshake, alert); Go's `crypto/tls`
/// rejects any other first byte without answering.
const FIRST_RECORD_TYPES: [u8; 2] = [0x16, 0x15];
/// A record version at or above this is not TLS (Go: "probably not real").
const MAX_RECORD_VERSION: u16 = 0x1000;
/// What is read (and dropped) from a plaintext client before the close, so the kernel ends
/// the connection with a FIN rather than a reset, as after Go's read of the first record.
const PLAINTEXT_DRAIN: usize = 16 * 1024;

/// A finished handshake.
pub struct Handshake {
    pub stream: TlsStream<TcpStream>,
    /// The client's leaf certificate, when it sent one.
    pub peer: Option<CertificateDer<'static>>,
}

/// Waits up to `delay` for the client to send something (a TLS-first ClientHello), without
/// consuming it. False when the delay passed in silence or the client went away.
pub async fn peek_first_byte(stream: &TcpStream, delay: Duration) -> bool {
    let mut b = [0u8; 1];
    matches!(tokio::time::timeout(delay, stream.peek(&mut b)).await, Ok(Ok(n)) if n > 0)
}

/// Runs the handshake on `stream` within the configured timeout. On failure the reason has
/// been logged as nats-server logs it (prefixed by `label`) and the socket is dropped
/// without a byte written.
pub async fn handshake(tls: &TlsConfig, stream: TcpStream, label: &str) -> Option<Handshake> {
    tracing::debug!("{label} - Starting TLS client connection handshake");
    let acceptor = TlsAcceptor::from(tls.server.clone());
    let run = async {
        looks_like_tls(&stream).await?;
        acceptor.accept(stream).await.map_err(Failure::from_io)
    };
    let stream = match tokio::time::timeout(tls.timeout(), run).await {
        Ok(Ok(s)) => s,
        Ok(Err(f)) => {
            f.log(label);
            return None;
        }
        Err(_) => {
            tracing::debug!("{label} - TLS handshake timeout");
            Failure::Probe("i/o timeout".into()).log(label);
            return None;
        }
    };
    let peer = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .cloned();
    if !pinned_cert_ok(&tls.settings, peer.as_ref()) {
        Failure::Error("certificate not pinned".into()).log(label);
        return None;
    }
    Some(Handshake { stream, peer })
}

/// Why a handshake failed: a client probe (plaintext, timeout; logged at debug level as
/// nats-server's `isClientProbeTLSHandshakeError`) or a real error.
enum Failure {
    Probe(String),
    Error(String),
}

impl Failure {
    fn from_io(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            return Failure::Error("EOF".into());
        }
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => Failure::Error(format!("tls: {tls}")),
            None => Failure::Error(e.to_string()),
        }
    }

    fn log(&self, label: &str) {
        match self {
            Failure::Probe(m) => tracing::debug!("{label} - TLS handshake error: {m}"),
            Failure::Error(m) => tracing::error!("{label} - TLS handshake error: {m}"),
        }
    }
}

/// [`looks_like_tls`] with the failure as text (routes log every failure as an error).
pub(super) async fn first_record(stream: &TcpStream) -> Result<(), String> {
    looks_like_tls(stream).await.map_err(|f| match f {
        Failure::Probe(m) | Failure::Error(m) => m,
    })
}

/// Go's first-record check: a plaintext client (e.g. `CONNECT ...`) is dropped without the
/// alert rustls would send.
async fn looks_like_tls(stream: &TcpStream) -> Result<(), Failure> {
    let mut hdr = [0u8; 3];
    let n = stream
        .peek(&mut hdr)
        .await
        .map_err(|e| Failure::Error(e.to_string()))?;
    if n == 0 {
        return Err(Failure::Error("EOF".into()));
    }
    let version = (n == 3).then(|| u16::from_be_bytes([hdr[1], hdr[2]]));
    if !FIRST_RECORD_TYPES.contains(&hdr[0]) || version.is_some_and(|v| v >= MAX_RECORD_VERSION) {
        let mut sink = vec![0u8; PLAINTEXT_DRAIN];
        let _ = stream.try_read(&mut sink);
        return Err(Failure::Probe(
            "tls: first record does not look like a TLS handshake".into(),
        ));
    }
    Ok(())
}
