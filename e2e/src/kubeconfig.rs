//! Kubeconfig files for the admin, the controller-manager and the scheduler.
//! They are written as JSON (a subset of YAML that kubectl, client-go and kube-rs
//! all read) and point at the PKI files by path.

use std::path::Path;

use serde_json::json;

use crate::error::{IoContext, Result, at};
use crate::pki::CertPair;

/// The cluster, context and user name inside every generated kubeconfig.
pub const CONTEXT: &str = "rnats-e2e";

/// Writes a kubeconfig at `path` for the apiserver at `server` (an `https://`
/// URL), trusting `ca_cert` and authenticating with the client certificate `user`.
pub fn write(path: &Path, server: &str, ca_cert: &Path, user: &CertPair) -> Result<()> {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": server,
                "certificate-authority": ca_cert,
            },
        }],
        "users": [{
            "name": CONTEXT,
            "user": {
                "client-certificate": user.cert,
                "client-key": user.key,
            },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": CONTEXT, "namespace": "default" },
        }],
        "current-context": CONTEXT,
    });
    let text = serde_json::to_string_pretty(&config).map_err(std::io::Error::from);
    text.and_then(|text| std::fs::write(path, text))
        .context(|| at("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_reads_what_we_write() {
        let dir = std::env::temp_dir().join(format!("rnats-e2e-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let path = dir.join("kubeconfig");
        let user = CertPair {
            cert: dir.join("u.crt"),
            key: dir.join("u.key"),
        };
        write(&path, "https://10.254.0.1:6443", &dir.join("ca.crt"), &user)
            .expect("write the kubeconfig");
        let parsed = kube::config::Kubeconfig::read_from(&path).expect("parse the kubeconfig");
        assert_eq!(parsed.current_context.as_deref(), Some(CONTEXT));
        let cluster = parsed.clusters[0]
            .cluster
            .as_ref()
            .expect("a cluster entry");
        assert_eq!(cluster.server.as_deref(), Some("https://10.254.0.1:6443"));
        std::fs::remove_dir_all(&dir).expect("remove the test directory");
    }
}
