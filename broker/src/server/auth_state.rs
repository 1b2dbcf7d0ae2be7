//! Replacing the authorization state in force ([`AuthState`]): the account registry and the
//! imports follow it, and every client is re-checked against it — closed when its user is
//! gone, moved to another account or no longer authenticates, its permissions updated (and
//! forbidden subscriptions dropped) otherwise. Unaffected clients stay connected.

use std::sync::Arc;

use super::Server;
use crate::account::{Account, GLOBAL_ACCOUNT};
use crate::auth::AuthState;
use crate::client::{ClientShared, CloseReason};

impl Server {
    /// The authorization state in force (a snapshot).
    pub fn auth(&self) -> Arc<AuthState> {
        self.auth.read().clone()
    }

    /// Replaces the authorization state without a restart (SIGHUP; later the cluster's
    /// replicated log): accounts are created or dropped, imports re-installed, and every
    /// client re-checked.
    pub fn set_auth(&self, state: AuthState) {
        let state = Arc::new(state);
        *self.auth.write() = state.clone();
        self.configure_accounts(&state);
        recheck_clients(self, &state);
    }

    /// Makes the registry match `auth`: creates the accounts it names, drops those a
    /// previous state named and this one does not (`$G` and runtime accounts stay), and
    /// installs the imports (stream routes, service-import subscriptions) afresh.
    pub(super) fn configure_accounts(&self, auth: &AuthState) {
        let cache = !self.options().no_sublist_cache;
        let mut configured = self.configured.lock();
        let mut removed: Vec<Arc<Account>> = Vec::new();
        let mut created = Vec::new();
        {
            let mut map = self.accounts.write();
            for name in configured.iter() {
                if name != GLOBAL_ACCOUNT && !auth.accounts.iter().any(|a| &a.name == name) {
                    removed.extend(map.remove(name));
                }
            }
            for a in &auth.accounts {
                map.entry(a.name.clone()).or_insert_with(|| {
                    let acc = Account::new(&a.name, cache);
                    created.push(acc.clone());
                    acc
                });
            }
        }
        // New accounts get the system account's imports, as every account does.
        if let Some(sys) = self.system() {
            for a in &created {
                sys.import_into(a);
            }
        }
        *configured = auth.accounts.iter().map(|a| a.name.clone()).collect();
        for a in &removed {
            tracing::info!("Reloaded: deleting account {:?}", a.name);
        }
        let all = self.accounts();
        if let Some(sink) = self.interest_sink.get() {
            for a in &all {
                a.set_interest_sink(sink.clone());
            }
        }
        crate::imports::install(&auth.accounts, &all);
        for a in &all {
            if a.name == GLOBAL_ACCOUNT {
                a.set_mappings(&auth.global_mappings);
            } else if let Some(c) = auth.accounts.iter().find(|c| c.name == a.name) {
                a.set_mappings(&c.mappings);
            }
        }
        for a in &removed {
            a.clear_imports();
        }
        // That cleared the imports of operator mode's accounts too: install theirs again.
        self.reinstall_jwt_accounts();
        self.routes.set_import_interest(&all);
    }
}

/// Cuts clients whose credentials no longer pass; updates the permissions of the others and
/// drops their subscriptions the new permissions forbid (with nats-server's `-ERR`).
fn recheck_clients(server: &Server, auth: &AuthState) {
    let opts = server.options();
    for c in server.clients() {
        let Some(creds) = c.credentials() else {
            continue;
        };
        // Clients of operator mode hold user JWTs, checked by the JWT code, not here.
        if auth.operator_mode && !creds.jwt.is_empty() {
            continue;
        }
        if !crate::tls::pinned_cert_ok_for(&opts, c.transport()) {
            tracing::debug!("{} - certificate no longer pinned after reload", c.label());
            c.close(CloseReason::TlsHandshakeError);
            continue;
        }
        if moved_account(auth, &creds, &c.account().name) {
            tracing::debug!(
                "{} - account changed or user removed after reload",
                c.label()
            );
            c.close(CloseReason::ClientClosed);
            continue;
        }
        match crate::auth::authenticate(auth, &creds, c.transport()) {
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
    auth: &AuthState,
    creds: &crate::client::connect::ConnectOptions,
    current: &str,
) -> bool {
    if creds.nkey.is_empty() && creds.user.is_empty() {
        return false;
    }
    match auth.bound_account(&creds.nkey, &creds.user) {
        Some(account) => account.unwrap_or(GLOBAL_ACCOUNT) != current,
        None => true,
    }
}

pub(super) fn drop_forbidden_subs(c: &ClientShared, perms: &crate::permissions::Permissions) {
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
