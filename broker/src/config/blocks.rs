//! First checks of the blocks rnats does not implement yet (`cluster`, `jetstream`, `tls`,
//! ...): their shape and the names of their first-level keys, so that a typo is an `unknown
//! field` error as in nats-server. Values inside are not checked yet.

use super::auth::NIL_DEREF;
use super::convert::mismatch;
use super::error::Diagnostic;
use super::gofmt::quote;
use super::value::{Token, Value};

/// Keys of `cluster {}` (opts.go `parseCluster`).
#[rustfmt::skip]
const CLUSTER: &[&str] = &[
    "name", "listen", "port", "host", "net", "authorization", "routes", "tls", "cluster_advertise",
    "advertise", "no_advertise", "connect_retries", "connect_backoff", "permissions", "pool_size",
    "accounts", "compression", "ping_interval", "ping_max", "write_deadline", "write_timeout",
];

/// Keys of `gateway {}` (`parseGateway`).
#[rustfmt::skip]
const GATEWAY: &[&str] = &[
    "name", "listen", "port", "host", "net", "authorization", "tls", "advertise",
    "connect_retries", "connect_backoff", "gateways", "reject_unknown", "reject_unknown_cluster",
    "write_deadline", "write_timeout",
];

/// Keys of `leafnodes {}` (`parseLeafNodes`).
#[rustfmt::skip]
const LEAFNODES: &[&str] = &[
    "listen", "port", "host", "net", "authorization", "remotes", "reconnect", "reconnect_delay",
    "reconnect_interval", "dial_timeout", "tls", "leafnode_advertise", "advertise", "no_advertise",
    "min_version", "minimum_version", "compression", "isolate_leafnode_interest", "isolate",
    "write_deadline", "write_timeout",
];

/// Keys of `jetstream {}` (`parseJetStream`).
#[rustfmt::skip]
const JETSTREAM: &[&str] = &[
    "enabled", "enable", "strict", "store", "store_dir", "storedir", "sync",
    "sync_interval", "max_memory_store", "max_mem_store", "max_mem", "max_file_store", "max_file",
    "domain", "key", "ek", "encryption_key", "prev_key", "prev_ek", "prev_encryption_key",
    "cipher", "extension_hint", "limits", "tpm", "unique_tag", "max_outstanding_catchup",
    "max_buffered_size", "max_buffered_msgs", "request_queue_limit", "info_queue_limit",
    "meta_compact", "meta_compact_size", "meta_compact_sync", "max_concurrent_io",
];

/// Keys of `websocket {}` (`parseWebsocket`).
#[rustfmt::skip]
const WEBSOCKET: &[&str] = &[
    "listen", "port", "host", "net", "advertise", "no_tls", "tls", "same_origin",
    "allowed_origins", "allowed_origin", "allow_origins", "allow_origin", "origins", "origin",
    "handshake_timeout", "compress", "compression", "authorization", "authentication",
    "jwt_cookie", "user_cookie", "pass_cookie", "token_cookie", "no_auth_user", "headers",
    "ping_interval",
];

/// Keys of `mqtt {}` (`parseMQTT`).
#[rustfmt::skip]
const MQTT: &[&str] = &[
    "listen", "port", "host", "net", "tls", "authorization", "authentication", "no_auth_user",
    "ack_wait", "ackwait", "js_api_timeout", "api_timeout", "max_ack_pending", "max_pending",
    "max_inflight", "js_domain", "stream_replicas", "consumer_replicas", "consumer_memory_storage",
    "consumer_inactive_threshold", "consumer_auto_cleanup", "reject_qos2_publish",
    "downgrade_qos2_subscribe",
];

/// Keys of a `tls {}` block anywhere (`parseTLS`).
#[rustfmt::skip]
const TLS: &[&str] = &[
    "cert_file", "key_file", "ca_file", "insecure", "verify", "verify_and_map",
    "verify_cert_and_check_known_urls", "allow_insecure_cipher_suites", "cipher_suites",
    "curve_preferences", "timeout", "connection_rate_limit", "pinned_certs", "cert_store",
    "cert_match_by", "cert_match", "ca_certs_match", "handshake_first", "first", "immediate",
    "cert_match_skip_invalid", "ocsp_peer", "certs", "certificates", "min_version",
];

