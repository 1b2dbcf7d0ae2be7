//! Command-line flags in nats-server's style (Go `flag` package: `-p 4222`, `--port=4222`,
//! `-DV`), applied over the config file as nats-server does.

use std::path::PathBuf;

use crate::options::Options;
use crate::route::options::RouteUrl;

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub check_config: bool,
    pub show_version: bool,
    pub show_help: bool,
    pub signal: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    http_port: Option<i64>,
    client_advertise: Option<String>,
    server_name: Option<String>,
    log_file: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    ports_file_dir: Option<PathBuf>,
    debug: Option<bool>,
    trace: Option<bool>,
    logtime: Option<bool>,
    logtime_utc: Option<bool>,
    log_size_limit: Option<i64>,
    max_traced_msg_len: Option<i64>,
    syslog: Option<bool>,
    remote_syslog: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    auth: Option<String>,
    max_payload: Option<i64>,
    /// `--cluster`/`--cluster_listen`: the route listen URL (`nats://[user:pass@]host:port`).
    cluster_listen: Option<String>,
    cluster_name: Option<String>,
    /// `--routes`: comma-separated route URLs.
    routes: Option<String>,
    cluster_advertise: Option<String>,
    no_advertise: Option<bool>,
    connect_retries: Option<i64>,
    pub jetstream: bool,
    pub store_dir: Option<PathBuf>,
    /// `--tls`, `--tlscert`, ...: applied after the others (`TlsFlags::apply`).
    pub tls: crate::tls::TlsFlags,
}

/// A bad command line, with the message to print.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// A flag nats-server's flag package would reject (unknown, missing or bad value).
    #[error("{0}")]
    Flag(String),
    /// A positional argument (nats-server: `unrecognized command`).
    #[error("unrecognized command: {0:?}")]
    Command(String),
}

