//! Operator-mode keys of the config (opts.go): `operator` (JWT files or inline JWTs),
//! `resolver` (only `MEMORY` is implemented), `resolver_preload` and `system_account`, with
//! nats-server's parse errors.

use std::path::Path;

use super::convert::string_array;
use super::error::Diagnostic;
use super::value::{Token, Value};
use crate::auth::jwt::{self, OperatorClaims};
use crate::options::Options;

/// What starts an inline JWT (`jwtPrefix`): a value that is no readable file but starts so is
/// taken as the JWT itself.
const JWT_PREFIX: &str = "eyJ";

/// The operator-mode part of the options.
#[derive(Debug, Clone, Default)]
pub struct OperatorConfig {
    /// Trusted operators, decoded and verified.
    pub operators: Vec<OperatorClaims>,
    /// `resolver: MEMORY` was configured.
    pub memory_resolver: bool,
    /// `resolver_preload`: account public key and account JWT, in config order.
    pub preloads: Vec<(String, String)>,
    /// `resolver_pinned_accounts`: only users of these accounts may connect.
    pub pinned: Option<Vec<String>>,
}

fn cfg(o: &mut Options) -> &mut OperatorConfig {
    o.operator.get_or_insert_with(Default::default)
}

/// Go's `os.ReadFile` error text for the common cases.
fn read_error(path: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("open {path}: no such file or directory"),
        std::io::ErrorKind::PermissionDenied => format!("open {path}: permission denied"),
        _ => format!("open {path}: {e}"),
    }
}

/// `readOperatorJWT`: a file holding the (possibly decorated) JWT, or the JWT inline.
fn read_operator(value: &str, base: Option<&Path>) -> Result<OperatorClaims, String> {
    let path = match base {
        Some(dir) if !Path::new(value).is_absolute() => dir.join(value),
        _ => Path::new(value).to_path_buf(),
    };
    let contents = match std::fs::read_to_string(&path) {
        Ok(c) => c,
        Err(e) if !value.starts_with(JWT_PREFIX) => return Err(read_error(value, &e)),
        Err(_) => value.to_string(),
    };
    jwt::decode_operator(&jwt::parse_decorated(&contents)).map_err(|e| e.to_string())
}

/// `operator`/`operators`/`root(s)`/`root_operator(s)`: one string or a list of strings.
pub(crate) fn apply_operator(t: &Token, o: &mut Options, errors: &mut Vec<Diagnostic>) {
    let mut names: Vec<String> = Vec::new();
    match &t.value {
        Value::String(s) => names.push(s.clone()),
        Value::Array(items) => {
            for item in items.iter() {
                match &item.value {
                    Value::String(s) => names.push(s.clone()),
                    v => errors.push(Diagnostic::at(
                        &t.pos,
                        format!(
                            "error parsing operators: unsupported type {} where string is expected",
                            v.go_type()
                        ),
                    )),
                }
            }
        }
        v => {
            errors.push(Diagnostic::at(
                &t.pos,
                format!("error parsing operators: unsupported type {}", v.go_type()),
            ));
            return;
        }
    }
    // nats-server reads relative paths from its working directory; so does rnats.
    let mut operators = Vec::new();
    for name in names {
        match read_operator(&name, None) {
            Ok(claims) => operators.push(claims),
            Err(e) => errors.push(Diagnostic::at(
                &t.pos,
                format!("error parsing operator JWT: {e}"),
            )),
        }
    }
    cfg(o).operators = operators;
}

/// `resolver`/`account_resolver`/`accounts_resolver`: `MEMORY` (or `MEM`), `URL(...)`, or a
/// directory resolver map. Only the memory resolver is implemented.
pub(crate) fn apply_resolver(t: &Token, o: &mut Options, errors: &mut Vec<Diagnostic>) {
    let memory = match &t.value {
        // nats-server's `(?i)(MEM|MEMORY)\s*` matches anywhere in the string.
        Value::String(s) => {
            let up = s.to_ascii_uppercase();
            if up.contains("MEM") {
                true
            } else if up.contains("URL") {
                errors.push(Diagnostic::at(
                    &t.pos,
                    "the URL account resolver is not supported by rnats (use MEMORY)",
                ));
                return;
            } else {
                false
            }
        }
        Value::Map(m) => {
            let kind = m
                .get("type")
                .and_then(|v| match &v.value {
                    Value::String(s) => Some(s.to_ascii_uppercase()),
                    _ => None,
                })
                .unwrap_or_default();
            if kind == "MEM" || kind == "MEMORY" {
                true
            } else {
                errors.push(Diagnostic::at(
                    &t.pos,
                    "directory account resolvers (FULL, CACHE) are not supported by rnats (use MEMORY)",
                ));
                return;
            }
        }
        v => {
            errors.push(Diagnostic::at(
                &t.pos,
                format!(
                    "error parsing operator resolver, wrong type {}",
                    v.go_type()
                ),
            ));
            return;
        }
    };
    if !memory {
        errors.push(Diagnostic::at(
            &t.pos,
            "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])",
        ));
        return;
    }
    cfg(o).memory_resolver = true;
}

/// `resolver_preload { ACCOUNT_PUBLIC_KEY: "account JWT" }`.
pub(crate) fn apply_preload(t: &Token, o: &mut Options, errors: &mut Vec<Diagnostic>) {
    let Value::Map(m) = &t.value else {
        errors.push(Diagnostic::at(
            &t.pos,
            "preload should be a map of account_public_key:account_jwt",
        ));
        return;
    };
    let mut preloads = Vec::new();
    for (key, v) in m.iter() {
        let Value::String(s) = &v.value else {
            errors.push(Diagnostic::at(
                &v.pos,
                "preload map value should be a string JWT",
            ));
            continue;
        };
        if jwt::decode_account(s).is_err() {
            errors.push(Diagnostic::at(&v.pos, "invalid account JWT"));
            continue;
        }
        preloads.push((key.to_string(), s.clone()));
    }
    cfg(o).preloads = preloads;
}

/// `resolver_pinned_accounts`: one account public key or a list of them.
pub(crate) fn apply_pinned(t: &Token, o: &mut Options, errors: &mut Vec<Diagnostic>) {
    if let Some(keys) = string_array("resolver_pinned_accounts", t, errors) {
        cfg(o).pinned = Some(keys);
    }
}

/// `system_account`/`system`: the system account's name (in operator mode its public key).
/// A value that is no string was already reported (nats-server checks it first).
pub(crate) fn apply_system_account(t: &Token, o: &mut Options) {
    if let Value::String(name) = &t.value {
        o.system_account = (!name.is_empty()).then(|| name.clone());
    }
}

/// `validateTrustedOperators`' checks of the whole options (nats-server's texts).
pub(crate) fn validate(o: &Options) -> Result<(), String> {
    let Some(op) = &o.operator else {
        return Ok(());
    };
    if op.operators.is_empty() {
        return Ok(());
    }
    if !op.memory_resolver {
        return Err("operators require an account resolver to be configured".into());
    }
    if !o.accounts.is_empty() {
        return Err("operators do not allow Accounts to be configured directly".into());
    }
    if !o.users.is_empty() || !o.nkeys.is_empty() {
        return Err("operators do not allow users to be configured directly".into());
    }
    if o.no_auth_user.is_some() {
        return Err("no_auth_user not compatible with Trusted Operator".into());
    }
    jwt::Trust::new(op.operators.clone(), o.system_account.clone(), &op.preloads)?
        .with_pinned(op.pinned.clone())
        .map(|_| ())
}
