//! Applies a parsed config to [`Options`]: the top-level keys of nats-server's
//! `processConfigFileLine`, with its value rules, zero-means-default handling and messages.
//! Keys nats-server knows but rnats does not implement yet load with a warning; any other key
//! is an `unknown field` error, unless it was only defined to be used as a `$variable`.

use std::path::PathBuf;
use std::time::Duration;

use super::auth::apply_authorization;
use super::blocks::{block_shape, check_block_keys};
use super::convert::{mismatch, parse_listen, want_bool, want_int, want_str};
use super::duration::{go_duration_string, parse_go_duration};
use super::error::{Diagnostic, Warning, WarningKind};
use super::gofmt::quote;
use super::value::{Map, Token, Value};
use crate::options::{
    DEFAULT_MAX_CONTROL_LINE, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_PENDING, DEFAULT_PING_INTERVAL,
    DEFAULT_PING_MAX, DEFAULT_PORT, DEFAULT_WRITE_DEADLINE, Options,
};

/// nats-server's `DEFAULT_HOST`, used when `listen` names only a port.
const DEFAULT_HOST: &str = "0.0.0.0";
/// Shortest lame-duck duration nats-server accepts.
const MIN_LAME_DUCK_DURATION_NS: i64 = 30_000_000_000;

/// The value a known-but-unimplemented key must have (checked as nats-server would).
enum Expect {
    Bool,
    Int,
    Str,
    Any,
}

/// Keys nats-server 2.15 accepts (opts.go `processConfigFileLine`) that rnats only warns about.
fn unsupported(key: &str) -> Option<Expect> {
    Some(match key {
        "proxy_protocol" | "allow_non_tls" | "no_fast_producer_stall" => Expect::Bool,
        "https_port" | "prof_port" | "prof_block_rate" => Expect::Int,
        "default_sentinel" | "store_dir" | "storedir" | "write_timeout" => Expect::Str,
        "gateway" | "leaf" | "leafnodes" | "jetstream" | "tls" | "ocsp" | "resolver_tls"
        | "trusted" | "trusted_keys" | "websocket" | "ws" | "mqtt" | "feature_flags"
        | "default_js_domain" | "ocsp_cache" | "proxies" => Expect::Any,
        _ => return None,
    })
}

struct Apply<'o> {
    opts: &'o mut Options,
    errors: Vec<Diagnostic>,
    warnings: Vec<Warning>,
}

