//! Route TLS (`cluster { tls {} }`), as nats-server's `getTLSConfig` and `doTLSHandshake` run it
//! for routes: both sides always require and verify the peer's certificate against `ca_file`
//! (the same pool serves as roots and client CAs), the dialler checks the accepting server's
//! name (the route URL's host, or the first configured route hostname when dialling an IP) unless
//! `insecure`, and the handshake comes first: no INFO is sent before it.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ResolvesServerCert;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use super::route_verify::{CheckClient, CheckServer, Rejected, Slot};
use super::{TlsSession, TlsSettings, load, pinned_cert_ok};

/// nats-server's warning when `insecure` is set (`clusterTLSInsecureWarning`).
pub const INSECURE_WARNING: &str = "TLS certificate chain and hostname of solicited routes will not \
                                    be verified. DO NOT USE IN PRODUCTION!";

/// A built route TLS configuration: the accepting and the dialling side. Each handshake gets
/// its own rustls configuration around these verifiers (see `route_verify`).
#[derive(Clone)]
pub struct RouteTls {
    pub settings: TlsSettings,
    provider: Arc<rustls::crypto::CryptoProvider>,
    resolver: Arc<dyn ResolvesServerCert>,
    check_client: Arc<dyn ClientCertVerifier>,
    check_server: Arc<dyn ServerCertVerifier>,
    client: Arc<ClientConfig>,
    material: [u8; 32],
    /// When this server's route certificate expires (`/varz` `cluster.tls_cert_not_after`).
    pub cert_not_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for RouteTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTls")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl PartialEq for RouteTls {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings && self.material == other.material
    }
}

/// Why a dialled handshake failed; `hostname` when the accepting server's certificate did not
/// name the host (nats-server then forgets the saved route TLS name).
#[derive(Debug)]
pub struct DialFailure {
    pub hostname: bool,
}

impl RouteTls {
    /// Reads the files and builds both configurations. Verification is forced on, as
    /// nats-server forces `RequireAndVerifyClientCert` for routes whatever `verify` says.
    pub fn build(settings: TlsSettings) -> Result<RouteTls, String> {
        let forced = TlsSettings {
            verify: true,
            ..settings.clone()
        };
        let m = load::material(&forced)?;
        // Built once here so that configuration errors surface at load time.
        load::server_config_from(&forced, &m)?;
        let roots = m.roots.clone().unwrap_or_else(RootCertStore::empty);
        let check_client = super::verify::client_verifier(roots.clone(), m.provider.clone())?;
        let verifier: Arc<dyn ServerCertVerifier> = if settings.insecure {
            Arc::new(Insecure(m.provider.signature_verification_algorithms))
        } else {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                m.provider.clone(),
            )
            .build()
            .map_err(|e| e.to_string())?
        };
        let client = ClientConfig::builder_with_provider(m.provider.clone())
            .with_protocol_versions(load::versions(&forced))
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_client_cert_resolver(Arc::new(ClientCert(m.certified.clone())));
        Ok(RouteTls {
            settings,
            provider: m.provider.clone(),
            resolver: load::cert_resolver(&m),
            check_client,
            check_server: verifier,
            client: Arc::new(client),
            material: m.digest,
            cert_not_after: m.not_after,
        })
    }

    /// The handshake deadline (`tls { timeout }`, 2 s by default).
    pub fn timeout(&self) -> Duration {
        if self.settings.timeout.is_zero() {
            super::DEFAULT_TLS_TIMEOUT
        } else {
            self.settings.timeout
        }
    }

    /// The accepting side's handshake. On failure the reason is logged as nats-server logs it
    /// and the socket is closed without a byte written (the `-ERR` nats-server queues on a
    /// timeout cannot pass the unfinished TLS session).
    pub async fn accept(
        &self,
        stream: TcpStream,
        label: &str,
    ) -> Option<(server::TlsStream<TcpStream>, TlsSession)> {
        tracing::debug!("{label} - Starting TLS route server handshake");
        let expired = read_timeout(&stream);
        let slot = Slot::default();
        let config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(load::versions(&self.settings))
            .map(|b| {
                b.with_client_cert_verifier(Arc::new(CheckClient {
                    inner: self.check_client.clone(),
                    slot: slot.clone(),
                }))
                .with_cert_resolver(self.resolver.clone())
            });
        let acceptor = match config {
            Ok(c) => TlsAcceptor::from(Arc::new(c)),
            Err(e) => {
                tracing::error!("{label} - TLS route handshake error: {e}");
                return None;
            }
        };
        let run = async {
            super::accept::first_record(&stream).await?;
            let r = acceptor.accept(stream).await;
            r.map_err(|e| rejection(&slot).map_or_else(|| go_error(&e), |r| r.text))
        };
        let stream = self.finish(run, &expired, label).await?;
        let session = TlsSession::of(stream.get_ref().1, false);
        self.pinned(&session, label).then_some((stream, session))
    }

    /// The dialling side's handshake, checking the server's certificate against `name`.
    pub async fn connect(
        &self,
        stream: TcpStream,
        name: &str,
        label: &str,
    ) -> Result<(client::TlsStream<TcpStream>, TlsSession), DialFailure> {
        tracing::debug!("{label} - Starting TLS route client handshake");
        let failed = DialFailure { hostname: false };
        let Ok(server_name) = ServerName::try_from(name.to_string()) else {
            tracing::error!("{label} - TLS route handshake error: invalid server name {name:?}");
            return Err(failed);
        };
        let expired = read_timeout(&stream);
        let slot = Slot::default();
        let mut config = (*self.client).clone();
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(CheckServer {
                inner: self.check_server.clone(),
                slot: slot.clone(),
            }));
        let connector = TlsConnector::from(Arc::new(config));
        let run = async {
            let r = connector.connect(server_name, stream).await;
            r.map_err(|e| rejection(&slot).map_or_else(|| go_error(&e), |r| r.text))
        };
        let Some(stream) = self.finish(run, &expired, label).await else {
            let hostname = rejection(&slot).is_some_and(|r| r.hostname);
            return Err(DialFailure { hostname });
        };
        let session = TlsSession::of(stream.get_ref().1, false);
        if !self.pinned(&session, label) {
            return Err(failed);
        }
        Ok((stream, session))
    }

    /// Runs `handshake` under the deadline, logging a failure as nats-server does (on a
    /// timeout its read deadline fires first: `expired` is that read's error).
    async fn finish<S>(
        &self,
        handshake: impl Future<Output = Result<S, String>>,
        expired: &str,
        label: &str,
    ) -> Option<S> {
        let err = match tokio::time::timeout(self.timeout(), handshake).await {
            Ok(Ok(s)) => return Some(s),
            Ok(Err(e)) => e,
            Err(_) => expired.to_string(),
        };
        tracing::error!("{label} - TLS route handshake error: {err}");
        None
    }

    fn pinned(&self, session: &TlsSession, label: &str) -> bool {
        let ok = pinned_cert_ok(&self.settings, session.peer_certs.first());
        if !ok {
            tracing::error!("{label} - TLS route handshake error: certificate not pinned");
        }
        ok
    }
}

