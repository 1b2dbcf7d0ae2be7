//! Client certificates: the verifier that requires one chained to the configured CA, and the
//! `pinned_certs` check (SHA-256 of the certificate's SubjectPublicKeyInfo, as nats-server).

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use sha2::{Digest, Sha256};

use super::TlsSettings;

/// `tls.RequireAndVerifyClientCert` against `roots`.
pub(super) fn client_verifier(
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    if roots.is_empty() {
        return Err("no CA certificates to verify client certificates against".into());
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())
}

/// Lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo; `None` when the
/// certificate does not parse.
pub fn spki_sha256_hex(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let digest = Sha256::digest(parsed.public_key().raw);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// nats-server's `matchesPinnedCert`: true when no pins are configured, or the client's
/// certificate is among them (a client without a certificate never matches).
pub fn pinned_cert_ok(settings: &TlsSettings, peer: Option<&CertificateDer<'_>>) -> bool {
    let Some(pins) = &settings.pinned_certs else {
        return true;
    };
    let Some(cert) = peer else {
        tracing::debug!("Failed pinned cert test as client did not provide a certificate");
        return false;
    };
    match spki_sha256_hex(cert) {
        Some(id) if pins.contains(&id) => true,
        Some(id) => {
            tracing::debug!("Failed pinned cert test for key id: {id}");
            false
        }
        None => false,
    }
}
