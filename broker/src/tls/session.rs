//! What a finished TLS handshake tells monitoring: protocol version, cipher suite and the
//! client's certificate chain, named as nats-server names them (`tlsVersion`,
//! `tls.CipherSuiteName`, `makePeerCerts`).

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The negotiated parameters of one client's TLS session.
#[derive(Debug, Clone, Default)]
pub struct TlsSession {
    /// `1.2` or `1.3`, as nats-server's `tlsVersion`.
    pub version: String,
    /// The IANA suite name as Go's `tls.CipherSuiteName` spells it.
    pub cipher: String,
    /// The client's certificate chain, leaf first (empty without mutual TLS).
    pub peer_certs: Vec<CertificateDer<'static>>,
    /// The client started the handshake before INFO (`handshake_first`).
    pub first: bool,
}

/// One certificate in `/connz` `tls_peer_certs` (`TLSPeerCert`).
#[derive(Debug, Clone, Serialize)]
pub struct PeerCertInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(rename = "spki_sha256", skip_serializing_if = "String::is_empty")]
    pub spki_sha256: String,
    #[serde(rename = "cert_sha256", skip_serializing_if = "String::is_empty")]
    pub cert_sha256: String,
}

impl TlsSession {
    /// Reads the session parameters from a rustls connection (either side).
    pub fn of(conn: &rustls::CommonState, first: bool) -> TlsSession {
        TlsSession {
            version: conn
                .protocol_version()
                .map(version_name)
                .unwrap_or_default(),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| suite_name(s.suite()))
                .unwrap_or_default(),
            peer_certs: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            first,
        }
    }

    /// The peer chain as `/connz?auth=1` reports it.
    pub fn peer_cert_infos(&self) -> Vec<PeerCertInfo> {
        self.peer_certs.iter().map(peer_cert_info).collect()
    }
}

/// nats-server's `tlsVersion`.
fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_0 => "1.0".into(),
        rustls::ProtocolVersion::TLSv1_1 => "1.1".into(),
        rustls::ProtocolVersion::TLSv1_2 => "1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "1.3".into(),
        other => format!("Unknown [0x{:x}]", u16::from(other)),
    }
}

/// Go's suite names: rustls spells TLS 1.3 suites `TLS13_…` where Go (and IANA) say `TLS_…`;
/// TLS 1.2 names are the same in both.
fn suite_name(s: rustls::CipherSuite) -> String {
    let name = format!("{s:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// Subject (as Go's `pkix.Name.String`), SPKI and certificate SHA-256 in hex.
fn peer_cert_info(cert: &CertificateDer<'_>) -> PeerCertInfo {
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (subject, spki) = match x509_parser::parse_x509_certificate(cert.as_ref()) {
        Ok((_, parsed)) => (
            crate::auth::certmap::go_subject_string(parsed.subject()),
            hex(&Sha256::digest(parsed.public_key().raw)),
        ),
        Err(_) => (String::new(), String::new()),
    };
    PeerCertInfo {
        subject,
        spki_sha256: spki,
        cert_sha256: hex(&Sha256::digest(cert.as_ref())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_follow_go() {
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_3), "1.3");
    }
}