pub const USAGE: &str = "
Usage: rnats-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for random)
    -n, --name, --server_name <name> Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring (-1 for random)
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl, --signal <signal>[=<pid>]   Send signal to rnats-server process (ldm, stop, quit, term, reopen, reload)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
        --logtime_utc                Timestamps in UTC instead of local timezone (default: false)
        --log_size_limit <limit>     Logfile size limit (default: auto)
        --max_traced_msg_len <len>   Maximum printable length for traced messages (default: unlimited)
    -s, --syslog                     Log to syslog
    -r, --remote_syslog <addr>       Syslog server addr (udp://localhost:514)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster url from which members can solicit routes

JetStream Options (not implemented yet; accepted with a warning):
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
";

impl Flags {
    /// Parses arguments (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Flags, FlagError> {
        let mut f = Flags::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if !arg.starts_with('-') || arg == "-" || arg == "--" {
                return Err(FlagError::Command(arg));
            }
            let body = arg.trim_start_matches('-');
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            let value = |it: &mut dyn Iterator<Item = String>| -> Result<String, FlagError> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it
                        .next()
                        .ok_or_else(|| FlagError::Flag(format!("flag needs an argument: -{name}"))),
                }
            };
            let boolean = |v: &Option<String>| -> Result<bool, FlagError> {
                match v.as_deref() {
                    None | Some("true") | Some("1") | Some("t") | Some("T") | Some("TRUE") => {
                        Ok(true)
                    }
                    Some("false") | Some("0") | Some("f") | Some("F") | Some("FALSE") => Ok(false),
                    Some(other) => Err(FlagError::Flag(format!(
                        "invalid boolean value {other:?} for -{name}: parse error"
                    ))),
                }
            };
            match name.as_str() {
                "a" | "addr" | "net" => f.host = Some(value(&mut it)?),
                "p" | "port" => f.port = Some(int(&name, &value(&mut it)?)?),
                "m" | "http_port" => f.http_port = Some(int(&name, &value(&mut it)?)?),
                "c" | "config" => f.config = Some(PathBuf::from(value(&mut it)?)),
                "t" => f.check_config = boolean(&inline)?,
                "n" | "name" | "server_name" => f.server_name = Some(value(&mut it)?),
                "client_advertise" => f.client_advertise = Some(value(&mut it)?),
                "l" | "log" => f.log_file = Some(PathBuf::from(value(&mut it)?)),
                "P" | "pid" => f.pid_file = Some(PathBuf::from(value(&mut it)?)),
                "ports_file_dir" => f.ports_file_dir = Some(PathBuf::from(value(&mut it)?)),
                "D" | "debug" => f.debug = Some(boolean(&inline)?),
                "V" | "trace" => f.trace = Some(boolean(&inline)?),
                "DV" => {
                    let on = boolean(&inline)?;
                    f.debug = Some(on);
                    f.trace = Some(on);
                }
                "T" | "logtime" => f.logtime = Some(boolean(&inline)?),
                "logtime_utc" => f.logtime_utc = Some(boolean(&inline)?),
                "log_size_limit" => f.log_size_limit = Some(int(&name, &value(&mut it)?)?),
                "max_traced_msg_len" => {
                    f.max_traced_msg_len = Some(int(&name, &value(&mut it)?)?);
                }
                "s" | "syslog" => f.syslog = Some(boolean(&inline)?),
                "r" | "remote_syslog" => f.remote_syslog = Some(value(&mut it)?),
                "user" => f.user = Some(value(&mut it)?),
                "pass" => f.pass = Some(value(&mut it)?),
                "auth" => f.auth = Some(value(&mut it)?),
                "max_payload" => f.max_payload = Some(int(&name, &value(&mut it)?)?),
                "cluster" | "cluster_listen" => f.cluster_listen = Some(value(&mut it)?),
                "cluster_name" => f.cluster_name = Some(value(&mut it)?),
                "routes" => f.routes = Some(value(&mut it)?),
                "cluster_advertise" => f.cluster_advertise = Some(value(&mut it)?),
                "no_advertise" => f.no_advertise = Some(boolean(&inline)?),
                "connect_retries" => f.connect_retries = Some(int(&name, &value(&mut it)?)?),
                "tlscert" | "tlskey" | "tlscacert" => f.tls.set_value(&name, value(&mut it)?),
                "tls" | "tlsverify" => f.tls.set_bool(&name, boolean(&inline)?),
                "js" | "jetstream" => f.jetstream = boolean(&inline)?,
                "sd" | "store_dir" => f.store_dir = Some(PathBuf::from(value(&mut it)?)),
                "sl" | "signal" => f.signal = Some(value(&mut it)?),
                "v" | "version" => f.show_version = boolean(&inline)?,
                "h" | "help" | "help_tls" => f.show_help = true,
                _ => {
                    return Err(FlagError::Flag(format!(
                        "flag provided but not defined: -{name}"
                    )));
                }
            }
        }
        Ok(f)
    }

    /// Applies the cluster flags (nats-server's `overrideCluster` and `mergeRoutes`).
    pub fn apply_cluster(&self, opts: &mut Options) -> Result<(), FlagError> {
        let c = &mut opts.cluster;
        if let Some(l) = &self.cluster_listen {
            if l.is_empty() {
                c.port = Some(0);
            } else {
                let u = RouteUrl::parse(&l.replace(":-1", ":0"))
                    .map_err(|e| FlagError::Flag(format!("invalid --cluster: {e}")))?;
                c.host = u.host.clone();
                c.port = if l.ends_with(":-1") || u.port == 0 {
                    None
                } else {
                    Some(u.port)
                };
                match (&u.user, &u.pass) {
                    (Some(_), None) => {
                        return Err(FlagError::Flag(
                            "expected cluster password to be set".to_string(),
                        ));
                    }
                    (user, pass) => {
                        c.username = user.clone();
                        c.password = pass.clone();
                    }
                }
            }
        }
        if let Some(n) = &self.cluster_name {
            c.name = (!n.is_empty()).then(|| n.clone());
        }
        if let Some(r) = &self.routes {
            let mut routes = Vec::new();
            for s in r.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                routes.push(
                    RouteUrl::parse(s)
                        .map_err(|e| FlagError::Flag(format!("invalid --routes: {e}")))?,
                );
            }
            c.routes = routes;
        }
        if let Some(a) = &self.cluster_advertise {
            c.advertise = (!a.is_empty()).then(|| a.clone());
        }
        if let Some(v) = self.no_advertise {
            c.no_advertise = v;
        }
        if let Some(v) = self.connect_retries {
            c.connect_retries = v;
        }
        Ok(())
    }

    /// Applies the flags over `opts` (flags win over the config file).
    pub fn apply(&self, opts: &mut Options) {
        if let Some(h) = &self.host {
            opts.host = h.clone();
        }
        if let Some(p) = self.port {
            opts.port = port_value(p);
        }
        if let Some(p) = self.http_port {
            opts.http_port = Some(port_value(p));
        }
        if let Some(v) = &self.client_advertise {
            opts.client_advertise = Some(v.clone());
        }
        if let Some(v) = &self.server_name {
            opts.server_name = Some(v.clone());
        }
        if let Some(v) = &self.log_file {
            opts.log_file = Some(v.clone());
        }
        if let Some(v) = &self.pid_file {
            opts.pid_file = Some(v.clone());
        }
        if let Some(v) = &self.ports_file_dir {
            opts.ports_file_dir = Some(v.clone());
        }
        if let Some(v) = self.debug {
            opts.debug = v;
        }
        if let Some(v) = self.trace {
            opts.trace = v;
        }
        if let Some(v) = self.logtime_utc {
            opts.logtime_utc = v;
        }
        if let Some(v) = self.log_size_limit {
            opts.log_size_limit = u64::try_from(v).unwrap_or(0);
        }
        if let Some(v) = self.max_traced_msg_len {
            opts.max_traced_msg_len = usize::try_from(v).unwrap_or(0);
        }
        if let Some(v) = self.logtime {
            opts.logtime = v;
        }
        if let Some(v) = self.syslog {
            opts.syslog = v;
        }
        if let Some(v) = &self.remote_syslog {
            opts.remote_syslog = Some(v.clone());
        }
        if let Some(v) = &self.user {
            opts.username = Some(v.clone());
        }
        if let Some(v) = &self.pass {
            opts.password = Some(v.clone());
        }
        if let Some(v) = &self.auth {
            opts.authorization = Some(v.clone());
        }
        if let Some(v) = self.max_payload {
            opts.max_payload = v.max(0) as usize;
        }
    }
}

/// `-1` means a random port; `0` keeps the default as nats-server does for the client port.
fn port_value(p: i64) -> Option<u16> {
    if p < 0 { None } else { u16::try_from(p).ok() }
}

fn int(name: &str, v: &str) -> Result<i64, FlagError> {
    v.parse::<i64>()
        .map_err(|_| FlagError::Flag(format!("invalid value {v:?} for flag -{name}: parse error")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, FlagError> {
        Flags::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn go_style_flags() {
        let f = parse(&[
            "-a",
            "127.0.0.1",
            "--port=-1",
            "-m",
            "8222",
            "-DV",
            "-c",
            "x.conf",
        ])
        .expect("valid");
        let mut o = Options::default();
        f.apply(&mut o);
        assert_eq!(o.host, "127.0.0.1");
        assert_eq!(o.port, None);
        assert_eq!(o.http_port, Some(Some(8222)));
        assert!(o.debug && o.trace);
        assert_eq!(f.config.as_deref(), Some(std::path::Path::new("x.conf")));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["-x"]).is_err());
        assert!(parse(&["-p", "abc"]).is_err());
        assert!(parse(&["-p"]).is_err());
        assert!(parse(&["stray"]).is_err());
    }
}