/// The route certificate, also presented when dialling.
#[derive(Debug)]
struct ClientCert(Option<Arc<CertifiedKey>>);

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.0.clone()
    }

    fn has_certs(&self) -> bool {
        self.0.is_some()
    }
}

/// `insecure: true` (Go's `InsecureSkipVerify`): any certificate and name are accepted; the
/// handshake signatures are still checked.
#[derive(Debug)]
struct Insecure(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Insecure {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Go's error for a read past its deadline: `read tcp <local>-><remote>: i/o timeout`.
fn read_timeout(stream: &TcpStream) -> String {
    let show =
        |a: std::io::Result<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    format!(
        "read tcp {}->{}: i/o timeout",
        show(stream.local_addr()),
        show(stream.peer_addr())
    )
}

fn rustls_error(e: &std::io::Error) -> Option<&Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<Error>())
}

/// The verifier's own account of a refused certificate, when that was the failure.
fn rejection(slot: &Slot) -> Option<Rejected> {
    slot.lock().clone()
}

/// A handshake error in the words of Go's `crypto/tls` and `crypto/x509` for the common cases.
fn go_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "EOF".into();
    }
    let Some(err) = rustls_error(e) else {
        return e.to_string();
    };
    let verify = "tls: failed to verify certificate: x509:";
    match err {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("{verify} certificate signed by unknown authority")
        }
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("{verify} certificate is not valid for the route's host"),
        Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => format!("{verify} certificate has expired or is not yet valid"),
        Error::NoCertificatesPresented => "tls: client didn't provide a certificate".into(),
        Error::AlertReceived(alert) => {
            let name = format!("{alert:?}");
            format!("remote error: tls: {}", alert_text(&name))
        }
        Error::InvalidMessage(_) => "tls: first record does not look like a TLS handshake".into(),
        other => format!("tls: {other}"),
    }
}

/// Go's alert texts (`alertText`) for the alerts a failed verification sends.
fn alert_text(name: &str) -> String {
    match name {
        "BadCertificate" => "bad certificate".into(),
        "UnknownCA" => "unknown certificate authority".into(),
        "CertificateRequired" => "certificate required".into(),
        "HandshakeFailure" => "handshake failure".into(),
        "CertificateExpired" => "expired certificate".into(),
        "DecryptError" => "error decrypting message".into(),
        "ProtocolVersion" => "protocol version not supported".into(),
        other => other.to_lowercase(),
    }
}
