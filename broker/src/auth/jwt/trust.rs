//! Operator mode's trust roots and account resolver: the operator JWTs, the keys they trust
//! (nats-server's `validateTrustedOperators`), the `MEMORY` resolver with its preloads, and
//! the account JWTs resolved from it (each verified against the trusted keys once, then kept).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::claims::{AccountClaims, OperatorClaims, UserScope};
use super::{JwtError, decode_account, now_unix, validate};

/// The version of nats-server whose behaviour rnats implements, for `assert_server_version`.
const SERVER_VERSION: (i64, i64, i64) = (2, 15, 1);

/// Go's `time.Unix(t, 0)` as `%v` prints it in UTC.
fn go_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_default()
}

/// An account JWT that was verified against the trusted keys.
#[derive(Debug)]
pub struct ResolvedAccount {
    /// The account's public key (its name in operator mode).
    pub name: String,
    /// The JWT it was built from.
    pub jwt: String,
    pub claims: AccountClaims,
    /// Keys that may sign its users: its signing keys (with their scope, if any) and, unless
    /// its operator demands strict signing key usage, the account key itself.
    pub signing_keys: HashMap<String, Option<UserScope>>,
}

impl ResolvedAccount {
    /// `Account.IsExpired` at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.claims.claims.expires > 0 && now > self.claims.claims.expires
    }

    /// `checkUserRevoked`: revoked when the user's (or the `*` entry's) time is at or after
    /// the user JWT's issue time.
    pub fn user_revoked(&self, user: &str, issued_at: i64) -> bool {
        let r = &self.claims.nats.revocations;
        r.get(user).is_some_and(|t| *t >= issued_at) || r.get("*").is_some_and(|t| *t >= issued_at)
    }

    /// The account's `limits.conn` (-1 = unlimited).
    pub fn max_connections(&self) -> i64 {
        self.claims.nats.limits.account.conn
    }
}

/// The trust configuration of a server in operator mode.
#[derive(Debug, Default)]
pub struct Trust {
    pub operators: Vec<OperatorClaims>,
    /// Operator keys whose signatures are accepted on account JWTs.
    pub trusted_keys: Vec<String>,
    /// Operator signing keys of operators with `strict_signing_key_usage`.
    strict_keys: HashSet<String>,
    /// The system account's public key, from the config or the operator JWT.
    pub system_account: Option<String>,
    /// The `MEMORY` resolver: account public key to account JWT.
    resolver: Mutex<HashMap<String, String>>,
    /// Accounts resolved so far.
    cache: Mutex<HashMap<String, Arc<ResolvedAccount>>>,
    /// Accounts whose exports and imports the server installed.
    installed: Mutex<HashSet<String>>,
    /// `resolver_pinned_accounts` (with the system account): the only accounts whose users
    /// may connect; `None` = any.
    pub pinned: Option<HashSet<String>>,
}

/// Why an account could not be resolved (nats-server's errors, for its debug/warn lines).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("account missing")]
    Missing,
    #[error("account validation failed")]
    Validation,
    #[error("{0}")]
    Jwt(#[from] JwtError),
}

impl Trust {
    /// Builds the trust from the operator claims, the configured `system_account` and the
    /// resolver preloads, with `validateTrustedOperators`' checks. Errors are nats-server's
    /// startup messages.
    pub fn new(
        operators: Vec<OperatorClaims>,
        system_account: Option<String>,
        preloads: &[(String, String)],
    ) -> Result<Trust, String> {
        let mut system_account = system_account.filter(|s| !s.is_empty());
        if operators.len() == 1 && system_account.is_none() {
            system_account =
                Some(operators[0].nats.system_account.clone()).filter(|s| !s.is_empty());
        }
        if let Some(sys) = &system_account {
            let non_empty = operators.iter().any(|o| !o.nats.system_account.is_empty());
            let found = operators.iter().any(|o| &o.nats.system_account == sys);
            if non_empty && !found {
                return Err("system_account in config and operator JWT must be identical".into());
            }
        }
        let (maj, min, upd) = SERVER_VERSION;
        for o in &operators {
            let want = &o.nats.assert_server_version;
            let Some((a, b, c)) = validate::parse_server_version(want) else {
                return Err(format!(
                    "operator {} expects version {want} got error instead: asserted server version must be of the form <major>.<minor>.<update>",
                    o.claims.subject
                ));
            };
            if a > maj {
                return Err(format!(
                    "operator {} expected major version {a} > server major version {maj}",
                    o.claims.subject
                ));
            } else if maj == a && b > min {
                return Err(format!(
                    "operator {} expected minor version {b} > server minor version {min}",
                    o.claims.subject
                ));
            } else if maj == a && min == b && c > upd {
                return Err(format!(
                    "operator {} expected update version {c} > server update version {upd}",
                    o.claims.subject
                ));
            }
        }
        let mut trusted_keys = Vec::new();
        let mut strict_keys = HashSet::new();
        for o in &operators {
            if !o.nats.strict_signing_key_usage {
                trusted_keys.push(o.claims.subject.clone());
            } else {
                strict_keys.extend(o.nats.signing_keys.iter().cloned());
            }
            trusted_keys.extend(o.nats.signing_keys.iter().cloned());
        }
        for k in &trusted_keys {
            if !super::KeyKind::Operator.accepts(k) {
                return Err(format!(
                    "trusted Keys {k:?} are required to be a valid public operator nkey"
                ));
            }
        }
        let mut resolver = HashMap::new();
        for (key, jwt) in preloads {
            decode_account(jwt).map_err(|e| format!("preload account error for {key:?}: {e}"))?;
            resolver.insert(key.clone(), jwt.clone());
        }
        Ok(Trust {
            operators,
            trusted_keys,
            strict_keys,
            system_account,
            resolver: Mutex::new(resolver),
            cache: Mutex::new(HashMap::new()),
            installed: Mutex::new(HashSet::new()),
            pinned: None,
        })
    }

