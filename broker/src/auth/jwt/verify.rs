//! Authentication of a client that presents a user JWT in operator mode, in nats-server's
//! order (`processClientOrLeafAuthentication`): the user claims, the account resolved through
//! the trusted operators, the signer (account key or signing key, with its scope), expiry,
//! bearer policy, connection types, the nonce signature, revocation, source network and time
//! of day. A refusal says what nats-server logs about it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::claims::{Permissions, UserClaims, UserPermissionLimits};
use super::template::{TemplateInput, expand};
use super::trust::{LookupError, ResolvedAccount, Trust};
use super::{cidr, decode_user, times, validate};
use crate::auth::{conn_type, nkey};

/// A user authenticated by its JWT.
#[derive(Debug, Clone)]
pub struct JwtUser {
    /// The user's public key.
    pub subject: String,
    /// The JWT's `name`.
    pub name: String,
    pub account: Arc<ResolvedAccount>,
    /// The user JWT as the client sent it.
    pub jwt: String,
    pub issued_at: i64,
    /// Permissions: the user's, or the scope template's, or the account's default ones when
    /// the user has none (`None`: no permissions at all).
    pub permissions: Option<Permissions>,
    /// The user's (or scope's) subscription and payload limits; -1 = unlimited.
    pub max_subs: i64,
    pub max_payload: i64,
    /// When the connection must end (`exp` or the end of the time-of-day window).
    pub expires_in: Option<Duration>,
    /// A bearer token (no nonce signature).
    pub bearer: bool,
    /// The signing key that issued the JWT, else the account (`issuerForClient`).
    pub issuer_key: String,
    /// The user's tags.
    pub tags: Vec<String>,
}

/// Why a JWT was refused, with nats-server's log line: most are debug lines, source network
/// and time-of-day refusals are errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Debug(String),
    Error(String),
}

impl Refusal {
    fn debug(s: impl Into<String>) -> Refusal {
        Refusal::Debug(s.into())
    }
}

/// What the connection offers besides its CONNECT: the nonce it was sent and its address.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub jwt: &'a str,
    pub sig: &'a str,
    pub nonce: &'a [u8],
    pub host: &'a str,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Authenticates `p` against `trust` at `now`.
