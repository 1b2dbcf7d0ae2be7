//! Route certificate checks failing as Go fails them: per-handshake wrappers around the webpki
//! verifiers keep the failure in Go's words, with the rejected chain's subjects and SHA-256 as
//! nats-server logs them, and make rustls answer with Go's `bad_certificate` alert whatever
//! the reason (rustls would send `unknown_ca` for an unknown issuer).

use std::sync::Arc;

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use sha2::{Digest, Sha256};

/// Why the peer's certificate was refused, as nats-server logs it.
#[derive(Debug, Clone)]
pub(super) struct Rejected {
    pub text: String,
    /// The certificate did not name the host dialled.
    pub hostname: bool,
}

/// Where one handshake's verifier leaves its failure.
pub(super) type Slot = Arc<Mutex<Option<Rejected>>>;

/// The error rustls is given instead (it sends `bad_certificate` for it, as Go does).
fn refused() -> Error {
    Error::InvalidCertificate(CertificateError::BadEncoding)
}

/// The dialler's check of the accepting server's certificate.
#[derive(Debug)]
pub(super) struct CheckServer {
    pub inner: Arc<dyn ServerCertVerifier>,
    pub slot: Slot,
}

impl ServerCertVerifier for CheckServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|e| {
                let host = match server_name {
                    ServerName::DnsName(d) => d.as_ref().to_string(),
                    ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                    _ => String::new(),
                };
                *self.slot.lock() = Some(rejected(&e, end_entity, intermediates, &host));
                refused()
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The accepting side's check of the dialler's certificate.
#[derive(Debug)]
pub(super) struct CheckClient {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub slot: Slot,
}

impl ClientCertVerifier for CheckClient {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(|e| {
                *self.slot.lock() = Some(rejected(&e, end_entity, intermediates, ""));
                refused()
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Go's `tls.CertificateVerificationError` text: the x509 reason, then each presented
/// certificate's subject and SHA-256.
fn rejected(
    e: &Error,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    host: &str,
) -> Rejected {
    let hostname = matches!(
        e,
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    );
    let reason = match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "certificate signed by unknown authority".to_string()
        }
        _ if hostname => not_valid_for(end_entity, host),
        Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => "certificate has expired or is not yet valid".to_string(),
        Error::InvalidCertificate(
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. },
        ) => "certificate specifies an incompatible key usage".to_string(),
        other => other.to_string(),
    };
    let chain: Vec<String> = std::iter::once(end_entity)
        .chain(intermediates)
        .map(|c| {
            let subject = x509_parser::parse_x509_certificate(c.as_ref())
                .map(|(_, p)| crate::auth::certmap::go_subject_string(p.subject()))
                .unwrap_or_default();
            let sum: String = Sha256::digest(c.as_ref())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{subject} SHA-256: {sum}")
        })
        .collect();
    Rejected {
        text: format!(
            "tls: failed to verify certificate: x509: {reason} ({})",
            chain.join("; ")
        ),
        hostname,
    }
}

/// Go's `HostnameError` text for `host` and the certificate's SANs.
fn not_valid_for(cert: &CertificateDer<'_>, host: &str) -> String {
    use x509_parser::extensions::GeneralName;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref())
        && let Ok(Some(san)) = parsed.subject_alternative_name()
    {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => ips.push(
                        std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())
                            .to_string(),
                    ),
                    16 => ips.push(
                        std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())
                            .to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        if ips.is_empty() {
            return format!(
                "cannot validate certificate for {host} because it doesn't contain any IP SANs"
            );
        }
        return format!("certificate is valid for {}, not {host}", ips.join(", "));
    }
    if dns.is_empty() {
        return "certificate relies on legacy Common Name field, use SANs instead".to_string();
    }
    format!("certificate is valid for {}, not {host}", dns.join(", "))
}
