//! Server options: every tunable with nats-server's default, filled from flags and config files.

use std::path::PathBuf;
use std::sync::Arc;

use crate::permissions::Permissions;
use std::time::Duration;

/// Default client port, as nats-server (`DEFAULT_PORT`).
pub const DEFAULT_PORT: u16 = 4222;
/// Default monitoring port used by `-m`/`make run` (nats-server leaves monitoring off by default).
pub const DEFAULT_HTTP_PORT: u16 = 8222;
/// Largest message payload accepted from a client (`MAX_PAYLOAD_SIZE`, 1 MiB).
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// Longest control line before `maximum control line exceeded` (`MAX_CONTROL_LINE_SIZE`).
pub const DEFAULT_MAX_CONTROL_LINE: usize = 4096;
/// Outbound bytes a client may have queued before it is cut as a slow consumer (`MAX_PENDING_SIZE`).
pub const DEFAULT_MAX_PENDING: usize = 64 * 1024 * 1024;
/// Connections accepted before `maximum connections exceeded` (`DEFAULT_MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 64 * 1024;
/// Time between server PINGs to an idle client (`DEFAULT_PING_INTERVAL`).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(120);
/// Outstanding PINGs tolerated before `Stale Connection` (`DEFAULT_PING_MAX_OUT`).
pub const DEFAULT_PING_MAX: u32 = 2;
/// Time a client has to send CONNECT when auth is required (`AUTH_TIMEOUT`).
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Time one vectored write may take before the client is cut (`DEFAULT_FLUSH_DEADLINE`).
pub const DEFAULT_WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// Lame duck: total time over which clients are closed (`DEFAULT_LAME_DUCK_DURATION`).
pub const DEFAULT_LAME_DUCK_DURATION: Duration = Duration::from_secs(120);
/// Lame duck: wait before the first client is closed (`DEFAULT_LAME_DUCK_GRACE_PERIOD`).
pub const DEFAULT_LAME_DUCK_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// `DEFAULT_CONNECT_ERROR_REPORTS`: one failed first route connection logged in 3600.
pub const DEFAULT_CONNECT_ERROR_REPORTS: u64 = 3600;
/// `DEFAULT_RECONNECT_ERROR_REPORTS`: every failed reconnection logged.
pub const DEFAULT_RECONNECT_ERROR_REPORTS: u64 = 1;

/// One configured user (`authorization { users: [...] }` or top-level `user`/`password`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// Plain text, or a bcrypt hash (`$2a$`, `$2b$`, ...).
    pub password: String,
    /// The user's permissions (or the block's `default_permissions`); `None` = allow all.
    pub permissions: Option<Arc<Permissions>>,
    /// The account the user is bound to (`accounts { NAME: { users: [...] } }`); `None` is
    /// the global account `$G`.
    pub account: Option<String>,
    /// `allowed_connection_types`, upper-cased; empty allows every type.
    pub connection_types: Vec<String>,
}

/// One configured nkey user (`authorization { users: [{nkey: U...}] }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NkeyUser {
    /// The user's public nkey (`U...`).
    pub nkey: String,
    /// The user's permissions (or the block's `default_permissions`); `None` = allow all.
    pub permissions: Option<Arc<Permissions>>,
    /// The account the user is bound to; `None` is `$G`.
    pub account: Option<String>,
    /// `allowed_connection_types`, upper-cased; empty allows every type.
    pub connection_types: Vec<String>,
}

/// One configured account (`accounts { NAME: {...} }` or `accounts: [NAME, ...]`). Its users
/// are in [`Options::users`] and [`Options::nkeys`], bound by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    pub name: String,
    /// The account's public nkey (`A...`), when given.
    pub nkey: Option<String>,
    /// Streams and services this account offers to others.
    pub exports: Vec<crate::account::Export>,
    /// Streams and services this account takes from others.
    pub imports: Vec<crate::account::Import>,
    /// Subject mappings of the account's publishers (`mappings {}`).
    pub mappings: crate::mapping::Mappings,
}

