//! The claim types of NATS JWTs (nats-io/jwt v2) that the server reads: operator, account and
//! user, with the JSON names and defaults of the Go library (absent limits are 0, except in a
//! scoped signing key's template, where they default to unlimited).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// `jwt.NoLimit`.
pub const NO_LIMIT: i64 = -1;

/// Fields every claim carries (`ClaimsData`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClaimsData {
    #[serde(rename = "aud")]
    pub audience: String,
    #[serde(rename = "exp")]
    pub expires: i64,
    #[serde(rename = "jti")]
    pub id: String,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "iss")]
    pub issuer: String,
    pub name: String,
    #[serde(rename = "nbf")]
    pub not_before: i64,
    #[serde(rename = "sub")]
    pub subject: String,
}

/// One direction's allow and deny lists (`jwt.Permission`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Permission {
    #[serde(deserialize_with = "null_as_empty")]
    pub allow: Vec<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub deny: Vec<String>,
}

/// `allow_responses` in a JWT (`jwt.ResponsePermission`): `ttl` is a Go duration in ns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ResponsePermission {
    #[serde(rename = "max")]
    pub max_msgs: i64,
    #[serde(rename = "ttl")]
    pub expires_ns: i64,
}

/// `jwt.Permissions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Permissions {
    #[serde(rename = "pub")]
    pub publish: Permission,
    #[serde(rename = "sub")]
    pub subscribe: Permission,
    pub resp: Option<ResponsePermission>,
}

/// A time-of-day window `HH:MM:SS`-`HH:MM:SS` (`jwt.TimeRange`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// Subscriptions, data and payload limits (`jwt.NatsLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NatsLimits {
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
}

impl Default for NatsLimits {
    /// Go's zero value; only the constructors of the library set -1.
    fn default() -> Self {
        NatsLimits {
            subs: 0,
            data: 0,
            payload: 0,
        }
    }
}

/// What a user claim or a scope template may restrict (`jwt.UserPermissionLimits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UserPermissionLimits {
    #[serde(flatten)]
    pub permissions: Permissions,
    /// `src`: a list, or one comma-separated string (`CIDRList.UnmarshalJSON`).
    #[serde(deserialize_with = "cidr_list")]
    pub src: Vec<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub times: Vec<TimeRange>,
    #[serde(rename = "times_location")]
    pub locale: String,
    #[serde(flatten)]
    pub limits: NatsLimits,
    pub bearer_token: bool,
    pub proxy_required: bool,
    #[serde(deserialize_with = "null_as_empty")]
    pub allowed_connection_types: Vec<String>,
}

impl UserPermissionLimits {
    /// `UserClaims.HasEmptyPermissions`: nothing set at all (what a scoped signer requires).
    pub fn is_empty(&self) -> bool {
        *self == UserPermissionLimits::default()
    }
}

/// The `nats` part of a user claim (`jwt.User`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(flatten)]
    pub limits: UserPermissionLimits,
    pub issuer_account: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i64,
}

/// A user JWT (`jwt.UserClaims`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserClaims {
    #[serde(flatten)]
    pub claims: ClaimsData,
    pub nats: User,
}

/// The account part of an operator's limits (`jwt.AccountLimits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AccountLimits {
    pub imports: i64,
    pub exports: i64,
    #[serde(rename = "wildcards")]
    pub wildcard_exports: bool,
    pub disallow_bearer: bool,
    pub conn: i64,
    pub leaf: i64,
}

/// `jwt.OperatorLimits` as far as the core server uses them (JetStream limits are ignored:
/// rnats has no JetStream yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OperatorLimits {
    #[serde(flatten)]
    pub nats: NatsLimits,
    #[serde(flatten)]
    pub account: AccountLimits,
}

impl OperatorLimits {
    /// `OperatorLimits.IsEmpty` without the JetStream part.
    pub fn is_empty(&self) -> bool {
        self.nats == NatsLimits::default() && self.account == AccountLimits::default()
    }
}

/// A scoped signing key (`jwt.UserScope`): users it signs get `template`'s permissions and
/// limits and must carry none themselves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserScope {
    pub key: String,
    #[serde(default)]
    pub role: String,
    #[serde(default = "unlimited_template")]
    pub template: UserPermissionLimits,
}

