//! CONNECT in operator mode: the user JWT is checked against the trusted operators, then the
//! connection joins the JWT's account with the user's permissions, the tighter of the user's,
//! account's and server's subscription and payload limits, and a deadline when the JWT (or its
//! time-of-day window) ends. Account connection limits are enforced here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Conn;
use crate::auth::jwt::{self, JwtUser, Presented, Refusal, claims};
use crate::client::CloseReason;
use crate::permissions::{
    DEFAULT_RESPONSE_EXPIRES, DEFAULT_RESPONSE_MAX, Entry, Permissions, ResponsePermission,
    SubjectPermission,
};
use crate::proto::ParserLimits;

/// The tighter of two limits where a negative value is no limit.
fn min_limit(a: i64, b: i64) -> i64 {
    match (a < 0, b < 0) {
        (true, _) => b,
        (_, true) => a,
        _ => a.min(b),
    }
}

/// One direction of JWT permissions as the server's permission lists.
fn side(p: &claims::Permission) -> Option<SubjectPermission> {
    if p.allow.is_empty() && p.deny.is_empty() {
        return None;
    }
    let list =
        |l: &Vec<String>| (!l.is_empty()).then(|| l.iter().map(|s| Entry::parse(s)).collect());
    Some(SubjectPermission {
        allow: list(&p.allow),
        deny: list(&p.deny),
    })
}

/// `buildPermissionsFromJwt` with `validateResponsePermissions`: JWT permissions as the
/// server's. A response permission turns an absent publish allow list into an empty one;
/// `max` 0 and `ttl` 0 take nats-server's defaults.
pub(crate) fn permissions_from_jwt(p: &claims::Permissions) -> Permissions {
    let mut out = Permissions {
        publish: side(&p.publish),
        subscribe: side(&p.subscribe),
        response: p.resp.as_ref().map(|r| ResponsePermission {
            max_msgs: if r.max_msgs == 0 {
                DEFAULT_RESPONSE_MAX
            } else {
                r.max_msgs
            },
            expires: Some(if r.expires_ns == 0 {
                DEFAULT_RESPONSE_EXPIRES
            } else {
                Duration::from_nanos(r.expires_ns.max(0) as u64)
            }),
        }),
    };
    if out.response.is_some() {
        let publish = out.publish.get_or_insert_with(SubjectPermission::default);
        publish.allow.get_or_insert_with(Vec::new);
    }
    out
}

impl Conn {
    /// Authenticates the CONNECT's user JWT and binds the connection. False = closed.
    pub(super) fn connect_jwt(&mut self) -> bool {
        let Some(trust) = self.server.trust() else {
            return self.jwt_refused(Refusal::Debug("operator mode without trust".into()));
        };
        let nonce = self.shared.transport().nonce.clone();
        let host = self.shared.addr.ip().to_string();
        let presented = Presented {
            jwt: &self.opts.jwt,
            sig: &self.opts.sig,
            nonce: nonce.as_bytes(),
            host: &host,
        };
        let user = match jwt::authenticate(&trust, presented, SystemTime::now()) {
            Ok(u) => u,
            Err(r) => return self.jwt_refused(r),
        };
        let account = self.server.jwt_account(&trust, &user.account);
        let max_conns = user.account.max_connections();
        if max_conns >= 0
            && self.server.clients_in_account(&account, self.shared.cid) >= max_conns as usize
        {
            self.send_err("maximum account active connections exceeded");
            // nats-server logs it twice: once sending the error, once reporting the failed
            // registration.
            for _ in 0..2 {
                tracing::error!(
                    "{} - maximum account active connections exceeded",
                    self.shared.label()
                );
            }
            self.shared
                .close(CloseReason::MaxAccountConnectionsExceeded);
            return false;
        }
        if !Arc::ptr_eq(&account, &self.account) {
            self.shared.set_account(account.clone());
            self.account = account;
        }
        let perms = user
            .permissions
            .as_ref()
            .map(|p| Arc::new(permissions_from_jwt(p)));
        self.shared.set_permissions(perms);
        self.refresh_permissions();
        self.apply_jwt_limits(&user);
        // The sooner of the user's end and the account JWT's `exp` (nats-server runs a timer
        // per account that expires all its clients).
        let now = tokio::time::Instant::now();
        // A deadline too far away to represent (an `exp` centuries ahead) is no deadline.
        let user_end = user
            .expires_in
            .and_then(|d| now.checked_add(d))
            .map(|at| (at, false));
        let acc_exp = user.account.claims.claims.expires;
        let acc_end = (acc_exp > 0)
            .then(|| {
                let left = acc_exp.saturating_sub(jwt::now_unix()).max(0) as u64;
                now.checked_add(Duration::from_secs(left))
            })
            .flatten()
            .map(|at| (at, true));
        self.expires_at = match (user_end, acc_end) {
            (Some(u), Some(a)) => Some(if a.0 < u.0 { a } else { u }),
            (u, a) => u.or(a),
        };
        tracing::debug!(
            "{} - Authenticated JWT: Client {:?} (claim-name: {:?}) by Account {:?}",
            self.shared.label(),
            user.subject,
            user.name,
            user.account.name
        );
        {
            let mut meta = self.shared.meta.write();
            meta.user = user.subject.clone();
            meta.jwt = if user.bearer {
                String::new()
            } else {
                user.jwt.clone()
            };
            meta.issuer_key = user.issuer_key.clone();
            meta.tags = user.tags.clone();
            meta.name_tag = user.account.claims.claims.name.clone();
        }
        // Kept so a reload can check the JWT again against the new trust.
        self.shared.set_credentials(self.opts.clone());
        true
    }

