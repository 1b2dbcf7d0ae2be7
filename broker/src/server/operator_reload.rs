//! Operator mode after a reload (nats-server's `reloadAuthorization` with a memory resolver):
//! accounts the new resolver no longer resolves leave the registry, accounts whose JWT changed
//! apply it to their clients (connection limit, bearer policy, revocations), then every
//! client's user JWT is authenticated again against the new trust — cut when it no longer
//! passes, its permissions updated otherwise. Unaffected clients stay connected.

use std::sync::Arc;
use std::time::SystemTime;

use super::Server;
use crate::account::GLOBAL_ACCOUNT;
use crate::auth::jwt::{self, KeyKind, Presented, Refusal, ResolvedAccount, Trust};
use crate::client::{ClientShared, CloseReason, permissions_from_jwt};

impl Server {
    /// Re-checks the accounts and clients of operator mode against the trust in force; `old`
    /// is the trust before the reload (what the accounts were resolved from).
    pub(super) fn recheck_jwt_clients(&self, old: Option<&Trust>) {
        let Some(trust) = self.trust() else {
            return;
        };
        for acc in self.refresh_jwt_accounts(old, &trust) {
            apply_account_update(self, &acc);
        }
        for c in jwt_clients(self) {
            reauthenticate(self, &trust, &c);
        }
    }

    /// Drops the JWT accounts the new resolver does not resolve (`deleting account
    /// [removed]`) and returns those whose account JWT changed.
    fn refresh_jwt_accounts(
        &self,
        old: Option<&Trust>,
        trust: &Trust,
    ) -> Vec<Arc<ResolvedAccount>> {
        let mut updated = Vec::new();
        let Some(old) = old else {
            return updated;
        };
        for acc in self.accounts() {
            if acc.name == GLOBAL_ACCOUNT || !KeyKind::Account.accepts(&acc.name) {
                continue;
            }
            // Only accounts that came from the old resolver are JWT accounts.
            let Ok(before) = old.lookup(&acc.name) else {
                continue;
            };
            match trust.lookup(&acc.name) {
                Ok(now) if now.jwt != before.jwt => updated.push(now),
                Ok(_) => {}
                Err(_) if trust.system_account.as_deref() == Some(acc.name.as_str()) => {}
                Err(_) => {
                    tracing::info!("Reloaded: deleting account [removed]: {:?}", acc.name);
                    self.accounts.write().remove(&acc.name);
                    acc.clear_imports();
                }
            }
        }
        updated
    }
}

/// The connected clients that authenticated with a user JWT, oldest first.
fn jwt_clients(server: &Server) -> Vec<Arc<ClientShared>> {
    let mut all: Vec<_> = server
        .clients()
        .into_iter()
        .filter(|c| c.credentials().is_some_and(|cr| !cr.jwt.is_empty()))
        .collect();
    all.sort_by_key(|c| c.cid);
    all
}

/// `updateAccountClaimsWithRefresh` for the clients of an account whose JWT changed: the
/// newest connections beyond the connection limit are cut, then bearer users when bearer
/// tokens are no longer allowed and revoked users.
fn apply_account_update(server: &Server, acc: &ResolvedAccount) {
    let limits = &acc.claims.nats.limits.account;
    let max = limits.conn;
    let check_users = !acc.claims.nats.revocations.is_empty() || limits.disallow_bearer;
    let mut count: i64 = 0;
    for c in jwt_clients(server) {
        if c.account().name != acc.name || c.close_reason().is_some() {
            continue;
        }
        if max >= 0 && count >= max {
            send_err(&c, "maximum account active connections exceeded");
            tracing::error!(
                "{} - maximum account active connections exceeded",
                c.label()
            );
            c.close(CloseReason::MaxAccountConnectionsExceeded);
            continue;
        }
        count += 1;
        if !check_users {
            continue;
        }
        let token = c.credentials().map(|cr| cr.jwt).unwrap_or_default();
        match jwt::decode_user(&token) {
            Err(e) => {
                tracing::debug!("{} - User JWT not valid: {e}", c.label());
                auth_violation(&c);
            }
            Ok(juc) if juc.nats.limits.bearer_token && limits.disallow_bearer => {
                tracing::debug!("{} - Bearer User JWT not allowed", c.label());
                auth_violation(&c);
            }
            Ok(juc) if acc.user_revoked(&juc.claims.subject, juc.claims.issued_at) => {
                send_err(&c, "User Authentication Revoked");
                tracing::debug!("{} - User Authentication Revoked", c.label());
                c.close(CloseReason::Revocation);
            }
            Ok(_) => {}
        }
    }
}

/// `isClientAuthorized` on a reload: the CONNECT's user JWT and nonce signature checked again
/// against the new trust. A refusal cuts the client; otherwise its permissions follow the
/// (possibly changed) user or account JWT.
fn reauthenticate(server: &Server, trust: &Trust, c: &Arc<ClientShared>) {
    if c.close_reason().is_some() {
        return;
    }
    let Some(creds) = c.credentials() else {
        return;
    };
    let host = c.addr.ip().to_string();
    let presented = Presented {
        jwt: &creds.jwt,
        sig: &creds.sig,
        nonce: c.transport().nonce.as_bytes(),
        host: &host,
    };
    let user = match jwt::authenticate(trust, presented, SystemTime::now()) {
        Ok(u) => u,
        Err(r) => {
            match r {
                Refusal::Debug(s) if !s.is_empty() => tracing::debug!("{} - {s}", c.label()),
                Refusal::Debug(_) => {}
                Refusal::Error(s) => tracing::error!("{} - {s}", c.label()),
            }
            auth_violation(c);
            return;
        }
    };
    // The account of a user JWT is its issuer: the same as at CONNECT (re-registered if a
    // reload had dropped it).
    let account = server.jwt_account(trust, &user.account);
    if !Arc::ptr_eq(&account, &c.account()) {
        c.close(CloseReason::ClientClosed);
        return;
    }
    let perms = user
        .permissions
        .as_ref()
        .map(|p| Arc::new(permissions_from_jwt(p)));
    if perms != c.permissions() {
        c.set_permissions(perms.clone());
        if let Some(p) = perms {
            super::auth_state::drop_forbidden_subs(c, &p);
        }
    }
}

fn send_err(c: &ClientShared, text: &str) {
    c.outbound
        .push_proto(format!("-ERR '{text}'\r\n").as_bytes());
    c.outbound.wake();
}

/// `authViolation`: `Authorization Violation` and the close.
fn auth_violation(c: &ClientShared) {
    send_err(c, "Authorization Violation");
    tracing::error!("{} - authentication error", c.label());
    c.close(CloseReason::AuthenticationViolation);
}
