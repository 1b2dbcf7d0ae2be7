//! Configuration reload (SIGHUP, `--signal reload`): re-read the config file, re-apply the
//! command-line flags over it, swap the options in, and re-check every client's credentials
//! and permissions — cutting only the clients the new configuration no longer admits.

use std::sync::Arc;

use super::Server;
use crate::account::GLOBAL_ACCOUNT;
use crate::auth;
use crate::cli::Flags;
use crate::client::{ClientShared, CloseReason};
use crate::config;
use crate::logging::LogSink;
use crate::options::Options;

/// What a reload needs besides the server: the original flags (they keep overriding the file,
/// as in nats-server) and the log sink to reconfigure.
pub struct ReloadContext {
    pub flags: Flags,
    pub log: Arc<LogSink>,
}

/// Reloads the configuration. The error text is what nats-server logs after
/// `Failed to reload server configuration: `.
pub fn reload(server: &Server, ctx: &ReloadContext) -> Result<(), String> {
    let current = server.options();
    let Some(path) = current.config_file.clone() else {
        return Err("can only reload config when a file is provided using -c or --config".into());
    };
    let mut next = Options::default();
    let warnings = config::load(&path, &mut next).map_err(|e| e.to_string())?;
    ctx.flags.apply(&mut next);
    ctx.flags.tls.apply(&mut next)?;
    config::validate(&next).map_err(|e| e.to_string())?;
    check_reloadable(&current, &next)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    log_changes(&current, &next);
    ctx.log
        .configure(&next)
        .map_err(|e| format!("log file: {e}"))?;
    let auth_changed = auth_settings(&current) != auth_settings(&next);
    server.set_options(next);
    if auth_changed {
        recheck_clients(server);
    }
    tracing::info!("Reloaded server configuration");
    Ok(())
}

/// Options nats-server refuses to change without a restart.
fn check_reloadable(old: &Options, new: &Options) -> Result<(), String> {
    let unsupported = |field: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        Err(format!(
            "config reload not supported for {field}: old={a:?}, new={b:?}"
        ))
    };
    if old.host != new.host {
        return unsupported("Host", &old.host, &new.host);
    }
    if old.port != new.port {
        return unsupported("Port", &old.port, &new.port);
    }
    if old.http_port != new.http_port {
        return unsupported("HTTPPort", &old.http_port, &new.http_port);
    }
    if old.http_host != new.http_host {
        return unsupported("HTTPHost", &old.http_host, &new.http_host);
    }
    if old.server_name != new.server_name {
        return unsupported("ServerName", &old.server_name, &new.server_name);
    }
    Ok(())
}

/// Everything that decides who may connect and what they may do.
fn auth_settings(o: &Options) -> impl PartialEq + '_ {
    (
        &o.accounts,
        &o.username,
        &o.password,
        &o.authorization,
        &o.users,
        &o.nkeys,
        &o.no_auth_user,
        o.tls
            .as_ref()
            .map(|t| (t.settings.map, &t.settings.pinned_certs)),
    )
}

fn log_changes(old: &Options, new: &Options) {
    if old.trace != new.trace {
        tracing::info!("Reloaded: trace = {}", new.trace);
    }
    if old.debug != new.debug {
        tracing::info!("Reloaded: debug = {}", new.debug);
    }
    if old.logtime != new.logtime {
        tracing::info!("Reloaded: logtime = {}", new.logtime);
    }
    if old.log_file != new.log_file {
        let shown = new
            .log_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        tracing::info!("Reloaded: log_file = {shown}");
    }
    if old.tls != new.tls {
        let state = if new.tls.is_some() {
            "enabled"
        } else {
            "disabled"
        };
        tracing::info!("Reloaded: tls = {state}");
    }
    if auth_settings(old) != auth_settings(new) {
        tracing::info!("Reloaded: authorization users");
    }
    let limits = [
        ("max_payload", old.max_payload, new.max_payload),
        ("max_pending", old.max_pending, new.max_pending),
        (
            "max_control_line",
            old.max_control_line,
            new.max_control_line,
        ),
        ("max_connections", old.max_connections, new.max_connections),
        (
            "max_subscriptions",
            old.max_subscriptions,
            new.max_subscriptions,
        ),
    ];
    for (name, a, b) in limits {
        if a != b {
            tracing::info!("Reloaded: {name} = {b}");
        }
    }
}

/// Cuts clients whose credentials no longer pass; updates the permissions of the others and
/// drops their subscriptions the new permissions forbid (with nats-server's `-ERR`).
fn recheck_clients(server: &Server) {
    let opts = server.options();
    for c in server.clients() {
        let Some(creds) = c.credentials() else {
            continue;
        };
        if !crate::tls::pinned_cert_ok_for(&opts, c.transport()) {
            tracing::debug!("{} - certificate no longer pinned after reload", c.label());
            c.close(CloseReason::TlsHandshakeError);
            continue;
        }
        if moved_account(&opts, &creds, &c.account().name) {
            tracing::debug!(
                "{} - account changed or user removed after reload",
                c.label()
            );
            c.close(CloseReason::ClientClosed);
            continue;
        }
        match auth::authenticate(&opts, &creds, c.transport()) {
            None => {
                c.outbound.push_proto(b"-ERR 'Authorization Violation'\r\n");
                c.outbound.wake();
                tracing::error!("{} - authentication error after reload", c.label());
                c.close(CloseReason::AuthenticationViolation);
            }
            Some(identity) => {
                if identity.permissions != c.permissions() {
                    c.set_permissions(identity.permissions.clone());
                    if let Some(perms) = identity.permissions {
                        drop_forbidden_subs(&c, &perms);
                    }
                }
            }
        }
    }
}

/// nats-server's `clientHasMovedToDifferentAccount`: a client that connected as a named user
/// or nkey whose entry is gone or now belongs to another account. Such clients are closed
/// (`Client Closed`, no `-ERR`) and reconnect into the right account.
fn moved_account(
    opts: &Options,
    creds: &crate::client::connect::ConnectOptions,
    current: &str,
) -> bool {
    let bound = if !creds.nkey.is_empty() {
        opts.nkeys
            .iter()
            .find(|n| n.nkey == creds.nkey)
            .map(|n| n.account.as_deref())
    } else if !creds.user.is_empty() {
        opts.users
            .iter()
            .find(|u| u.username == creds.user)
            .map(|u| u.account.as_deref())
            .or_else(|| (opts.username.as_deref() == Some(creds.user.as_str())).then_some(None))
    } else {
        return false;
    };
    match bound {
        Some(account) => account.unwrap_or(GLOBAL_ACCOUNT) != current,
        None => true,
    }
}

fn drop_forbidden_subs(c: &ClientShared, perms: &crate::permissions::Permissions) {
    let mut errors = Vec::new();
    for sub in c.subscriptions() {
        if perms.can_subscribe(&sub.subject, sub.queue.as_deref()) {
            continue;
        }
        c.remove_sub(&sub);
        let subject = String::from_utf8_lossy(&sub.subject);
        let sid = String::from_utf8_lossy(&sub.sid);
        let text = match &sub.queue {
            Some(q) => format!(
                "Permissions Violation for Subscription to {subject:?} using queue {:?} (sid {sid:?})",
                String::from_utf8_lossy(q)
            ),
            None => format!("Permissions Violation for Subscription to {subject:?} (sid {sid:?})"),
        };
        errors.push(format!("-ERR '{text}'\r\n"));
    }
    for e in &errors {
        c.outbound.push_proto(e.as_bytes());
    }
    if !errors.is_empty() {
        c.outbound.wake();
    }
}