/// nats-server's first check on an unimplemented block: that it has the right shape (the
/// keys inside are not checked yet). `Ok(false)` when the block asks for nothing (`jetstream:
/// disabled`), so there is nothing to warn about.
pub(crate) fn block_shape(key: &str, t: &Token) -> Result<bool, Diagnostic> {
    let shape = |msg: &str| Diagnostic::at(&t.pos, format!("{msg}, got {}", t.value.go_type()));
    let is_map = matches!(t.value, Value::Map(_));
    match key {
        "cluster" if !is_map => Err(shape("Expected map to define cluster")),
        "gateway" if !is_map => Err(shape("Expected gateway to be a map")),
        "leaf" | "leafnodes" if !is_map => Err(shape("Expected map to define a leafnode")),
        "websocket" | "ws" if !is_map => Err(shape("Expected websocket to be a map")),
        "mqtt" if !is_map => Err(shape("Expected mqtt to be a map")),
        "proxies" if !is_map => Err(shape("expected proxies to be a map/struct")),
        "tls" | "resolver_tls" if !is_map => Err(mismatch(t, "map[string]interface {}")),
        "server_tags" => match &t.value {
            Value::String(_) => Ok(true),
            Value::Array(a) if a.iter().all(|e| matches!(e.value, Value::String(_))) => Ok(true),
            Value::Array(_) => Err(Diagnostic::at(
                &t.pos,
                "error parsing tags: unsupported type *conf.token where string is expected",
            )),
            v => Err(Diagnostic::at(
                &t.pos,
                format!("error parsing tags: unsupported type {}", v.go_type()),
            )),
        },
        "jetstream" => match &t.value {
            Value::Map(_) => Ok(true),
            Value::Bool(on) => Ok(*on),
            Value::String(s) => match s.to_lowercase().as_str() {
                "enabled" | "enable" => Ok(true),
                "disabled" | "disable" => Ok(false),
                _ => Err(Diagnostic::at(
                    &t.pos,
                    format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
                )),
            },
            _ => Err(shape("Expected map, bool or string to define JetStream")),
        },
        _ => Ok(true),
    }
}

/// Reports first-level keys nats-server does not know in an unimplemented block (a cluster's
/// `tls` is checked where it is parsed).
pub(crate) fn check_block_keys(key: &str, t: &Token, errors: &mut Vec<Diagnostic>) {
    let known = match key {
        "cluster" => CLUSTER,
        "gateway" => GATEWAY,
        "leaf" | "leafnodes" => LEAFNODES,
        "jetstream" => JETSTREAM,
        "websocket" | "ws" => WEBSOCKET,
        "mqtt" => MQTT,
        "tls" | "resolver_tls" => {
            if let Err(d) = check_tls(t) {
                errors.push(d);
            }
            return;
        }
        _ => return,
    };
    let Value::Map(m) = &t.value else {
        return;
    };
    for (k, v) in m.iter() {
        let lower = k.to_lowercase();
        if !known.contains(&lower.as_str()) {
            if v.raw {
                // nats-server has no token for keys from an environment value, and panics.
                errors.push(Diagnostic::at(&v.pos, NIL_DEREF));
                return;
            }
            if !v.used_variable {
                errors.push(Diagnostic::at(
                    &v.pos,
                    format!("unknown field {}", quote(k)),
                ));
            }
        } else if lower == "tls"
            && key != "cluster"
            && let Err(d) = check_tls(v)
        {
            errors.push(d);
        }
    }
}

/// `parseTLS` stops at the first unknown key.
fn check_tls(t: &Token) -> Result<(), Diagnostic> {
    let Value::Map(m) = &t.value else {
        return Err(mismatch(t, "map[string]interface {}"));
    };
    for (k, v) in m.iter() {
        if !TLS.contains(&k.to_lowercase().as_str()) {
            let msg = format!("error parsing tls config, unknown field {}", quote(k));
            return Err(Diagnostic::on(v, msg));
        }
    }
    Ok(())
}