    /// Adds `resolver_pinned_accounts`; every key must be an account public key, and the
    /// system account is pinned too.
    pub fn with_pinned(mut self, pinned: Option<Vec<String>>) -> Result<Trust, String> {
        let Some(keys) = pinned.filter(|k| !k.is_empty()) else {
            return Ok(self);
        };
        let mut set = HashSet::new();
        for k in keys {
            if !super::KeyKind::Account.accepts(&k) {
                return Err(format!(
                    "pinned account key {k:?} is not a valid public account nkey"
                ));
            }
            set.insert(k);
        }
        if let Some(sys) = &self.system_account {
            set.insert(sys.clone());
        }
        self.pinned = Some(set);
        Ok(self)
    }

    /// nats-server's startup lines for trusted operators, the system account warning and the
    /// preloads that do not validate (`checkResolvePreloads`).
    pub fn log_startup(&self) {
        tracing::info!("Trusted Operators");
        for o in &self.operators {
            tracing::info!("  System  : {:?}", o.claims.audience);
            tracing::info!("  Operator: {:?}", o.claims.name);
            tracing::info!("  Issued  : {}", go_time(o.claims.issued_at));
            if o.claims.expires == 0 {
                tracing::info!("  Expires : Never");
            } else {
                tracing::info!("  Expires : {}", go_time(o.claims.expires));
            }
        }
        if self.system_account.is_none() {
            tracing::warn!("Trusted Operators should utilize a System Account");
        }
        for (k, issues) in self.preload_issues() {
            tracing::warn!("Account [{k}] has validation issues:");
            for i in issues {
                tracing::warn!("  - {i}");
            }
        }
    }

    /// `isTrustedIssuer`.
    pub fn is_trusted(&self, issuer: &str) -> bool {
        self.trusted_keys.iter().any(|k| k == issuer)
    }

    /// Preloaded accounts whose JWT does not validate now, with the issues (for the startup
    /// warnings of `checkResolvePreloads`).
    pub fn preload_issues(&self) -> Vec<(String, Vec<String>)> {
        let now = now_unix();
        let resolver = self.resolver.lock();
        let mut out: Vec<(String, Vec<String>)> = resolver
            .iter()
            .filter_map(|(k, jwt)| {
                let claims = decode_account(jwt).ok()?;
                let issues = validate::account(&claims, now);
                (!issues.is_empty()).then(|| (k.clone(), issues.0))
            })
            .collect();
        out.sort();
        out
    }

    /// `lookupAccount` through the resolver: the cached account, or the account JWT fetched,
    /// verified (trusted issuer, valid claims, subject = name) and cached.
    pub fn lookup(&self, name: &str) -> Result<Arc<ResolvedAccount>, LookupError> {
        if let Some(acc) = self.cache.lock().get(name) {
            return Ok(acc.clone());
        }
        if !super::KeyKind::Account.accepts(name) {
            return Err(LookupError::Missing);
        }
        let jwt = self
            .resolver
            .lock()
            .get(name)
            .cloned()
            .ok_or(LookupError::Missing)?;
        let acc = Arc::new(self.verify_account(name, &jwt)?);
        let mut cache = self.cache.lock();
        Ok(cache.entry(name.to_string()).or_insert(acc).clone())
    }

    /// Marks `name` installed; true the first time.
    pub fn mark_installed(&self, name: &str) -> bool {
        self.installed.lock().insert(name.to_string())
    }

    /// Every account resolved so far, by name.
    pub fn resolved(&self) -> Vec<Arc<ResolvedAccount>> {
        let mut all: Vec<_> = self.cache.lock().values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Resolves the accounts `acc` imports from, and theirs in turn (nats-server looks the
    /// exporters up when it applies an account's imports). Those it cannot resolve are
    /// skipped: their imports stay incomplete.
    pub fn resolve_imports(&self, acc: &ResolvedAccount) {
        let mut todo: Vec<String> = acc
            .claims
            .nats
            .imports
            .iter()
            .map(|i| i.account.clone())
            .collect();
        let mut seen: HashSet<String> = HashSet::from([acc.name.clone()]);
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Ok(dep) = self.lookup(&name) {
                todo.extend(dep.claims.nats.imports.iter().map(|i| i.account.clone()));
            }
        }
    }

    /// `verifyAccountClaims` plus the subject check of `fetchAccountClaims`.
    fn verify_account(&self, name: &str, jwt: &str) -> Result<ResolvedAccount, LookupError> {
        let claims = decode_account(jwt)?;
        if !self.is_trusted(&claims.claims.issuer) {
            return Err(LookupError::Validation);
        }
        if !validate::account(&claims, now_unix()).is_empty() {
            return Err(LookupError::Validation);
        }
        if claims.claims.subject != name {
            return Err(LookupError::Validation);
        }
        let strict = self.strict_keys.contains(&claims.claims.issuer);
        let mut signing_keys: HashMap<String, Option<UserScope>> = claims
            .nats
            .signing_keys
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !strict {
            signing_keys.insert(name.to_string(), None);
        }
        Ok(ResolvedAccount {
            name: name.to_string(),
            jwt: jwt.to_string(),
            claims,
            signing_keys,
        })
    }
}
