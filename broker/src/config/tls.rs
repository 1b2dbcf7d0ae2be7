//! The top-level `tls { ... }` block: nats-server's `parseTLS` (field checks and texts) and
//! `GenTLSConfig` (files read at load time, so `-t` and a reload report bad certificates).
//! Options rnats does not implement (cipher and curve lists, OCSP, certificate stores, rate
//! limit) load with a warning.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::convert::mismatch;
use super::duration::parse_go_duration;
use super::error::{Diagnostic, Warning};
use super::gofmt::quote;
use super::value::{Token, Value};
use crate::options::Options;
use crate::tls::{DEFAULT_HANDSHAKE_FIRST_FALLBACK, MinVersion, TlsConfig, TlsSettings};

/// Applies `tls` to `opts`: parses it, reads the files, and builds the server config.
pub(crate) fn apply_tls(
    tok: &Token,
    opts: &mut Options,
    warnings: &mut Vec<Warning>,
) -> Result<(), Diagnostic> {
    let settings = parse_tls(tok, true, warnings)?;
    let config = TlsConfig::build(settings).map_err(|e| Diagnostic::on(tok, e))?;
    opts.tls = Some(config);
    Ok(())
}

/// nats-server's `parseTLS`; `client_ctx` is false for `cluster` (and gateway) blocks, where
/// `verify_cert_and_check_known_urls` is allowed.
pub(crate) fn parse_tls(
    tok: &Token,
    client_ctx: bool,
    warnings: &mut Vec<Warning>,
) -> Result<TlsSettings, Diagnostic> {
    let Value::Map(m) = &tok.value else {
        return Err(mismatch(tok, "map[string]interface {}"));
    };
    let mut s = TlsSettings::default();
    for (k, v) in m.iter() {
        let err = |msg: String| Diagnostic::on(v, msg);
        let file = |field: &str| match &v.value {
            Value::String(p) => Ok(PathBuf::from(p)),
            _ => Err(err(format!(
                "error parsing tls config, expected '{field}' to be filename"
            ))),
        };
        let boolean = |field: &str| match v.value {
            Value::Bool(b) => Ok(b),
            _ => Err(err(format!(
                "error parsing tls config, expected '{field}' to be a boolean"
            ))),
        };
        match k.to_lowercase().as_str() {
            "cert_file" => s.cert_file = Some(file("cert_file")?),
            "key_file" => s.key_file = Some(file("key_file")?),
            "ca_file" => s.ca_file = Some(file("ca_file")?),
            // Only affects certificates the server verifies as a client (routes, leafs).
            "insecure" => s.insecure = boolean("insecure")?,
            "verify" => s.verify = boolean("verify")?,
            "verify_and_map" => {
                let on = boolean("verify_and_map")?;
                s.verify |= on;
                s.map = on;
            }
            "verify_cert_and_check_known_urls" => {
                if boolean("verify_cert_and_check_known_urls")? {
                    if client_ctx {
                        let msg = "verify_cert_and_check_known_urls not supported in this context";
                        return Err(err(msg.into()));
                    }
                    s.verify = true;
                    s.check_known_urls = true;
                }
            }
            "allow_insecure_cipher_suites" => {
                boolean("allow_insecure_cipher_suites")?;
                warnings.push(Warning::unsupported(&v.pos, k));
            }
            "cipher_suites" | "curve_preferences" => {
                let Value::Array(a) = &v.value else {
                    return Err(mismatch(v, "[]interface {}"));
                };
                if a.is_empty() {
                    let field = k.to_lowercase();
                    return Err(err(format!(
                        "error parsing tls config, '{field}' cannot be empty"
                    )));
                }
                warnings.push(Warning::unsupported(&v.pos, k));
            }
            "timeout" => s.timeout = timeout(v)?,
            "connection_rate_limit" => {
                if !matches!(v.value, Value::Int(_)) {
                    let msg = "error parsing tls config, 'connection_rate_limit' wrong type";
                    return Err(err(msg.into()));
                }
                warnings.push(Warning::unsupported(&v.pos, k));
            }
            "pinned_certs" => s.pinned_certs = pinned_certs(v)?,
            "handshake_first" | "first" | "immediate" => {
                (s.handshake_first, s.fallback_delay) = handshake_first(k, v)?;
            }
            "min_version" => s.min_version = min_version(v)?,
            "cert_store"
            | "cert_match_by"
            | "cert_match"
            | "ca_certs_match"
            | "cert_match_skip_invalid"
            | "ocsp_peer"
            | "certs"
            | "certificates" => {
                warnings.push(Warning::unsupported(&v.pos, k));
            }
            _ => {
                return Err(err(format!(
                    "error parsing tls config, unknown field {}",
                    quote(k)
                )));
            }
        }
    }
    Ok(s)
}