    /// The tighter of the user's, account's and server's subscription and payload limits
    /// (`applyAccountLimits`).
    fn apply_jwt_limits(&mut self, user: &JwtUser) {
        let acc_limits = &user.account.claims.nats.limits.nats;
        let o = self.server.options();
        let server_subs = if o.max_subscriptions == 0 {
            -1
        } else {
            o.max_subscriptions as i64
        };
        let subs = min_limit(min_limit(user.max_subs, acc_limits.subs), server_subs);
        self.max_subs = (subs >= 0).then_some(subs as usize);
        let payload = min_limit(
            min_limit(user.max_payload, acc_limits.payload),
            o.max_payload as i64,
        );
        self.max_payload = (payload >= 0).then_some(payload as usize);
        self.apply_parser_limits();
    }

    /// After a reload: the limits again from the user JWT and the account JWT now resolved
    /// (a refused JWT changes nothing here; the reload's re-check cuts that client).
    pub(super) fn refresh_jwt_limits(&mut self) {
        if !self.connected || self.opts.jwt.is_empty() {
            return;
        }
        let Some(trust) = self.server.trust() else {
            return;
        };
        let nonce = self.shared.transport().nonce.clone();
        let host = self.shared.addr.ip().to_string();
        let presented = Presented {
            jwt: &self.opts.jwt,
            sig: &self.opts.sig,
            nonce: nonce.as_bytes(),
            host: &host,
        };
        if let Ok(user) = jwt::authenticate(&trust, presented, SystemTime::now()) {
            self.apply_jwt_limits(&user);
        }
    }

    /// Refuses the CONNECT: nats-server's log line for the reason, then `Authorization
    /// Violation` and the close.
    fn jwt_refused(&mut self, r: Refusal) -> bool {
        match r {
            Refusal::Debug(s) if !s.is_empty() => tracing::debug!("{} - {s}", self.shared.label()),
            Refusal::Debug(_) => {}
            Refusal::Error(s) => tracing::error!("{} - {s}", self.shared.label()),
        }
        self.send_err("Authorization Violation");
        tracing::error!("{} - authentication error", self.shared.label());
        self.shared.close(CloseReason::AuthenticationViolation);
        false
    }

    /// The parser limits: the server's, with a JWT's lower payload limit.
    pub(super) fn apply_parser_limits(&mut self) {
        let o = self.server.options();
        let max_payload = match self.max_payload {
            Some(p) => p.min(o.max_payload),
            None => o.max_payload,
        };
        self.parser.set_limits(ParserLimits {
            max_control_line: o.max_control_line,
            max_payload,
        });
    }

    /// The user JWT (or its time window) ran out: nats-server's `authExpired`; or the
    /// account JWT did: `accountAuthExpired`.
    pub(super) fn auth_expired(&mut self) {
        let text = if self.expires_at.is_some_and(|(_, account)| account) {
            "Account Authentication Expired"
        } else {
            "User Authentication Expired"
        };
        self.send_err(text);
        tracing::debug!("{} - {text}", self.shared.label());
        self.shared.close(CloseReason::AuthenticationExpired);
    }

    /// The second INFO's `max_payload` when a JWT lowered it.
    pub(super) fn jwt_info(&self, account: &str) -> Option<Vec<u8>> {
        let p = self.max_payload?;
        Some(self.server.client_info_with_max_payload(
            self.shared.cid,
            &self.shared.addr.ip().to_string(),
            Some(account),
            p.min(self.server.options().max_payload),
        ))
    }
}