/// Applies every top-level key of `m` (read from `file`) to `opts`, collecting all errors and
/// warnings rather than stopping at the first, as nats-server does.
pub(crate) fn apply(file: &str, m: &Map, opts: &mut Options) -> (Vec<Diagnostic>, Vec<Warning>) {
    let mut a = Apply {
        opts,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    if m.is_empty() {
        a.warnings.push(Warning {
            kind: WarningKind::Reference,
            pos: None,
            message: format!("{file}: config has no values or is empty"),
        });
    }
    // nats-server looks at the system account before anything else.
    if let Some(t) = m.get("system_account").or_else(|| m.get("system"))
        && !matches!(t.value, Value::String(_))
    {
        a.errors.push(Diagnostic::at(
            &t.pos,
            "system account name must be a string",
        ));
    }
    for (k, t) in m.iter() {
        if let Err(d) = a.key(k, t) {
            a.errors.push(d);
        }
    }
    // nats-server takes the system account from the operator JWT when there is exactly one
    // operator and the config names none.
    if a.opts.system_account.is_none()
        && let Some(op) = &a.opts.operator
        && let [only] = op.operators.as_slice()
        && !only.nats.system_account.is_empty()
    {
        a.opts.system_account = Some(only.nats.system_account.clone());
    }
    (a.errors, a.warnings)
}

/// Maps a client port as nats-server does: `-1` picks a random port, `0` means the default.
fn client_port(t: &Token, n: i64) -> Result<Option<u16>, Diagnostic> {
    match n {
        -1 => Ok(None),
        0 => Ok(Some(DEFAULT_PORT)),
        _ => u16::try_from(n).map(Some).map_err(|_| bad_port(t, n)),
    }
}

/// Maps a monitoring port: `0` leaves monitoring off, `-1` picks a random port.
fn http_port(t: &Token, n: i64) -> Result<Option<Option<u16>>, Diagnostic> {
    match n {
        -1 => Ok(Some(None)),
        0 => Ok(None),
        _ => u16::try_from(n)
            .map(|p| Some(Some(p)))
            .map_err(|_| bad_port(t, n)),
    }
}

/// rnats-only: nats-server would accept the number and fail later, when it listens.
fn bad_port(t: &Token, n: i64) -> Diagnostic {
    Diagnostic::at(&t.pos, format!("invalid port {n}"))
}

/// nats-server's error for `max_sub_tokens` <= 0.
fn negative(t: &Token, k: &str) -> Diagnostic {
    Diagnostic::at(&t.pos, format!("{k} value can not be negative"))
}

/// rnats-only: a negative limit or duration, which nats-server takes with odd effects (a
/// negative `max_pending` makes every client a slow consumer). Ignored with a warning.
fn negative_warning(t: &Token, k: &str) -> Warning {
    Warning {
        kind: WarningKind::Unsupported,
        pos: Some(t.pos.clone()),
        message: format!("negative {} is not supported, ignoring it", quote(k)),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A size limit kept in an `int32` by nats-server (`max_payload`, `max_control_line`);
/// `0` means the default, `None` a (warned about) negative value.
fn int32_size(
    t: &Token,
    k: &str,
    default: usize,
    warnings: &mut Vec<Warning>,
) -> Result<Option<usize>, Diagnostic> {
    let v = want_int(t)?;
    if v > i64::from(i32::MAX) {
        return Err(Diagnostic::at(&t.pos, format!("{k} value is too big")));
    }
    Ok(non_negative(t, k, v, warnings).map(|n| if n == 0 { default } else { n }))
}

/// `v` as a usize, or `None` with a warning when negative.
fn non_negative(t: &Token, k: &str, v: i64, warnings: &mut Vec<Warning>) -> Option<usize> {
    let n = usize::try_from(v).ok();
    if n.is_none() {
        warnings.push(negative_warning(t, k));
    }
    n
}

/// nats-server's `parseDuration`: a Go duration string, or (with a warning) whole seconds.
/// `0` means the default, `None` a (warned about) negative duration.
fn duration(
    t: &Token,
    field: &str,
    default: Duration,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Duration>, Diagnostic> {
    let ns = match &t.value {
        Value::String(s) => parse_go_duration(s)
            .map_err(|e| Diagnostic::at(&t.pos, format!("error parsing {field}: {e}")))?,
        v => {
            let reason = format!("{field} should be converted to a duration");
            warnings.push(Warning::reference(&t.pos, field, reason));
            let Value::Int(secs) = v else {
                return Err(mismatch(t, "int64"));
            };
            secs.wrapping_mul(1_000_000_000)
        }
    };
    match u64::try_from(ns) {
        Ok(0) => Ok(Some(default)),
        Ok(ns) => Ok(Some(Duration::from_nanos(ns))),
        Err(_) => {
            warnings.push(negative_warning(t, field));
            Ok(None)
        }
    }
}

impl Apply<'_> {
    fn unsupported(&mut self, t: &Token, k: &str) {
        self.warnings.push(Warning::unsupported(&t.pos, k));
    }

    fn key(&mut self, k: &str, t: &Token) -> Result<(), Diagnostic> {
        let key = k.to_lowercase();
        let o = &mut *self.opts;
        match key.as_str() {
            "listen" => {
                let (host, port) = parse_listen(t)?;
                o.host = if host.is_empty() {
                    DEFAULT_HOST.to_string()
                } else {
                    host
                };
                o.port = client_port(t, port)?;
            }
            "client_advertise" => o.client_advertise = non_empty(want_str(t)?),
            "port" => o.port = client_port(t, want_int(t)?)?,
            "server_name" => {
                let name = want_str(t)?;
                if name.contains(' ') {
                    return Err(Diagnostic::at(&t.pos, "server name cannot contain spaces"));
                }
                o.server_name = non_empty(name);
            }
            "host" | "net" => o.host = want_str(t)?.to_string(),
            "debug" => o.debug = want_bool(t)?,
            "trace" => o.trace = want_bool(t)?,
            "trace_verbose" | "trace_headers" => {
                o.trace = want_bool(t)?;
                self.unsupported(t, k);
            }
            "logtime" => o.logtime = want_bool(t)?,
            "logtime_utc" => o.logtime_utc = want_bool(t)?,
            "max_traced_msg_len" => {
                o.max_traced_msg_len = usize::try_from(want_int(t)?).unwrap_or(0);
            }
            "logfile_max_num" | "log_max_num" => {
                o.log_max_num = usize::try_from(want_int(t)?).unwrap_or(0);
            }
            "no_header_support" => o.no_header_support = want_bool(t)?,
            "syslog" => o.syslog = want_bool(t)?,
            "remote_syslog" => o.remote_syslog = Some(want_str(t)?.to_string()),
            "disable_sublist_cache" | "no_sublist_cache" => o.no_sublist_cache = want_bool(t)?,
            "authorization" => {
                apply_authorization(t, o, &mut self.errors, &mut self.warnings);
            }
            "http" => {
                let (host, port) = parse_listen(t)?;
                o.http_host = non_empty(&host);
                o.http_port = http_port(t, port)?;
            }
            "https" => {
                parse_listen(t)?;
                self.unsupported(t, k);
            }
            "http_base_path" => o.http_base_path = want_str(t)?.to_string(),
            "server_tags" => match &t.value {
                Value::String(s) => crate::options::add_tag(&mut o.tags, s),
                Value::Array(items) => {
                    for item in items.iter() {
                        let Value::String(s) = &item.value else {
                            let msg = "error parsing tags: unsupported type *conf.token where \
                                       string is expected";
                            return Err(Diagnostic::at(&t.pos, msg));
                        };
                        crate::options::add_tag(&mut o.tags, s);
                    }
                }
                v => {
                    let msg = format!("error parsing tags: unsupported type {}", v.go_type());
                    return Err(Diagnostic::at(&t.pos, msg));
                }
            },
            "server_metadata" => {
                let Value::Map(m) = &t.value else {
                    let msg = format!(
                        "error parsing metadata: unsupported type {}",
                        t.value.go_type()
                    );
                    return Err(Diagnostic::at(&t.pos, msg));
                };
                for (k, v) in m.iter() {
                    o.metadata.insert(k.to_string(), want_str(v)?.to_string());
                }
            }
            // 0 (or less) keeps the default, as nats-server's baseline.
            "connect_error_reports" | "reconnect_error_reports" => {
                let n = u64::try_from(want_int(t)?).unwrap_or(0);
                let (field, default) = if key == "connect_error_reports" {
                    (
                        &mut o.connect_error_reports,
                        crate::options::DEFAULT_CONNECT_ERROR_REPORTS,
                    )
                } else {
                    (
                        &mut o.reconnect_error_reports,
                        crate::options::DEFAULT_RECONNECT_ERROR_REPORTS,
                    )
                };
                *field = if n == 0 { default } else { n };
            }
            "http_port" | "monitor_port" => o.http_port = http_port(t, want_int(t)?)?,
            "logfile" | "log_file" => o.log_file = non_empty(want_str(t)?).map(PathBuf::from),
            "logfile_size_limit" | "log_size_limit" => {
                o.log_size_limit = u64::try_from(want_int(t)?).unwrap_or(0);
            }
            "pidfile" | "pid_file" => o.pid_file = non_empty(want_str(t)?).map(PathBuf::from),
            "ports_file_dir" => o.ports_file_dir = non_empty(want_str(t)?).map(PathBuf::from),
            "max_control_line" | "max_payload" => {
                let (field, default) = if key == "max_payload" {
                    (&mut o.max_payload, DEFAULT_MAX_PAYLOAD)
                } else {
                    (&mut o.max_control_line, DEFAULT_MAX_CONTROL_LINE)
                };
                if let Some(n) = int32_size(t, k, default, &mut self.warnings)? {
                    *field = n;
                }
            }
            "max_pending" => {
                if let Some(n) = non_negative(t, k, want_int(t)?, &mut self.warnings) {
                    o.max_pending = if n == 0 { DEFAULT_MAX_PENDING } else { n };
                }
            }
            // nats-server refuses every connection when the limit is 0 or negative.
            "max_connections" | "max_conn" => {
                o.max_connections = usize::try_from(want_int(t)?).unwrap_or(0);
            }
            // 0 (and nats-server's -1) mean unlimited.
            "max_subscriptions" | "max_subs" => {
                o.max_subscriptions = usize::try_from(want_int(t)?).unwrap_or(0);
            }
            // nats-server's 0 keeps the default.
            "max_closed_clients" => {
                if let Ok(n @ 1..) = usize::try_from(want_int(t)?) {
                    o.max_closed_clients = n;
                }
            }
            "max_sub_tokens" | "max_subscription_tokens" => {
                let n = want_int(t)?;
                if n > i64::from(u8::MAX) {
                    return Err(Diagnostic::at(&t.pos, format!("{k} value is too big")));
                } else if n <= 0 {
                    return Err(negative(t, k));
                }
                o.max_sub_tokens = u8::try_from(n).unwrap_or(u8::MAX);
            }
            "ping_interval" | "write_deadline" => {
                let (field, default) = if key == "ping_interval" {
                    (&mut o.ping_interval, DEFAULT_PING_INTERVAL)
                } else {
                    (&mut o.write_deadline, DEFAULT_WRITE_DEADLINE)
                };
                if let Some(d) = duration(t, &key, default, &mut self.warnings)? {
                    *field = d;
                }
            }
            "ping_max" => {
                if let Some(n) = non_negative(t, k, want_int(t)?, &mut self.warnings) {
                    o.ping_max = match n {
                        0 => DEFAULT_PING_MAX,
                        n => u32::try_from(n).unwrap_or(u32::MAX),
                    };
                }
            }
            "lame_duck_duration" => {
                let ns = parse_go_duration(want_str(t)?).map_err(|e| {
                    Diagnostic::at(&t.pos, format!("error parsing lame_duck_duration: {e}"))
                })?;
                if ns < MIN_LAME_DUCK_DURATION_NS {
                    let msg = format!(
                        "invalid lame_duck_duration of {}, minimum is 30 seconds",
                        go_duration_string(ns)
                    );
                    return Err(Diagnostic::at(&t.pos, msg));
                }
                o.lame_duck_duration = Duration::from_nanos(ns.unsigned_abs());
            }
            "lame_duck_grace_period" => {
                let ns = parse_go_duration(want_str(t)?).map_err(|e| {
                    Diagnostic::at(&t.pos, format!("error parsing lame_duck_grace_period: {e}"))
                })?;
                if ns < 0 {
                    let msg = "invalid lame_duck_grace_period, needs to be positive";
                    return Err(Diagnostic::at(&t.pos, msg));
                }
                if ns > 0 {
                    o.lame_duck_grace_period = Duration::from_nanos(ns.unsigned_abs());
                } else {
                    o.lame_duck_grace_period = crate::options::DEFAULT_LAME_DUCK_GRACE_PERIOD;
                }
            }
            "no_auth_user" => o.no_auth_user = non_empty(want_str(t)?),
            "accounts" => {
                super::accounts::apply_accounts(t, o, &mut self.errors, &mut self.warnings);
            }
            "no_system_account" | "no_system" | "no_sys_acc" => {
                o.no_system_account = want_bool(t)?;
            }
            "tls" => super::tls::apply_tls(t, o, &mut self.warnings)?,
            "cluster" => super::cluster::apply_cluster(t, o, &mut self.errors, &mut self.warnings),
            "operator" | "operators" | "roots" | "root" | "root_operators" | "root_operator" => {
                super::operator::apply_operator(t, o, &mut self.errors)
            }
            "resolver" | "account_resolver" | "accounts_resolver" => {
                super::operator::apply_resolver(t, o, &mut self.errors)
            }
            "resolver_preload" => super::operator::apply_preload(t, o, &mut self.errors),
            "mappings" | "maps" => {
                o.mappings = super::mappings::parse_mappings(t, &mut self.errors)
            }
            "resolver_pinned_accounts" => super::operator::apply_pinned(t, o, &mut self.errors),
            "system_account" | "system" => super::operator::apply_system_account(t, o),
            _ => return self.other(k, &key, t),
        }
        Ok(())
    }

    /// Known-but-unimplemented keys (type-checked, then a warning) and unknown ones.
    fn other(&mut self, k: &str, key: &str, t: &Token) -> Result<(), Diagnostic> {
        let Some(expect) = unsupported(key) else {
            if t.used_variable {
                return Ok(());
            }
            return Err(Diagnostic::at(
                &t.pos,
                format!("unknown field {}", quote(k)),
            ));
        };
        match expect {
            Expect::Bool => {
                want_bool(t)?;
            }
            Expect::Int => {
                want_int(t)?;
            }
            Expect::Str => {
                let s = want_str(t)?;
                if key == "write_timeout" && !matches!(s, "default" | "close" | "retry") {
                    let msg = "write_timeout must be 'default', 'close' or 'retry'";
                    return Err(Diagnostic::at(&t.pos, msg));
                }
            }
            Expect::Any => {
                if !block_shape(key, t)? {
                    return Ok(());
                }
                check_block_keys(key, t, &mut self.errors);
            }
        }
        self.unsupported(t, k);
        Ok(())
    }
}
