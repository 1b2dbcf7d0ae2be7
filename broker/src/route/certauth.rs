//! Route authorization by certificate (`cluster { tls { verify_and_map } }` and
//! `verify_cert_and_check_known_urls`), as nats-server's `isRouterAuthorized`: the peer's
//! certificate names the route user, or carries a DNS name matching a configured route's host.
//! Either setting replaces the user/password check. Also the reload of route `pinned_certs`.

use rustls::pki_types::CertificateDer;

use super::options::{ClusterOptions, RouteUrl};

/// Whether the accepted route's certificate authorizes it. `None` when neither setting is on
/// (the user/password check applies).
pub fn authorized(opts: &ClusterOptions, cert: Option<&CertificateDer<'_>>) -> Option<bool> {
    let tls = opts.tls.as_ref()?;
    let (map, known_urls) = (tls.settings.map, tls.settings.check_known_urls);
    if !map && !known_urls {
        return None;
    }
    let Some(cert) = cert else {
        tracing::debug!("User required in cert, no peer certificates found");
        return Some(false);
    };
    let user = opts.username.as_deref().unwrap_or("");
    for (name, is_dns) in crate::auth::certmap::route_names(cert.as_ref()) {
        if name.is_empty() {
            continue;
        }
        if known_urls && is_dns && dns_alt_name_matches(&name, &opts.routes) {
            tracing::debug!("Using SAN found in cert for auth [{name:?}]");
            return Some(true);
        }
        if map && name == user {
            tracing::debug!("Using certificate name for auth [{name:?}]");
            return Some(true);
        }
    }
    Some(false)
}

/// nats-server's `dnsAltNameMatches` (RFC 6125 6.4.1): the DNS name equals a configured
/// route's host label by label, case-insensitively; `*` matches only the leftmost label.
fn dns_alt_name_matches(name: &str, routes: &[RouteUrl]) -> bool {
    let labels: Vec<String> = name.to_lowercase().split('.').map(str::to_string).collect();
    routes.iter().any(|r| {
        let host = r.host.to_lowercase();
        let host: Vec<&str> = host.split('.').collect();
        if host.len() != labels.len() {
            return false;
        }
        let skip = usize::from(labels[0] == "*");
        labels.iter().zip(&host).skip(skip).all(|(a, b)| a == b)
    })
}

/// After a reload changed the route `pinned_certs`: closes the routes whose peer certificate
/// is no longer pinned (nats-server's `recheckPinnedCerts`).
pub fn recheck_pinned(server: &crate::server::Server) {
    let opts = server.options();
    let Some(tls) = &opts.cluster.tls else {
        return;
    };
    let cut: Vec<_> = server
        .routes
        .routes()
        .into_iter()
        .filter(|r| !crate::tls::pinned_cert_ok(&tls.settings, r.peer_cert.get()))
        .collect();
    if cut.is_empty() {
        return;
    }
    tracing::info!(
        "Disconnect {} clients due to pinned certs reload",
        cut.len()
    );
    for r in cut {
        r.shared
            .close(crate::client::CloseReason::TlsHandshakeError);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_match_route_hosts_as_nats_server() {
        let routes = vec![
            RouteUrl::parse("nats://Nats-1.Example.com:6222").expect("url"),
            RouteUrl::parse("nats://127.0.0.1:6222").expect("url"),
        ];
        assert!(dns_alt_name_matches("nats-1.example.com", &routes));
        assert!(dns_alt_name_matches("*.example.com", &routes));
        assert!(!dns_alt_name_matches("*.com", &routes));
        assert!(!dns_alt_name_matches("example.com", &routes));
        assert!(!dns_alt_name_matches("nats-2.example.com", &routes));
    }
}
