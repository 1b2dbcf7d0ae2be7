//! The INFO message sent to clients, with nats-server's fields in nats-server's order.

use serde::Serialize;

/// The nats-server version whose client-visible behaviour rnats implements; clients switch
/// features on by it, so INFO's `version` carries this and rnats' own version goes beside it.
pub const COMPAT_VERSION: &str = "2.15.1";

/// rnats' own version.
pub const RNATS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// JetStream API level that nats-server 2.15 advertises in every INFO (`api_lvl`).
pub const JS_API_LEVEL: i32 = 5;

/// Client protocol version (`PROTO`): 1 adds echo control and asynchronous INFO.
pub const CLIENT_PROTO: i32 = 1;

fn is_false(b: &bool) -> bool {
    !*b
}

/// INFO fields; serialization order is the declaration order, matching nats-server's struct.
#[derive(Debug, Clone, Serialize)]
pub struct Info<'a> {
    pub server_id: &'a str,
    pub server_name: &'a str,
    pub version: &'a str,
    pub proto: i32,
    pub git_commit: &'a str,
    pub go: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub client_ip: &'a str,
    /// The challenge nkey users sign (first INFO only).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub nonce: &'a str,
    /// The cluster name, when routes are enabled.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cluster: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// Client URLs of this server and its peers, once a peer advertised some.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub connect_urls: &'a [String],
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub remote_account: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    pub api_lvl: i32,
    pub xkey: &'a str,
    pub rnats_version: &'a str,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Info<'_> {
    /// `INFO {json} \r\n` — with the space before CRLF that nats-server writes.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = b"INFO ".to_vec();
        // Serializing a struct of strings and numbers cannot fail.
        if serde_json::to_writer(&mut out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b" \r\n");
        out
    }
}
