//! Building the rustls server configuration from the configured files, failing with the
//! texts of nats-server's `GenTLSConfig` (Go's `crypto/tls` and `os` error wording).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};

use super::{MinVersion, TlsSettings, verify};

/// Where Debian (and most Linux systems) keep the system's trusted roots; used when `verify`
/// is on without a `ca_file`, as Go then verifies against the system pool.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What [`server_config`] built: the rustls config, a digest of every file it read and the
/// expiry of the server's certificate (`/varz` `tls_cert_not_after`).
pub(super) struct Built {
    pub config: ServerConfig,
    pub digest: [u8; 32],
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the files of a `tls {}` block hold once read: the server's certificate and key,
/// the trusted roots (`ca_file`, or the system's when verifying without one) and a digest.
pub(super) struct Material {
    pub provider: Arc<CryptoProvider>,
    pub certified: Option<Arc<CertifiedKey>>,
    pub roots: Option<RootCertStore>,
    pub digest: [u8; 32],
    pub not_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads the certificate, key and CA files (GenTLSConfig's checks and texts).
pub(super) fn material(s: &TlsSettings) -> Result<Material, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut digest = Sha256::new();
    let certified = match (&s.cert_file, &s.key_file) {
        (Some(_), None) => return Err("missing 'key_file' in TLS configuration".into()),
        (None, Some(_)) => return Err("missing 'cert_file' in TLS configuration".into()),
        (Some(cert), Some(key)) => Some(Arc::new(
            key_pair(cert, key, &provider, &mut digest)
                .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?,
        )),
        (None, None) => None,
    };
    let roots = match &s.ca_file {
        Some(ca) => Some(ca_pool(ca, &mut digest)?),
        None if s.verify => Some(system_roots()),
        None => None,
    };
    let not_after = certified
        .as_ref()
        .and_then(|c| c.cert.first())
        .and_then(not_after);
    Ok(Material {
        provider,
        certified,
        roots,
        digest: digest.finalize().into(),
        not_after,
    })
}

/// The protocol versions `min_version` allows.
pub(super) fn versions(s: &TlsSettings) -> &'static [&'static rustls::SupportedProtocolVersion] {
    static TLS12_UP: [&rustls::SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    match s.min_version {
        MinVersion::Tls12 => &TLS12_UP,
        MinVersion::Tls13 => &TLS13_ONLY,
    }
}

/// Builds the server config and a digest of every file it read.
pub(super) fn server_config(s: &TlsSettings) -> Result<Built, String> {
    let m = material(s)?;
    let config = server_config_from(s, &m)?;
    Ok(Built {
        config,
        digest: m.digest,
        not_after: m.not_after,
    })
}

/// The server side of `m`: a client certificate is required when `s.verify`.
pub(super) fn server_config_from(s: &TlsSettings, m: &Material) -> Result<ServerConfig, String> {
    let builder = ServerConfig::builder_with_provider(m.provider.clone())
        .with_protocol_versions(versions(s))
        .map_err(|e| e.to_string())?;
    let builder = if s.verify {
        let roots = m.roots.clone().unwrap_or_else(RootCertStore::empty);
        builder.with_client_cert_verifier(verify::client_verifier(roots, m.provider.clone())?)
    } else {
        builder.with_no_client_auth()
    };
    Ok(builder.with_cert_resolver(cert_resolver(m)))
}

/// Presents `m`'s certificate (none: every handshake fails).
pub(super) fn cert_resolver(m: &Material) -> Arc<dyn ResolvesServerCert> {
    Arc::new(FixedCert(m.certified.clone()))
}

/// The certificate's `notAfter` (Go's `tlsCertNotAfter`).
fn not_after(cert: &CertificateDer<'_>) -> Option<chrono::DateTime<chrono::Utc>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    chrono::DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
}

/// The one certificate the server presents; without `cert_file` every handshake fails, as
/// with nats-server's certificate-less `tls {}`.
#[derive(Debug)]
struct FixedCert(Option<Arc<CertifiedKey>>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.clone()
    }
}

/// `tls.LoadX509KeyPair`: the chain and the key, which must belong together.
fn key_pair(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
    digest: &mut Sha256,
) -> Result<CertifiedKey, String> {
    let cert_pem = read(cert, digest)?;
    let key_pem = read(key, digest)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err("tls: failed to find any PEM data in certificate input".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| "tls: failed to find any PEM data in key input".to_string())?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => "tls: private key does not match public key".into(),
        other => format!("tls: {other}"),
    })
}

/// The `ca_file` pool; Go's `AppendCertsFromPEM` fails only when no certificate parses.
fn ca_pool(path: &Path, digest: &mut Sha256) -> Result<RootCertStore, String> {
    let pem = read(path, digest)?;
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err("failed to parse root ca certificate".into());
    }
    Ok(roots)
}

/// The system's roots (`SSL_CERT_FILE`, else Debian's bundle); empty when there are none.
fn system_roots() -> RootCertStore {
    let path = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| SYSTEM_ROOTS.into());
    let mut roots = RootCertStore::empty();
    if let Ok(pem) = std::fs::read(path) {
        roots
            .add_parsable_certificates(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
    }
    roots
}

/// Reads a file into the digest; errors read as Go's `open <path>: <reason>`.
fn read(path: &Path, digest: &mut Sha256) -> Result<Vec<u8>, String> {
    let data = std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
            _ => e.to_string(),
        };
        format!("open {}: {reason}", path.display())
    })?;
    digest.update((data.len() as u64).to_le_bytes());
    digest.update(&data);
    Ok(data)
}
