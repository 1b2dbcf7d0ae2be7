//! A throwaway PKI for TLS tests, made with rcgen at test time: a CA, server certificates for
//! `localhost`/`127.0.0.1`, and client certificates with a chosen subject and SANs, written as
//! PEM files into a temp directory.

#![allow(dead_code)]

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::process::TempDir;

/// A certificate and its key on disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate as DER (for SPKI pins).
    pub der: Vec<u8>,
}

/// A CA that signs server and client certificates.
pub struct Pki {
    pub dir: TempDir,
    pub ca: PathBuf,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

impl Pki {
    /// A new CA (its certificate is `ca.pem`).
    pub fn new(tag: &str) -> Pki {
        let dir = TempDir::new(tag);
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.distinguished_name = DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("rnats test CA {tag}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_cert.pem()).expect("write CA");
        Pki {
            dir,
            ca,
            ca_params,
            ca_key,
        }
    }

    fn issue(&self, name: &str, mut params: CertificateParams) -> CertFiles {
        let key = KeyPair::generate().expect("key");
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer).expect("sign");
        let files = CertFiles {
            cert: self.dir.path().join(format!("{name}-cert.pem")),
            key: self.dir.path().join(format!("{name}-key.pem")),
            der: cert.der().to_vec(),
        };
        write_atomic(&files.cert, cert.pem().as_bytes());
        write_atomic(&files.key, key.serialize_pem().as_bytes());
        files
    }

    /// A server certificate for `localhost` and `127.0.0.1`, with `cn` as its common name.
    pub fn server(&self, name: &str, cn: &str) -> CertFiles {
        let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("server params");
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(name, p)
    }

    /// A route certificate for `localhost` and `127.0.0.1`: routes are TLS server and client
    /// both, so it carries both extended key usages.
    pub fn route(&self, name: &str) -> CertFiles {
        self.route_for(name, &["localhost", "127.0.0.1"])
    }

    /// A route certificate for the names (DNS or IP) in `sans`.
    pub fn route_for(&self, name: &str, sans: &[&str]) -> CertFiles {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(sans).expect("route params");
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.issue(name, p)
    }

    /// A client certificate with subject `dn` (in order) and e-mail SANs `emails`.
    pub fn client(&self, name: &str, dn: &[(DnType, &str)], emails: &[&str]) -> CertFiles {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("client params");
        p.distinguished_name = DistinguishedName::new();
        for (t, v) in dn {
            p.distinguished_name.push(t.clone(), *v);
        }
        p.subject_alt_names = emails
            .iter()
            .map(|e| SanType::Rfc822Name((*e).try_into().expect("ia5 email")))
            .collect();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(name, p)
    }

    /// The files the server config names for its certificate (so tests can replace them).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomic(path: &std::path::Path, data: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A server `tls {}` block (config syntax) for `server` with extra lines.
pub fn tls_block(server: &CertFiles, extra: &str) -> String {
    format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n{extra}\n}}\n",
        server.cert.display(),
        server.key.display()
    )
}