pub fn authenticate(trust: &Trust, p: Presented, now: SystemTime) -> Result<JwtUser, Refusal> {
    let now_s = unix(now);
    if p.jwt.is_empty() {
        return Err(Refusal::debug("Authentication requires a user JWT"));
    }
    let mut juc: UserClaims = match decode_user(p.jwt) {
        Ok(c) => c,
        Err(_) => return Err(Refusal::debug("Authentication requires a user JWT")),
    };
    if juc.nats.limits.proxy_required {
        return Err(Refusal::debug("proxy connection required"));
    }
    let issues = validate::user(&juc, now_s);
    if !issues.is_empty() {
        return Err(Refusal::debug(format!(
            "User JWT no longer valid: {:?}",
            issues.0
        )));
    }
    let issuer = if juc.nats.issuer_account.is_empty() {
        juc.claims.issuer.clone()
    } else {
        juc.nats.issuer_account.clone()
    };
    if trust.pinned.as_ref().is_some_and(|p| !p.contains(&issuer)) {
        return Err(Refusal::debug(format!(
            "Account {issuer} not listed as operator pinned account"
        )));
    }
    let acc = trust.lookup(&issuer).map_err(|e| {
        if e == LookupError::Missing {
            tracing::warn!("Account fetch failed: {e}");
        }
        Refusal::debug(format!("Account JWT lookup error: {e}"))
    })?;
    if !trust.is_trusted(&acc.claims.claims.issuer) {
        return Err(Refusal::debug("Account JWT not signed by trusted operator"));
    }
    let Some(scope) = acc.signing_keys.get(&juc.claims.issuer) else {
        return Err(Refusal::debug("User JWT issuer is not known"));
    };
    if let Some(scope) = scope {
        if juc.claims.issuer != scope.key {
            return Err(Refusal::debug(
                "User JWT is not valid: issuer not the scoped signer",
            ));
        }
        if !juc.nats.limits.is_empty() {
            return Err(Refusal::debug(
                "User JWT is not valid: scoped users require no permissions or limits set",
            ));
        }
        let input = TemplateInput {
            user_name: &juc.claims.name,
            user_subject: &juc.claims.subject,
            user_tags: &juc.nats.tags,
            account_name: &acc.claims.claims.name,
            account_subject: &juc.nats.issuer_account,
            account_tags: &acc.claims.nats.tags,
        };
        juc.nats.limits = expand(scope.template.clone(), &input)
            .map_err(|_| Refusal::debug("User JWT generated invalid permissions"))?;
    }
    if acc.is_expired(now_s) {
        return Err(Refusal::debug("Account JWT has expired"));
    }
    let lim: &UserPermissionLimits = &juc.nats.limits;
    if lim.bearer_token && acc.claims.nats.limits.account.disallow_bearer {
        return Err(Refusal::debug("Account does not allow bearer tokens"));
    }
    if !lim.allowed_connection_types.is_empty() {
        let (known, _) = conn_type::convert(&lim.allowed_connection_types);
        if known.is_empty() {
            return Err(Refusal::debug("unknown connection type"));
        }
        if !conn_type::client_allowed(&known) {
            return Err(Refusal::debug("Connection type not allowed"));
        }
    }
    if !lim.bearer_token && !nkey::signature_ok(&juc.claims.subject, p.nonce, p.sig) {
        // signature_ok logged nats-server's reason at debug level.
        return Err(Refusal::debug(""));
    }
    if acc.user_revoked(&juc.claims.subject, juc.claims.issued_at) {
        return Err(Refusal::debug("User authentication revoked"));
    }
    if !cidr::validate_src(&lim.src, p.host) {
        return Err(Refusal::Error(format!("Bad src Ip {}", p.host)));
    }
    let (allowed, valid_for) = times::validate_times(&lim.times, &lim.locale, now);
    if !allowed {
        return Err(Refusal::Error("Outside connect times".into()));
    }
    let expires_in = expiration(juc.claims.expires, valid_for, now_s);
    let user_perms = juc.nats.limits.permissions.clone();
    let permissions = if has_permissions(&user_perms) {
        Some(user_perms)
    } else if has_permissions(&acc.claims.nats.default_permissions) {
        Some(acc.claims.nats.default_permissions.clone())
    } else {
        None
    };
    let issuer_key = if juc.nats.issuer_account.is_empty() {
        acc.name.clone()
    } else {
        juc.claims.issuer.clone()
    };
    Ok(JwtUser {
        bearer: juc.nats.limits.bearer_token,
        issuer_key,
        tags: juc.nats.tags.clone(),
        subject: juc.claims.subject.clone(),
        name: juc.claims.name.clone(),
        jwt: p.jwt.to_string(),
        issued_at: juc.claims.issued_at,
        permissions,
        max_subs: juc.nats.limits.limits.subs,
        max_payload: juc.nats.limits.limits.payload,
        expires_in,
        account: acc,
    })
}

/// `buildPermissionsFromJwt` returns nil for claims without any list or response permission.
fn has_permissions(p: &Permissions) -> bool {
    !p.publish.allow.is_empty()
        || !p.publish.deny.is_empty()
        || !p.subscribe.allow.is_empty()
        || !p.subscribe.deny.is_empty()
        || p.resp.is_some()
}

/// `setExpiration`: the sooner of `exp` and the end of the time window, if any.
fn expiration(exp: i64, valid_for: Duration, now: i64) -> Option<Duration> {
    if exp == 0 {
        return (!valid_for.is_zero()).then_some(valid_for);
    }
    let until_exp = Duration::from_secs(exp.saturating_sub(now).max(0) as u64);
    if !valid_for.is_zero() && valid_for < until_exp {
        Some(valid_for)
    } else {
        Some(until_exp)
    }
}
