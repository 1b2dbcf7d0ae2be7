//! The control plane's PKI, generated with rcgen for each run: a CA, serving
//! certificates for kube-apiserver, kube-controller-manager and kube-scheduler,
//! client certificates for the admin, the controller-manager and the scheduler,
//! and the service-account token signing key. All keys are ECDSA P-256.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{IoContext, Result, at};

/// Names the apiserver's serving certificate is valid for, besides its address
/// and its Service IP (how in-cluster clients reach it).
const APISERVER_DNS_NAMES: [&str; 4] = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// A certificate and its private key, as PEM files.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: PathBuf,
}

/// Every file of the PKI, written under one directory.
#[derive(Clone, Debug)]
pub struct Pki {
    /// The CA that signed everything below; also the cluster's client CA.
    pub ca: CertPair,
    /// The CA certificate in DER, for Rust clients.
    pub ca_der: Vec<u8>,
    /// kube-apiserver's serving certificate.
    pub apiserver: CertPair,
    /// kube-controller-manager's serving certificate.
    pub controller_manager_serving: CertPair,
    /// kube-scheduler's serving certificate.
    pub scheduler_serving: CertPair,
    /// Client certificate of the admin (group `system:masters`).
    pub admin: CertPair,
    /// Client certificate of `system:kube-controller-manager`.
    pub controller_manager: CertPair,
    /// Client certificate of `system:kube-scheduler`.
    pub scheduler: CertPair,
    /// Service-account token signing key (private, PKCS#8 PEM).
    pub service_account_key: PathBuf,
    /// Its public half (PEM), which the apiserver verifies tokens with.
    pub service_account_pub: PathBuf,
}

/// Who a client certificate names.
struct ClientIdentity<'a> {
    file: &'a str,
    user: &'a str,
    group: Option<&'a str>,
}

impl Pki {
    /// Generates the PKI into `dir` for an apiserver at `ip` whose in-cluster
    /// Service address is `service_ip`.
    pub fn create(dir: &Path, ip: Ipv4Addr, service_ip: Ipv4Addr) -> Result<Self> {
        std::fs::create_dir_all(dir).context(|| at("create", dir))?;

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rnats-e2e-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = write_pair(dir, "ca", &ca_cert.pem(), &ca_key)?;
        let ca_der = ca_cert.der().to_vec();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut apiserver_names = vec![ip.to_string(), service_ip.to_string()];
        apiserver_names.extend(APISERVER_DNS_NAMES.iter().map(|s| (*s).to_owned()));
        let apiserver = serving(dir, "apiserver", "kube-apiserver", apiserver_names, &issuer)?;
        let controller_manager_serving = serving(
            dir,
            "controller-manager-serving",
            "kube-controller-manager",
            vec![ip.to_string()],
            &issuer,
        )?;
        let scheduler_serving = serving(
            dir,
            "scheduler-serving",
            "kube-scheduler",
            vec![ip.to_string()],
            &issuer,
        )?;

        let admin = client(
            dir,
            &ClientIdentity {
                file: "admin",
                user: "rnats-e2e-admin",
                group: Some("system:masters"),
            },
            &issuer,
        )?;
        let controller_manager = client(
            dir,
            &ClientIdentity {
                file: "controller-manager",
                user: "system:kube-controller-manager",
                group: None,
            },
            &issuer,
        )?;
        let scheduler = client(
            dir,
            &ClientIdentity {
                file: "scheduler",
                user: "system:kube-scheduler",
                group: None,
            },
            &issuer,
        )?;

        let sa_key = KeyPair::generate()?;
        let service_account_key = dir.join("service-account.key");
        let service_account_pub = dir.join("service-account.pub");
        write(&service_account_key, &sa_key.serialize_pem())?;
        write(&service_account_pub, &sa_key.public_key_pem())?;

        Ok(Self {
            ca,
            ca_der,
            apiserver,
            controller_manager_serving,
            scheduler_serving,
            admin,
            controller_manager,
            scheduler,
            service_account_key,
            service_account_pub,
        })
    }
}

/// A server certificate for `names` (IP addresses or DNS names).
fn serving(
    dir: &Path,
    file: &str,
    common_name: &str,
    names: Vec<String>,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<CertPair> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, issuer)?;
    write_pair(dir, file, &cert.pem(), &key)
}

/// A client certificate: Kubernetes reads the user from the CN and groups from O.
fn client(dir: &Path, who: &ClientIdentity<'_>, issuer: &Issuer<'_, KeyPair>) -> Result<CertPair> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::new())?;
    params.distinguished_name.push(DnType::CommonName, who.user);
    if let Some(group) = who.group {
        params
            .distinguished_name
            .push(DnType::OrganizationName, group);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer)?;
    write_pair(dir, who.file, &cert.pem(), &key)
}

fn write_pair(dir: &Path, file: &str, cert_pem: &str, key: &KeyPair) -> Result<CertPair> {
    let pair = CertPair {
        cert: dir.join(format!("{file}.crt")),
        key: dir.join(format!("{file}.key")),
    };
    write(&pair.cert, cert_pem)?;
    write(&pair.key, &key.serialize_pem())?;
    Ok(pair)
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).context(|| at("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_and_a_der_ca() {
        let dir = std::env::temp_dir().join(format!("rnats-e2e-pki-test-{}", std::process::id()));
        let pki = Pki::create(
            &dir,
            Ipv4Addr::new(10, 254, 0, 1),
            Ipv4Addr::new(10, 96, 0, 1),
        )
        .expect("generate the PKI");
        for path in [
            &pki.ca.cert,
            &pki.apiserver.key,
            &pki.admin.cert,
            &pki.scheduler.key,
            &pki.service_account_key,
            &pki.service_account_pub,
        ] {
            let text = std::fs::read_to_string(path).expect("read a PKI file");
            assert!(
                text.starts_with("-----BEGIN "),
                "{} is not PEM",
                path.display()
            );
        }
        assert!(!pki.ca_der.is_empty());
        std::fs::remove_dir_all(&dir).expect("remove the test directory");
    }
}