/// `NewUserScope` presets the template's NATS limits to unlimited before unmarshalling.
fn unlimited_template() -> UserPermissionLimits {
    UserPermissionLimits {
        limits: NatsLimits {
            subs: NO_LIMIT,
            data: NO_LIMIT,
            payload: NO_LIMIT,
        },
        ..Default::default()
    }
}

/// An account's signing keys: a plain key, or a key with a user scope (`jwt.SigningKeys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigningKeys(pub BTreeMap<String, Option<UserScope>>);

impl<'de> Deserialize<'de> for SigningKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items: Option<Vec<serde_json::Value>> = Option::deserialize(d)?;
        let mut keys = BTreeMap::new();
        for item in items.unwrap_or_default() {
            match item {
                serde_json::Value::String(k) => {
                    keys.insert(k, None);
                }
                serde_json::Value::Object(ref m) => {
                    if m.get("kind").and_then(|k| k.as_str()) != Some("user_scope") {
                        return Err(serde::de::Error::custom("unknown signing key scope"));
                    }
                    let mut scope: UserScope =
                        serde_json::from_value(item.clone()).map_err(serde::de::Error::custom)?;
                    // Fields of the template that are absent keep NewUserScope's -1.
                    if let Some(t) = m.get("template").and_then(|t| t.as_object()) {
                        let l = &mut scope.template.limits;
                        for (name, slot) in [
                            ("subs", &mut l.subs),
                            ("data", &mut l.data),
                            ("payload", &mut l.payload),
                        ] {
                            if !t.contains_key(name) {
                                *slot = NO_LIMIT;
                            }
                        }
                    }
                    keys.insert(scope.key.clone(), Some(scope));
                }
                _ => return Err(serde::de::Error::custom("bad signing key entry")),
            }
        }
        Ok(SigningKeys(keys))
    }
}

/// One export of an account JWT (`jwt.Export`), as far as the server maps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Export {
    pub name: String,
    pub subject: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub token_req: bool,
    pub response_type: String,
    pub account_token_position: u32,
}

/// One import of an account JWT (`jwt.Import`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Import {
    pub name: String,
    pub subject: String,
    pub account: String,
    pub token: String,
    pub to: String,
    pub local_subject: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub share: bool,
}

/// The `nats` part of an account claim (`jwt.Account`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Account {
    #[serde(deserialize_with = "null_as_empty")]
    pub imports: Vec<Import>,
    #[serde(deserialize_with = "null_as_empty")]
    pub exports: Vec<Export>,
    pub limits: OperatorLimits,
    pub signing_keys: SigningKeys,
    #[serde(deserialize_with = "null_as_empty")]
    pub revocations: BTreeMap<String, i64>,
    pub default_permissions: Permissions,
    #[serde(deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i64,
    /// Subject mappings (`jwt.Mapping`): source → weighted destinations.
    #[serde(deserialize_with = "null_as_empty")]
    pub mappings: BTreeMap<String, Vec<WeightedMapping>>,
}

/// One destination of an account JWT's mapping (`jwt.WeightedMapping`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WeightedMapping {
    pub subject: String,
    /// 0 means 100 (`GetWeight`).
    pub weight: u8,
    pub cluster: String,
}

/// An account JWT (`jwt.AccountClaims`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountClaims {
    #[serde(flatten)]
    pub claims: ClaimsData,
    pub nats: Account,
}

/// The `nats` part of an operator claim (`jwt.Operator`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Operator {
    #[serde(deserialize_with = "null_as_empty")]
    pub signing_keys: Vec<String>,
    pub account_server_url: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub operator_service_urls: Vec<String>,
    pub system_account: String,
    pub assert_server_version: String,
    pub strict_signing_key_usage: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i64,
}

/// An operator JWT (`jwt.OperatorClaims`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OperatorClaims {
    #[serde(flatten)]
    pub claims: ClaimsData,
    pub nats: Operator,
}

/// Go's json leaves a slice or map empty for `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `CIDRList.UnmarshalJSON`: a JSON list, or one string split at commas (lower-cased, trimmed,
/// empty entries dropped).
fn cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => Vec::new(),
        Some(Either::List(l)) => l,
        Some(Either::One(s)) => {
            let mut out: Vec<String> = Vec::new();
            for item in s.to_lowercase().split(',') {
                let item = item.trim().to_string();
                if !item.is_empty() && !out.contains(&item) {
                    out.push(item);
                }
            }
            out
        }
    })
}
