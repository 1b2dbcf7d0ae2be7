//! Route INFO and CONNECT bodies: what rnats sends (nats-server's `Info` field order) and what
//! it reads from a peer.

use serde::{Deserialize, Serialize};

use crate::server::Server;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

/// Route INFO as rnats sends it. No `route_pool_size` and no `compression`: nats-server then
/// treats rnats as a peer without pooling or compression (one plain connection per pair).
#[derive(Debug, Clone, Serialize)]
pub struct OutInfo<'a> {
    pub server_id: &'a str,
    pub server_name: &'a str,
    pub version: &'a str,
    pub proto: i32,
    #[serde(skip_serializing_if = "str::is_empty")]
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
    pub max_payload: usize,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub ip: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub nonce: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub cluster: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub connect_urls: &'a [String],
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// `cluster { permissions }`, as nats-server's `SubjectPermission` JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "is_zero")]
    pub gossip_mode: u8,
}

impl OutInfo<'_> {
    /// `INFO {json}\r\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = b"INFO ".to_vec();
        if serde_json::to_writer(&mut out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// This server's route INFO (with a nonce on the accept side, as nats-server sends it).
pub fn route_info(server: &Server, with_nonce: bool) -> Vec<u8> {
    let opts = server.options();
    let c = &opts.cluster;
    let addr = server.routes.listen_addr();
    let urls = if c.no_advertise {
        Vec::new()
    } else {
        server.own_client_urls()
    };
    let nonce = if with_nonce {
        crate::auth::new_nonce()
    } else {
        String::new()
    };
    let name = server.routes.cluster_name();
    let ip = server.routes.advertise_ip.read().clone();
    let (import, export) = super::perms::info_fields(server);
    let (host, port) = match &c.advertise {
        Some(a) => match a.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().unwrap_or(0)),
            None => (a.clone(), addr.map_or(0, |a| a.port())),
        },
        None => (c.host.clone(), addr.map_or(0, |a| a.port())),
    };
    OutInfo {
        server_id: &server.id,
        server_name: &server.name,
        version: crate::server::info::COMPAT_VERSION,
        proto: 3,
        git_commit: crate::server::GIT_COMMIT,
        go: crate::server::TOOLCHAIN,
        host: &host,
        port,
        headers: !opts.no_header_support,
        auth_required: c.auth_required(),
        tls_required: c.tls.is_some(),
        tls_verify: c.tls.is_some(),
        max_payload: opts.max_payload,
        ip: &ip,
        nonce: &nonce,
        cluster: &name,
        cluster_dynamic: server.routes.name_is_dynamic(),
        connect_urls: &urls,
        ldm: server.is_lame_duck(),
        import,
        export,
        gossip_mode: 0,
    }
    .to_line()
}

/// A peer's route INFO: the fields rnats acts on. The whole JSON is kept as well, so gossip
/// forwards what the peer said, unchanged but for the nonce.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PeerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    pub auth_required: bool,
    pub tls_required: bool,
    pub ip: String,
    pub cluster: String,
    pub cluster_dynamic: bool,
    pub connect_urls: Vec<String>,
    pub ldm: bool,
    pub route_pool_size: i64,
    pub route_pool_idx: i64,
    pub route_account: String,
    pub gossip_mode: u8,
    pub gateway: String,
    pub import: Option<serde_json::Value>,
    pub export: Option<serde_json::Value>,
}

/// The route CONNECT rnats sends. `name` is the server ID, as nats-server sends it.
#[derive(Debug, Clone, Serialize)]
pub struct OutConnect<'a> {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub pass: &'a str,
    pub tls_required: bool,
    pub headers: bool,
    pub name: &'a str,
    pub cluster: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
}

impl OutConnect<'_> {
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = b"CONNECT ".to_vec();
        if serde_json::to_writer(&mut out, self).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A peer's CONNECT: credentials and cluster name; `lang` means a client dialled the route
/// port by mistake.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PeerConnect {
    pub user: String,
    pub pass: String,
    pub name: String,
    pub cluster: String,
    pub cluster_dynamic: bool,
    pub lang: String,
    pub gateway: String,
}

/// Gossip modes (nats-server's `gossipDefault`, `gossipDisabled`, `gossipOverride`).
pub const GOSSIP_DEFAULT: u8 = 0;
pub const GOSSIP_DISABLED: u8 = 1;
pub const GOSSIP_OVERRIDE: u8 = 2;

/// A peer INFO forwarded to other routes (gossip): the original JSON with the nonce removed
/// and `gossip_mode` set as nats-server's `forwardNewRouteInfoToKnownServers` does.
pub fn gossip_line(raw: &serde_json::Value, gossip_mode: u8) -> Vec<u8> {
    let mut v = raw.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("nonce");
        if gossip_mode == GOSSIP_DEFAULT {
            m.remove("gossip_mode");
        } else {
            m.insert("gossip_mode".into(), gossip_mode.into());
        }
    }
    let mut out = b"INFO ".to_vec();
    if serde_json::to_writer(&mut out, &v).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\r\n");
    out
}
