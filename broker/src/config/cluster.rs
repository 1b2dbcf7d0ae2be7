//! The `cluster { ... }` block: nats-server's `parseCluster` (names, checks and messages).

use std::sync::Arc;
use std::time::Duration;

use super::auth::parse_cluster_authorization;
use super::blocks::check_block_keys;
use super::convert::{mismatch, parse_listen, want_bool, want_int, want_str};
use super::duration::parse_go_duration;
use super::error::{Diagnostic, Warning};
use super::permissions::parse_permissions;
use super::value::{Token, Value};
use crate::options::Options;
use crate::permissions::Permissions;
use crate::route::options::{ClusterOptions, ROUTE_MAX_PING_INTERVAL, RouteUrl};
use crate::tls::RouteTls;

/// Compression modes nats-server accepts in `cluster { compression: ... }`.
const COMPRESSION_MODES: &[&str] = &[
    "off",
    "disabled",
    "accept",
    "s2_fast",
    "fast",
    "s2_better",
    "better",
    "s2_best",
    "best",
    "s2_auto",
    "auto",
    "s2_uncompressed",
    "uncompressed",
];

/// Applies `cluster` to `opts`, appending errors and warnings.
pub(crate) fn apply_cluster(
    tok: &Token,
    opts: &mut Options,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) {
    let Value::Map(m) = &tok.value else {
        let msg = format!(
            "Expected map to define cluster, got {}",
            tok.value.go_type()
        );
        return errors.push(Diagnostic::at(&tok.pos, msg));
    };
    // Unknown keys get nats-server's `unknown field` error.
    check_block_keys("cluster", tok, errors);
    let c = &mut opts.cluster;
    // Zero until `authorization { timeout }` sets it; then nats-server's default applies.
    c.auth_timeout = Duration::ZERO;
    for (k, t) in m.iter() {
        if let Err(d) = key(c, k, t, errors, warnings) {
            errors.push(d);
        }
    }
    if c.auth_timeout.is_zero() {
        c.auth_timeout = c.default_auth_timeout();
    }
}

