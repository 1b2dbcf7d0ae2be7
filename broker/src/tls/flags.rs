//! The `--tls`, `--tlscert`, `--tlskey`, `--tlscacert` and `--tlsverify` flags and their
//! override of the config file's TLS, as nats-server's `overrideTLS`.

use std::path::PathBuf;

use super::{TlsConfig, TlsSettings};
use crate::options::Options;

/// The TLS flags given on the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsFlags {
    tls: Option<bool>,
    cert: Option<String>,
    key: Option<String>,
    ca: Option<String>,
    verify: Option<bool>,
}

impl TlsFlags {
    /// Records a string flag's value.
    pub fn set_value(&mut self, name: &str, value: String) {
        match name {
            "tlscert" => self.cert = Some(value),
            "tlskey" => self.key = Some(value),
            "tlscacert" => self.ca = Some(value),
            _ => {}
        }
    }

    /// Records a boolean flag.
    pub fn set_bool(&mut self, name: &str, on: bool) {
        match name {
            "tls" => self.tls = Some(on),
            "tlsverify" => self.verify = Some(on),
            _ => {}
        }
    }

    /// Applies the flags over the config file's TLS. `-tls=false` turns TLS off; any other
    /// TLS flag replaces the certificate, key, CA and verification with the flags' values
    /// (nats-server keeps the file's timeout, mapping, pins and handshake-first). Errors are
    /// nats-server's texts.
    pub fn apply(&self, opts: &mut Options) -> Result<(), String> {
        if self.tls == Some(false) {
            opts.tls = None;
            return Ok(());
        }
        let any = self.tls.is_some()
            || self.cert.is_some()
            || self.key.is_some()
            || self.ca.is_some()
            || self.verify.is_some();
        if !any {
            return Ok(());
        }
        let non_empty = |v: &Option<String>| v.as_ref().filter(|s| !s.is_empty()).cloned();
        let Some(cert) = non_empty(&self.cert) else {
            return Err("TLS Server certificate must be present and valid".into());
        };
        let Some(key) = non_empty(&self.key) else {
            return Err("TLS Server private key must be present and valid".into());
        };
        let file = opts
            .tls
            .as_ref()
            .map(|t| t.settings.clone())
            .unwrap_or_default();
        let settings = TlsSettings {
            cert_file: Some(PathBuf::from(cert)),
            key_file: Some(PathBuf::from(key)),
            ca_file: non_empty(&self.ca).map(PathBuf::from),
            verify: self.verify.unwrap_or(false),
            min_version: Default::default(),
            ..file
        };
        opts.tls = Some(TlsConfig::build(settings)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(dir: &std::path::Path) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        (c.display().to_string(), k.display().to_string())
    }

    #[test]
    fn flags_override_the_file_as_nats_server() {
        let dir = std::env::temp_dir().join(format!("rnats-tlsflags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert, key) = self_signed(&dir);
        let mut o = Options::default();
        let mut f = TlsFlags::default();
        f.set_bool("tls", true);
        assert_eq!(
            f.apply(&mut o).expect_err("refused"),
            "TLS Server certificate must be present and valid"
        );
        f.set_value("tlscert", cert.clone());
        assert_eq!(
            f.apply(&mut o).expect_err("refused"),
            "TLS Server private key must be present and valid"
        );
        f.set_value("tlskey", key);
        f.apply(&mut o).expect("valid");
        let tls = o.tls.clone().expect("TLS on");
        assert!(!tls.verify());
        f.set_value("tlscacert", cert);
        f.set_bool("tlsverify", true);
        f.apply(&mut o).expect("valid");
        assert!(o.tls.as_ref().is_some_and(|t| t.verify()));
        let mut off = TlsFlags::default();
        off.set_bool("tls", false);
        off.apply(&mut o).expect("valid");
        assert!(o.tls.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
