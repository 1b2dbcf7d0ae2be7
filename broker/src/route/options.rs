//! The `cluster {}` options (nats-server's `ClusterOpts`) and route URLs as configured.

use std::sync::Arc;
use std::time::Duration;

use crate::permissions::Permissions;

/// Default route port (`DEFAULT_ROUTE_PORT`), used when a route URL names none.
pub const DEFAULT_ROUTE_PORT: u16 = 6222;
/// Time a route has to send CONNECT when route authorization is configured
/// (`AUTH_TIMEOUT`, the same default as for clients).
pub const DEFAULT_ROUTE_AUTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Route PING interval: nats-server caps the client interval at 30 s for routes
/// (`routeMaxPingInterval`) so a dead peer is noticed quickly.
pub const ROUTE_MAX_PING_INTERVAL: Duration = Duration::from_secs(30);
/// Pool size nats-server 2.15 defaults to (`DEFAULT_ROUTE_POOL_SIZE`). rnats accepts the key
/// but advertises no pool (one connection per peer), which nats-server handles as a legacy
/// peer.
pub const DEFAULT_ROUTE_POOL_SIZE: i64 = 3;

/// One configured route: `nats-route://[user:pass@]host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUrl {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub pass: Option<String>,
    /// As written, for logs (credentials redacted).
    pub shown: String,
}

impl RouteUrl {
    /// Parses `scheme://[user[:pass]@]host[:port][/]`, as Go's `url.Parse` would accept it.
    pub fn parse(s: &str) -> Result<RouteUrl, String> {
        let s = s.trim();
        let rest = match s.split_once("://") {
            Some((scheme, rest)) if !scheme.is_empty() => rest,
            _ => return Err(format!("missing scheme in route url {s:?}")),
        };
        let rest = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, pass) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(percent_decode(a)), Some(percent_decode(b))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err(format!("missing host in route url {s:?}"));
        }
        let shown = match userinfo {
            Some(_) => s.replacen(&format!("{}@", userinfo.unwrap_or_default()), "", 1),
            None => s.to_string(),
        };
        Ok(RouteUrl {
            host,
            port,
            user,
            pass,
            shown,
        })
    }

    /// `host:port` to dial (IPv6 in brackets).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(hp: &str) -> Result<(String, u16), String> {
    if let Some(inner) = hp.strip_prefix('[') {
        let (h, rest) = inner
            .split_once(']')
            .ok_or_else(|| format!("bad IPv6 host in {hp:?}"))?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port in {hp:?}"))?,
            None => DEFAULT_ROUTE_PORT,
        };
        return Ok((h.to_string(), port));
    }
    match hp.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_string(),
            p.parse().map_err(|_| format!("bad port in {hp:?}"))?,
        )),
        None => Ok((hp.to_string(), DEFAULT_ROUTE_PORT)),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `cluster {}`: where routes listen, whom they dial, and how they authenticate.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub name: Option<String>,
    pub host: String,
    /// `None` = random port (`-1`); `Some(0)` = clustering off (the default).
    pub port: Option<u16>,
    pub routes: Vec<RouteUrl>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub auth_timeout: Duration,
    /// Route TLS (`cluster { tls {} }`): both sides of every route, when configured.
    pub tls: Option<crate::tls::RouteTls>,
    pub advertise: Option<String>,
    pub no_advertise: bool,
    /// Attempts for an explicit route before giving up; 0 = forever.
    pub connect_retries: i64,
    pub pool_size: i64,
    pub compression: String,
    pub ping_interval: Duration,
    pub ping_max: u32,
    /// `cluster { permissions }`: `import` (as `publish`) limits the interest this server
    /// announces to peers, `export` (as `subscribe`) the peers' interest it accepts.
    pub permissions: Option<Arc<Permissions>>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            name: None,
            host: "0.0.0.0".to_string(),
            port: Some(0),
            routes: Vec::new(),
            username: None,
            password: None,
            auth_timeout: DEFAULT_ROUTE_AUTH_TIMEOUT,
            tls: None,
            advertise: None,
            no_advertise: false,
            connect_retries: 0,
            pool_size: DEFAULT_ROUTE_POOL_SIZE,
            compression: "accept".to_string(),
            ping_interval: ROUTE_MAX_PING_INTERVAL,
            ping_max: crate::options::DEFAULT_PING_MAX,
            permissions: None,
        }
    }
}

impl ClusterOptions {
    /// Whether a route listener runs (nats-server: a non-zero cluster port).
    pub fn enabled(&self) -> bool {
        self.port != Some(0)
    }

    pub fn auth_required(&self) -> bool {
        self.username.is_some()
    }

    /// nats-server's `getDefaultAuthTimeout`: the TLS timeout plus one second with route TLS,
    /// else 2 s.
    pub fn default_auth_timeout(&self) -> Duration {
        match &self.tls {
            Some(tls) => tls.timeout() + Duration::from_secs(1),
            None => DEFAULT_ROUTE_AUTH_TIMEOUT,
        }
    }

    /// `/varz` `cluster.tls_timeout` (the default when TLS is off, as nats-server fills it).
    pub fn tls_timeout(&self) -> Duration {
        self.tls
            .as_ref()
            .map_or(crate::tls::DEFAULT_TLS_TIMEOUT, |t| t.timeout())
    }
}

#[cfg(test)]
mod tests {
    use super::RouteUrl;

    #[test]
    fn route_urls() {
        let u = RouteUrl::parse("nats://ruser:p%40ss@127.0.0.1:4245").expect("url");
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 4245);
        assert_eq!(u.user.as_deref(), Some("ruser"));
        assert_eq!(u.pass.as_deref(), Some("p@ss"));
        assert_eq!(u.shown, "nats://127.0.0.1:4245");
        let u = RouteUrl::parse("nats-route://[::1]:7000/").expect("url");
        assert_eq!(u.addr(), "[::1]:7000");
        let u = RouteUrl::parse("nats://seed.example").expect("url");
        assert_eq!(u.port, 6222);
        assert!(RouteUrl::parse("127.0.0.1:4245").is_err());
        assert!(RouteUrl::parse("nats://h:x").is_err());
    }
}