fn key(
    c: &mut ClusterOptions,
    k: &str,
    t: &Token,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) -> Result<(), Diagnostic> {
    match k.to_lowercase().as_str() {
        "name" => {
            let n = want_str(t)?;
            if n.contains(' ') {
                return Err(Diagnostic::at(&t.pos, "cluster name cannot contain spaces"));
            }
            c.name = (!n.is_empty()).then(|| n.to_string());
        }
        "listen" => {
            let (host, port) = parse_listen(t)?;
            if !host.is_empty() {
                c.host = host;
            }
            c.port = route_port(t, port)?;
        }
        "port" => {
            c.port = route_port(t, want_int(t)?)?;
        }
        "host" | "net" => c.host = want_str(t)?.to_string(),
        "authorization" => {
            if let Some(auth) = parse_cluster_authorization(t, errors, warnings) {
                c.username = (!auth.user.is_empty()).then_some(auth.user);
                c.password = (!auth.pass.is_empty()).then_some(auth.pass);
                c.auth_timeout = if auth.timeout > 0.0 {
                    Duration::try_from_secs_f64(auth.timeout).unwrap_or(Duration::MAX)
                } else {
                    Duration::ZERO
                };
                if let Some(p) = auth.permissions {
                    check_permission_subjects(&p).map_err(|m| Diagnostic::at(&t.pos, m))?;
                    let msg =
                        "setting \"permissions\" within cluster authorization block is deprecated";
                    warnings.push(Warning::reference(&t.pos, k, msg));
                    // The cluster block's own `permissions` win, whichever comes first.
                    if c.permissions.is_none() {
                        c.permissions = Some(p);
                    }
                }
            }
        }
        "permissions" => {
            if let Some(p) = parse_permissions(t, errors, warnings) {
                if p.response.is_some() {
                    let msg = "Cluster permissions do not support dynamic responses";
                    return Err(Diagnostic::at(&t.pos, msg));
                }
                check_permission_subjects(&p).map_err(|m| Diagnostic::at(&t.pos, m))?;
                c.permissions = Some(Arc::new(p));
            }
        }
        "routes" => {
            let Value::Array(a) = &t.value else {
                return Err(mismatch(t, "[]interface {}"));
            };
            let mut routes = Vec::new();
            for e in a.iter() {
                let s = want_str(e)?;
                if routes.iter().any(|r: &(String, RouteUrl)| r.0 == s) {
                    let reason = "Duplicate route entry detected";
                    warnings.push(Warning::reference(&e.pos, s, reason));
                    continue;
                }
                match RouteUrl::parse(s) {
                    Ok(u) => routes.push((s.to_string(), u)),
                    Err(_) => {
                        let msg = format!("error parsing route url [{:?}]", s.trim());
                        errors.push(Diagnostic::at(&e.pos, msg));
                    }
                }
            }
            c.routes = routes.into_iter().map(|(_, u)| u).collect();
        }
        "tls" => {
            let settings = super::tls::parse_tls(t, false, warnings)?;
            let tls = RouteTls::build(settings).map_err(|e| Diagnostic::on(t, e))?;
            c.tls = Some(tls);
        }
        "cluster_advertise" | "advertise" => {
            let a = want_str(t)?;
            c.advertise = (!a.is_empty()).then(|| a.to_string());
        }
        "no_advertise" => c.no_advertise = want_bool(t)?,
        "connect_retries" => c.connect_retries = want_int(t)?,
        "connect_backoff" => {
            want_bool(t)?;
        }
        "pool_size" => {
            let n = want_int(t)?;
            c.pool_size = if n == 0 {
                crate::route::options::DEFAULT_ROUTE_POOL_SIZE
            } else {
                n
            };
        }
        "compression" => match &t.value {
            Value::String(s) => {
                let mode = s.to_lowercase();
                if !COMPRESSION_MODES.contains(&mode.as_str()) {
                    let msg = format!("unsupported compression mode {s:?}");
                    return Err(Diagnostic::at(&t.pos, msg));
                }
                c.compression = mode;
            }
            Value::Bool(b) => c.compression = if *b { "s2_fast" } else { "off" }.to_string(),
            Value::Map(_) => c.compression = "s2_auto".to_string(),
            _ => return Err(mismatch(t, "string")),
        },
        "ping_interval" => {
            let d = match &t.value {
                Value::String(s) => parse_go_duration(s).map_err(|e| {
                    Diagnostic::at(&t.pos, format!("error parsing ping_interval: {e}"))
                })?,
                Value::Int(secs) => secs.saturating_mul(1_000_000_000),
                _ => return Err(mismatch(t, "string")),
            };
            if let Ok(ns) = u64::try_from(d)
                && ns > 0
            {
                let d = Duration::from_nanos(ns);
                if d > ROUTE_MAX_PING_INTERVAL {
                    let msg =
                        "Cluster 'ping_interval' will reset to 30s which is the max for routes";
                    warnings.push(Warning::reference(&t.pos, "ping_interval", msg));
                }
                c.ping_interval = d.min(ROUTE_MAX_PING_INTERVAL);
            }
        }
        "ping_max" => {
            let n = want_int(t)?;
            if n > 0 {
                c.ping_max = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        "accounts" | "write_deadline" | "write_timeout" => {
            warnings.push(Warning::unsupported(&t.pos, k));
        }
        // Unknown keys were reported by `check_block_keys`.
        _ => {}
    }
    Ok(())
}

/// nats-server's `checkClusterPermissionSubjects`: import and export entries are plain
/// subjects (no queue groups).
fn check_permission_subjects(p: &Permissions) -> Result<(), String> {
    let sides = [
        ("import", p.publish.as_ref()),
        ("export", p.subscribe.as_ref()),
    ];
    for (side, sp) in sides {
        let Some(sp) = sp else { continue };
        for (list, entries) in [("allow", &sp.allow), ("deny", &sp.deny)] {
            for e in entries.iter().flatten() {
                if e.queue.is_some() {
                    return Err(format!(
                        "cluster {side} {list}: subject {} is not a valid subject",
                        super::gofmt::quote(&e.to_text())
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A route port: `-1` random, `0` clustering off, else the port.
fn route_port(t: &Token, n: i64) -> Result<Option<u16>, Diagnostic> {
    match n {
        -1 => Ok(None),
        _ => u16::try_from(n)
            .map(Some)
            .map_err(|_| Diagnostic::at(&t.pos, format!("invalid port {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::options::Options;

    /// A self-signed route certificate (it is its own CA) in a temp directory.
    fn files(tag: &str) -> (std::path::PathBuf, String, String) {
        let dir =
            std::env::temp_dir().join(format!("rnats-cluster-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&c, cert.pem()).expect("write");
        std::fs::write(&k, key.serialize_pem()).expect("write");
        (dir, c.display().to_string(), k.display().to_string())
    }

    fn load(conf: &str) -> Result<Options, String> {
        let map = crate::config::parse_str(conf, "t.conf", &|_| None).map_err(|e| e.to_string())?;
        let mut o = Options::default();
        crate::config::apply_map("t.conf", &map, &mut o).map_err(|e| e.to_string())?;
        Ok(o)
    }

    #[test]
    fn route_tls_and_the_auth_timeout_it_implies() {
        let (dir, cert, key) = files("apply");
        let tls =
            format!("tls {{ cert_file: \"{cert}\", key_file: \"{key}\", ca_file: \"{cert}\" }}");
        let o = load(&format!("cluster {{ port: -1, {tls} }}")).expect("loads");
        let t = o.cluster.tls.as_ref().expect("route TLS");
        assert_eq!(t.timeout(), Duration::from_secs(2));
        // nats-server's getDefaultAuthTimeout: TLS timeout + 1 s.
        assert_eq!(o.cluster.auth_timeout, Duration::from_secs(3));
        let tls4 = tls.replace(" }", ", timeout: 4 }");
        let o = load(&format!("cluster {{ port: -1, {tls4} }}")).expect("loads");
        assert_eq!(o.cluster.auth_timeout, Duration::from_secs(5));
        let o = load(&format!(
            "cluster {{ port: -1, authorization {{ user: a, password: b, timeout: 7 }}, {tls} }}"
        ))
        .expect("loads");
        assert_eq!(o.cluster.auth_timeout, Duration::from_secs(7));
        let o = load("cluster { port: -1 }").expect("loads");
        assert!(o.cluster.tls.is_none());
        assert_eq!(o.cluster.auth_timeout, Duration::from_secs(2));
        // `insecure` is kept for the dialling side.
        let insecure = tls.replace(" }", ", insecure: true }");
        let o = load(&format!("cluster {{ port: -1, {insecure} }}")).expect("loads");
        assert!(o.cluster.tls.as_ref().is_some_and(|t| t.settings.insecure));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn route_tls_errors_as_nats_server() {
        assert_eq!(
            load("cluster {\n  tls { bogus: 1 }\n}\n").expect_err("refused"),
            "t.conf:2:9: error parsing tls config, unknown field \"bogus\""
        );
        let e = load("cluster {\n  tls { cert_file: \"/nope.pem\", key_file: \"/nope.pem\" }\n}\n")
            .expect_err("refused");
        assert!(
            e.ends_with(
                "error parsing X509 certificate/key pair: open /nope.pem: no such file or directory"
            ),
            "{e}"
        );
    }
}