/// The server's configuration, with nats-server's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub host: String,
    /// Client port; `None` means "pick a random free port" (`-p -1`).
    pub port: Option<u16>,
    pub client_advertise: Option<String>,
    pub http_host: Option<String>,
    /// Monitoring port; `Some(None)` means random (`-m -1`), `None` means off.
    pub http_port: Option<Option<u16>>,
    pub max_payload: usize,
    pub max_pending: usize,
    pub max_control_line: usize,
    pub max_connections: usize,
    /// 0 means unlimited.
    pub max_subscriptions: usize,
    /// Most tokens a subscription's subject may have (`max_sub_tokens`); 0 means no limit.
    pub max_sub_tokens: u8,
    /// Closed connections kept for `/connz?state=closed` (`max_closed_clients`).
    pub max_closed_clients: usize,
    /// A failed first connection to a route is logged at error level once in this many
    /// attempts (`connect_error_reports`), a failed reconnection once in
    /// `reconnect_error_reports`; the others at debug level.
    pub connect_error_reports: u64,
    pub reconnect_error_reports: u64,
    /// `no_header_support`: INFO says `headers: false` and no client may use headers.
    pub no_header_support: bool,
    /// Longest payload shown whole in protocol traces (`max_traced_msg_len`); 0 = no limit.
    pub max_traced_msg_len: usize,
    /// Log files kept by rotation, the current one included (`logfile_max_num`); 0 keeps all.
    pub log_max_num: usize,
    /// Log timestamps in UTC rather than local time (`logtime_utc`).
    pub logtime_utc: bool,
    /// `server_tags`: lower-cased, trimmed, without duplicates (nats-server's `TagList`).
    pub tags: Vec<String>,
    /// `server_metadata`.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Prefix of the monitoring endpoints (`http_base_path`), as configured.
    pub http_base_path: String,
    /// Subject mappings of the global account `$G` (top-level `mappings {}`).
    pub mappings: crate::mapping::Mappings,
    pub ping_interval: Duration,
    pub ping_max: u32,
    pub write_deadline: Duration,
    pub auth_timeout: Duration,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub debug: bool,
    pub trace: bool,
    pub logtime: bool,
    pub log_file: Option<PathBuf>,
    pub log_size_limit: u64,
    /// Log to the local syslog (`-s`, `syslog: true`).
    pub syslog: bool,
    /// Log to a remote syslog, `udp://host:port` or `tcp://host:port` (`-r`).
    pub remote_syslog: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    pub no_sublist_cache: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub authorization: Option<String>,
    pub users: Vec<User>,
    /// Nkey users from `authorization { users: [{nkey: U...}] }`; INFO then carries a nonce.
    pub nkeys: Vec<NkeyUser>,
    pub no_auth_user: Option<String>,
    /// Accounts from `accounts {}`, in config order (`$G` is implicit).
    pub accounts: Vec<AccountConfig>,
    /// `no_system_account`: run without a system account (no events, no `$SYS` services).
    pub no_system_account: bool,
    /// Client TLS (`tls {}` or the `--tls*` flags); `None` = plaintext clients.
    pub tls: Option<crate::tls::TlsConfig>,
    /// `cluster {}` and the cluster flags (off unless a port is set).
    pub cluster: crate::route::options::ClusterOptions,
    /// Operator mode (`operator`, `resolver`, `resolver_preload`); `None` = off.
    pub operator: Option<crate::config::operator::OperatorConfig>,
    /// `system_account`: the system account's name (a public key in operator mode).
    pub system_account: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            server_name: None,
            host: "0.0.0.0".to_string(),
            port: Some(DEFAULT_PORT),
            client_advertise: None,
            http_host: None,
            http_port: None,
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_pending: DEFAULT_MAX_PENDING,
            max_control_line: DEFAULT_MAX_CONTROL_LINE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subscriptions: 0,
            max_sub_tokens: 0,
            max_closed_clients: crate::monitor::closed::DEFAULT_MAX_CLOSED_CLIENTS,
            mappings: Default::default(),
            http_base_path: String::new(),
            tags: Vec::new(),
            logtime_utc: false,
            log_max_num: 0,
            max_traced_msg_len: 0,
            no_header_support: false,
            metadata: Default::default(),
            connect_error_reports: DEFAULT_CONNECT_ERROR_REPORTS,
            reconnect_error_reports: DEFAULT_RECONNECT_ERROR_REPORTS,
            ping_interval: DEFAULT_PING_INTERVAL,
            ping_max: DEFAULT_PING_MAX,
            write_deadline: DEFAULT_WRITE_DEADLINE,
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
            lame_duck_duration: DEFAULT_LAME_DUCK_DURATION,
            lame_duck_grace_period: DEFAULT_LAME_DUCK_GRACE_PERIOD,
            debug: false,
            trace: false,
            logtime: true,
            log_file: None,
            log_size_limit: 0,
            syslog: false,
            remote_syslog: None,
            pid_file: None,
            ports_file_dir: None,
            no_sublist_cache: false,
            username: None,
            password: None,
            authorization: None,
            users: Vec::new(),
            nkeys: Vec::new(),
            no_auth_user: None,
            accounts: Vec::new(),
            no_system_account: false,
            tls: None,
            cluster: Default::default(),
            operator: None,
            system_account: None,
        }
    }
}

/// nats-server's `TagList.Add`: trimmed, lower-cased, no empty tag and no duplicate.
pub fn add_tag(tags: &mut Vec<String>, tag: &str) {
    let t = tag.trim().to_lowercase();
    if !t.is_empty() && !tags.contains(&t) {
        tags.push(t);
    }
}

impl Options {
    /// True when clients must authenticate (and so INFO carries `auth_required`).
    pub fn auth_required(&self) -> bool {
        self.operator_mode()
            || self.username.is_some()
            || self.authorization.is_some()
            || !self.users.is_empty()
            || !self.nkeys.is_empty()
    }

    /// Whether trusted operators are configured (clients then need a user JWT).
    pub fn operator_mode(&self) -> bool {
        self.operator
            .as_ref()
            .is_some_and(|o| !o.operators.is_empty())
    }

    /// The auth timeout in force: with TLS and no explicit timeout, nats-server allows the TLS
    /// timeout plus one second (`getDefaultAuthTimeout`). An explicit `timeout: 2` cannot be
    /// told from the default here and is treated as the default.
    pub fn effective_auth_timeout(&self) -> Duration {
        match &self.tls {
            Some(tls) if self.auth_timeout == DEFAULT_AUTH_TIMEOUT => {
                tls.timeout() + Duration::from_secs(1)
            }
            _ => self.auth_timeout,
        }
    }
}