/// `timeout`: seconds (integer or float) or a Go duration string.
fn timeout(v: &Token) -> Result<Duration, Diagnostic> {
    let secs = match &v.value {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => match parse_go_duration(s) {
            Ok(ns) => ns as f64 / 1e9,
            Err(e) => {
                let msg = format!("error parsing tls config, 'timeout' {e}");
                return Err(Diagnostic::on(v, msg));
            }
        },
        _ => {
            let msg = "error parsing tls config, 'timeout' wrong type";
            return Err(Diagnostic::on(v, msg));
        }
    };
    // Zero or negative: the default applies.
    Ok(Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))
}

/// `pinned_certs`: hex SHA-256 digests of SubjectPublicKeyInfo; an empty list pins nothing.
fn pinned_certs(v: &Token) -> Result<Option<BTreeSet<String>>, Diagnostic> {
    let Value::Array(a) = &v.value else {
        let msg = "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded \
                   sha256 of DER encoded SubjectPublicKeyInfo";
        return Err(Diagnostic::on(v, msg));
    };
    if a.is_empty() {
        return Ok(None);
    }
    let mut pins = BTreeSet::new();
    for e in a.iter() {
        let Value::String(s) = &e.value else {
            return Err(mismatch(e, "string"));
        };
        let entry = s.to_lowercase();
        if entry.len() != 64 || !entry.bytes().all(|b| b.is_ascii_hexdigit()) {
            let msg = format!(
                "error parsing tls config, 'pinned_certs' key {entry} does not look like \
                 hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"
            );
            return Err(Diagnostic::on(e, msg));
        }
        pins.insert(entry);
    }
    Ok(Some(pins))
}

/// `handshake_first` (or `first`, `immediate`): a boolean, `on`/`off`, `auto`, or the
/// fallback delay as a duration.
fn handshake_first(k: &str, v: &Token) -> Result<(bool, Option<Duration>), Diagnostic> {
    match &v.value {
        Value::Bool(b) => Ok((*b, None)),
        Value::String(s) => match s.to_lowercase().as_str() {
            "true" | "on" => Ok((true, None)),
            "false" | "off" => Ok((false, None)),
            "auto" | "auto_fallback" => Ok((true, Some(DEFAULT_HANDSHAKE_FIRST_FALLBACK))),
            _ => match parse_go_duration(s) {
                Ok(ns) => Ok((true, Some(Duration::from_nanos(ns.max(0).unsigned_abs())))),
                Err(_) => Err(Diagnostic::on(
                    v,
                    format!("field {}'s value {} is invalid", quote(k), quote(s)),
                )),
            },
        },
        other => Err(Diagnostic::on(
            v,
            format!(
                "field {} should be a boolean or a string, got {}",
                quote(k),
                other.go_type()
            ),
        )),
    }
}

