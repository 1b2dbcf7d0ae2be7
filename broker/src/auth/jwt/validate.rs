//! The blocking checks of nats-io/jwt's `Validate` for the claims the server decodes: time
//! checks (`exp`, `nbf`) and malformed content (bad subjects, CIDRs, clock times, zones, keys).
//! Warnings of the library are not reproduced: the server ignores them.

use super::cidr::Cidr;
use super::claims::{
    AccountClaims, ClaimsData, OperatorClaims, Permission, Permissions, UserClaims,
    UserPermissionLimits,
};
use super::times::{load_location, parse_clock};
use super::token::KeyKind;

/// What `Validate` found; each entry blocks (`IsBlocking(true)`: time checks included).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Issues(pub Vec<String>);

impl Issues {
    fn add(&mut self, s: impl Into<String>) {
        self.0.push(s.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `ClaimsData.Validate` at `now` (Unix seconds).
fn claims_data(c: &ClaimsData, now: i64, vr: &mut Issues) {
    if c.expires > 0 && now > c.expires {
        vr.add("claim is expired");
    }
    if c.not_before > 0 && c.not_before > now {
        vr.add("claim is not yet valid");
    }
}

/// `Subject.Validate`.
fn subject(v: &str, vr: &mut Issues) {
    if v.is_empty() {
        vr.add("subject cannot be empty");
        return;
    }
    if v.contains(' ') {
        vr.add(format!("subject {v:?} cannot have spaces"));
    }
    if v.starts_with('.') || v.ends_with('.') {
        vr.add(format!("subject {v:?} cannot start or end with a `.`"));
    }
    if v.contains("..") {
        vr.add(format!("subject {v:?} cannot contain consecutive `.`"));
    }
}

/// `checkPermission`: a subject, or (subscribe only) a subject and a queue.
fn permission(p: &Permission, permit_queue: bool, vr: &mut Issues) {
    for s in p.allow.iter().chain(&p.deny) {
        let parts: Vec<&str> = s.split(' ').collect();
        match parts.as_slice() {
            [one] => subject(one, vr),
            [subj, queue] => {
                subject(subj, vr);
                subject(queue, vr);
                if !permit_queue {
                    vr.add(format!(
                        "Permission Subject {s:?} is not allowed to contain queue"
                    ));
                }
            }
            _ => vr.add(format!("Permission Subject {s:?} contains too many spaces")),
        }
    }
}

/// `Permissions.Validate`.
pub fn permissions(p: &Permissions, vr: &mut Issues) {
    permission(&p.subscribe, true, vr);
    permission(&p.publish, false, vr);
}

/// `User.Validate` for the permissions and limits part (also a scope's template).
pub fn user_limits(u: &UserPermissionLimits, vr: &mut Issues) {
    permissions(&u.permissions, vr);
    for c in &u.src {
        if Cidr::parse(c).is_none() {
            vr.add(format!("invalid cidr {c:?} in user src limits"));
        }
    }
    for t in &u.times {
        if t.start.is_empty() {
            vr.add("time ranges start must contain a start");
        } else if parse_clock(&t.start).is_none() {
            vr.add(format!("start in time range is invalid {:?}", t.start));
        }
        if t.end.is_empty() {
            vr.add("time ranges end must contain an end");
        } else if parse_clock(&t.end).is_none() {
            vr.add(format!("end in time range is invalid {:?}", t.end));
        }
    }
    if !u.locale.is_empty() && load_location(&u.locale).is_none() {
        vr.add("could not parse iana time zone by name");
    }
}

/// `UserClaims.Validate` at `now`.
pub fn user(u: &UserClaims, now: i64) -> Issues {
    let mut vr = Issues::default();
    claims_data(&u.claims, now, &mut vr);
    user_limits(&u.nats.limits, &mut vr);
    if !u.nats.issuer_account.is_empty() && !KeyKind::Account.accepts(&u.nats.issuer_account) {
        vr.add("account_id is not an account public key");
    }
    vr
}

/// `AccountClaims.Validate` at `now` (imports and exports: their subjects and accounts).
pub fn account(a: &AccountClaims, now: i64) -> Issues {
    let mut vr = Issues::default();
    claims_data(&a.claims, now, &mut vr);
    let n = &a.nats;
    for i in &n.imports {
        subject(&i.subject, &mut vr);
        if i.account.is_empty() || !KeyKind::Account.accepts(&i.account) {
            vr.add(format!(
                "account to import from {:?} is not a valid account public key",
                i.account
            ));
        }
        if i.account == a.claims.subject && i.kind == "service" {
            vr.add("service import cannot import from its own account");
        }
    }
    for e in &n.exports {
        subject(&e.subject, &mut vr);
    }
    permissions(&n.default_permissions, &mut vr);
    let lim = &n.limits.account;
    let (imports, exports) = (n.imports.len() as i64, n.exports.len() as i64);
    if !n.limits.is_empty() && lim.imports >= 0 && imports > lim.imports {
        vr.add("the account contains more imports than allowed by the operator");
    }
    if lim.imports != super::claims::NO_LIMIT && imports > lim.imports {
        vr.add("the account contains more imports than allowed by the operator");
    }
    if lim.exports != super::claims::NO_LIMIT {
        if exports > lim.exports {
            vr.add("the account contains more exports than allowed by the operator");
        }
        if !lim.wildcard_exports && n.exports.iter().any(|e| has_wildcards(&e.subject)) {
            vr.add("the account contains wildcard exports that are not allowed by the operator");
        }
    }
    for (key, scope) in &n.signing_keys.0 {
        let k = scope.as_ref().map(|s| s.key.as_str()).unwrap_or(key);
        if !KeyKind::Account.accepts(k) {
            vr.add(format!("{k:?} is not a valid account signing key"));
        }
    }
    vr
}

/// `Subject.HasWildCards`.
fn has_wildcards(v: &str) -> bool {
    v.ends_with(".>")
        || v.contains(".*.")
        || v.ends_with(".*")
        || v.starts_with("*.")
        || v == "*"
        || v == ">"
}

/// `OperatorClaims.Validate` at `now`.
pub fn operator(o: &OperatorClaims, now: i64) -> Issues {
    let mut vr = Issues::default();
    claims_data(&o.claims, now, &mut vr);
    for k in &o.nats.signing_keys {
        if !KeyKind::Operator.accepts(k) {
            vr.add(format!("{k} is not an operator public key"));
        }
    }
    let sys = &o.nats.system_account;
    if !sys.is_empty() && !KeyKind::Account.accepts(sys) {
        vr.add(format!("{sys} is not an account public key"));
    }
    if parse_server_version(&o.nats.assert_server_version).is_none() {
        vr.add("assert server version error");
    }
    vr
}

/// `jwt.ParseServerVersion`: `""` is 0.0.0, otherwise three non-negative integers.
pub fn parse_server_version(v: &str) -> Option<(i64, i64, i64)> {
    if v.is_empty() {
        return Some((0, 0, 0));
    }
    let parts: Vec<&str> = v.split('.').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (a, b, c): (i64, i64, i64) = (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?);
    (a >= 0 && b >= 0 && c >= 0).then_some((a, b, c))
}
