//! Configuration reload (SIGHUP, `--signal reload`): re-read the config file, re-apply the
//! command-line flags over it, swap the options in, and re-check every client's credentials
//! and permissions — cutting only the clients the new configuration no longer admits.

use std::sync::Arc;

use super::Server;
use crate::cli::Flags;
use crate::config;
use crate::logging::LogSink;
use crate::options::Options;
use crate::route::options::RouteUrl;

/// What a reload needs besides the server: the original flags (they keep overriding the file,
/// as in nats-server) and the log sink to reconfigure.
pub struct ReloadContext {
    pub flags: Flags,
    pub log: Arc<LogSink>,
}

/// Reloads the configuration. The error text is what nats-server logs after
/// `Failed to reload server configuration: `.
pub fn reload(server: &Arc<Server>, ctx: &ReloadContext) -> Result<(), String> {
    let current = server.options();
    let Some(path) = current.config_file.clone() else {
        return Err("can only reload config when a file is provided using -c or --config".into());
    };
    let mut next = Options::default();
    let warnings = config::load(&path, &mut next).map_err(|e| e.to_string())?;
    ctx.flags.apply(&mut next);
    ctx.flags
        .apply_cluster(&mut next)
        .map_err(|e| e.to_string())?;
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
    let auth = crate::auth::AuthState::from_options(&next);
    let route_pins = |o: &Options| {
        o.cluster
            .tls
            .as_ref()
            .map(|t| t.settings.pinned_certs.clone())
    };
    let pins_changed = route_pins(&current) != route_pins(&next);
    let (added, removed) = diff_routes(&current.cluster.routes, &next.cluster.routes);
    let cluster_perms = next.cluster.permissions.clone();
    let cluster_perms_changed = current.cluster.permissions != cluster_perms;
    let operator_mode = next.operator_mode();
    // The trust the connected JWT users were checked against (the new one replaces it).
    let old_trust = server.trust();
    server.set_options(next);
    if auth_changed {
        server.set_auth(auth);
    }
    if pins_changed {
        crate::route::certauth::recheck_pinned(server);
    }
    if cluster_perms_changed {
        crate::route::perms::reload(server, cluster_perms);
        tracing::info!("Reloaded: cluster");
    }
    if !(added.is_empty() && removed.is_empty()) {
        crate::route::dial::remove(server, &removed);
        crate::route::dial::solicit(server, added);
        tracing::info!("Reloaded: cluster routes");
    }
    // nats-server re-checks operator mode's accounts and clients on every reload.
    if operator_mode {
        server.recheck_jwt_clients(old_trust.as_deref());
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
    // nats-server's `validateClusterOpts` (its texts print the values bare).
    let (oc, nc) = (&old.cluster, &new.cluster);
    if oc.host != nc.host {
        return Err(format!(
            "config reload not supported for cluster host: old={}, new={}",
            oc.host, nc.host
        ));
    }
    if oc.port != nc.port {
        let p = |p: Option<u16>| p.map_or(-1, i64::from);
        return Err(format!(
            "config reload not supported for cluster port: old={}, new={}",
            p(oc.port),
            p(nc.port)
        ));
    }
    Ok(())
}

/// The configured routes a reload adds and removes (nats-server's `diffRoutes`).
fn diff_routes(old: &[RouteUrl], new: &[RouteUrl]) -> (Vec<RouteUrl>, Vec<RouteUrl>) {
    let added = new.iter().filter(|u| !old.contains(u)).cloned().collect();
    let removed = old.iter().filter(|u| !new.contains(u)).cloned().collect();
    (added, removed)
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
        &o.system_account,
        &o.mappings,
        o.operator.as_ref().map(|op| {
            let operators: Vec<_> = op
                .operators
                .iter()
                .map(|c| (&c.claims.subject, &c.claims.id, c.claims.issued_at))
                .collect();
            (operators, op.memory_resolver, &op.preloads, &op.pinned)
        }),
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