/// `min_version`: `"1.2"` or `"1.3"`; older versions are refused as by nats-server.
fn min_version(v: &Token) -> Result<MinVersion, Diagnostic> {
    let fail = |msg: String| Diagnostic::on(v, format!("error parsing tls config: {msg}"));
    let Value::String(s) = &v.value else {
        return Err(fail(format!(
            "'min_version' wrong type: {}",
            v.value.go_display()
        )));
    };
    match s.as_str() {
        "1.2" => Ok(MinVersion::Tls12),
        "1.3" => Ok(MinVersion::Tls13),
        "1.0" | "1.1" => Err(fail(format!("unsupported TLS version: TLS {s}"))),
        _ => Err(fail(format!("unknown version: {s}"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::options::Options;

    /// Texts nats-server 2.15.1 prints for the same blocks (`nats-server -t`).
    fn err(conf: &str) -> String {
        let map = crate::config::parse_str(conf, "t.conf", &|_| None).expect("parses");
        let mut o = Options::default();
        match crate::config::apply_map("t.conf", &map, &mut o) {
            Err(crate::config::ConfigError::Invalid { errors, .. }) => errors[0].to_string(),
            other => panic!("expected an error for {conf:?}, got {other:?}"),
        }
    }

    #[test]
    fn field_errors_as_nats_server() {
        assert_eq!(
            err("tls { cert_file: 3 }"),
            "t.conf:1:6: error parsing tls config, expected 'cert_file' to be filename"
        );
        assert_eq!(
            err("tls { verify: \"yes\" }"),
            "t.conf:1:6: error parsing tls config, expected 'verify' to be a boolean"
        );
        assert_eq!(
            err("tls { bogus: 1 }"),
            "t.conf:1:6: error parsing tls config, unknown field \"bogus\""
        );
        assert_eq!(
            err("tls { min_version: \"1.1\" }"),
            "t.conf:1:6: error parsing tls config: unsupported TLS version: TLS 1.1"
        );
        assert_eq!(
            err("tls { min_version: \"1.5\" }"),
            "t.conf:1:6: error parsing tls config: unknown version: 1.5"
        );
        assert_eq!(
            err("tls { min_version: 12 }"),
            "t.conf:1:6: error parsing tls config: 'min_version' wrong type: 12"
        );
        assert_eq!(
            err("tls { pinned_certs: [\"abc\"] }"),
            "t.conf:1:22: error parsing tls config, 'pinned_certs' key abc does not look like \
             hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"
        );
        assert_eq!(
            err("tls { handshake_first: \"maybe\" }"),
            "t.conf:1:6: field \"handshake_first\"'s value \"maybe\" is invalid"
        );
        assert_eq!(
            err("tls { handshake_first: 3 }"),
            "t.conf:1:6: field \"handshake_first\" should be a boolean or a string, got int64"
        );
        assert_eq!(
            err("tls { timeout: \"x\" }"),
            "t.conf:1:6: error parsing tls config, 'timeout' time: invalid duration \"x\""
        );
    }

    #[test]
    fn file_errors_as_nats_server() {
        assert_eq!(
            err("tls { cert_file: \"/nope.pem\", key_file: \"/nope-key.pem\" }"),
            "t.conf:1:0: error parsing X509 certificate/key pair: open /nope.pem: no such \
             file or directory"
        );
        assert_eq!(
            err("tls { cert_file: \"/nope.pem\" }"),
            "t.conf:1:0: missing 'key_file' in TLS configuration"
        );
        assert_eq!(
            err("tls { key_file: \"/nope.pem\" }"),
            "t.conf:1:0: missing 'cert_file' in TLS configuration"
        );
        assert_eq!(
            err("tls { ca_file: \"/nope\" }"),
            "t.conf:1:0: open /nope: no such file or directory"
        );
    }

    #[test]
    fn empty_block_is_tls_without_a_certificate() {
        let map = crate::config::parse_str("tls {}", "t.conf", &|_| None).expect("parses");
        let mut o = Options::default();
        crate::config::apply_map("t.conf", &map, &mut o).expect("valid, as in nats-server");
        assert!(o.tls.is_some());
    }
}
