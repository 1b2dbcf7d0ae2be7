//! The `authorization { ... }` block: single user/password, token, timeout and the `users`
//! list, with nats-server's checks and messages (opts.go `parseAuthorization`, `parseUsers`).
//! Permissions, auth callout and connection types are accepted with a warning.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::convert::{mismatch, string_array, want_bool, want_str};
use super::duration::parse_go_duration;
use super::error::{Diagnostic, Warning};
use super::gofmt::{quote, quote_list};
use super::permissions::parse_permissions;
use super::value::{Token, Value};
use crate::auth::conn_type;
use crate::options::{DEFAULT_AUTH_TIMEOUT, NkeyUser, Options, User};
use crate::permissions::Permissions;

/// What nats-server reports after a type panic inside `parseAuthorization`: its caller goes
/// on with a nil result and panics again.
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// Timeouts above this many seconds get nats-server's "is high" warning.
const HIGH_AUTH_TIMEOUT_SECS: f64 = 60.0;

#[derive(Default)]
struct Auth {
    user: String,
    pass: String,
    token: String,
    timeout: f64,
    /// `Some` as soon as a `users` list parsed (even an empty one).
    users: Option<Vec<User>>,
    nkeys: Vec<NkeyUser>,
    /// Permissions for users that have none of their own.
    default_permissions: Option<Arc<Permissions>>,
}

/// How `parseAuthorization` failed: a returned error, or a recovered type panic.
enum Fail {
    Error(Diagnostic),
    Panic(Diagnostic),
}

/// Applies `authorization` to `opts`, appending errors and warnings.
pub(crate) fn apply_authorization(
    tok: &Token,
    opts: &mut Options,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) {
    let auth = match parse_authorization(tok, errors, warnings) {
        Ok(a) => a,
        Err(Fail::Error(d)) => return errors.push(d),
        Err(Fail::Panic(d)) => {
            errors.push(d);
            return errors.push(Diagnostic::at(&tok.pos, NIL_DEREF));
        }
    };
    opts.username = (!auth.user.is_empty()).then(|| auth.user.clone());
    opts.password = (!auth.pass.is_empty()).then(|| auth.pass.clone());
    opts.authorization = (!auth.token.is_empty()).then(|| auth.token.clone());
    opts.auth_timeout = if auth.timeout > 0.0 {
        Duration::try_from_secs_f64(auth.timeout).unwrap_or(Duration::MAX)
    } else if auth.timeout == 0.0 {
        DEFAULT_AUTH_TIMEOUT
    } else {
        Duration::ZERO
    };
    let fail = |msg: String| Diagnostic::at(&tok.pos, msg);
    if (!auth.user.is_empty() || !auth.pass.is_empty()) && !auth.token.is_empty() {
        return errors.push(fail("Cannot have a user/pass and token".to_string()));
    }
    let mut names: HashSet<String> = opts.users.iter().map(|u| u.username.clone()).collect();
    names.extend(opts.nkeys.iter().map(|n| n.nkey.clone()));
    if auth.users.is_some() || !names.is_empty() {
        if !auth.user.is_empty() {
            let msg = "Can not have a single user/pass and a users array";
            return errors.push(fail(msg.to_string()));
        }
        if !auth.token.is_empty() {
            return errors.push(fail("Can not have a token and a users array".to_string()));
        }
        if let Some(mut users) = auth.users {
            for u in &mut users {
                if u.permissions.is_none() {
                    u.permissions = auth.default_permissions.clone();
                }
                if !names.insert(u.username.clone()) {
                    let msg = format!("Duplicate user {} detected", quote(&u.username));
                    return errors.push(fail(msg));
                }
            }
            opts.users.extend(users);
        }
    }
    let mut nkeys = auth.nkeys;
    for n in &mut nkeys {
        if n.permissions.is_none() {
            n.permissions = auth.default_permissions.clone();
        }
        if !names.insert(n.nkey.clone()) {
            return errors.push(fail(format!("Duplicate nkey {} detected", quote(&n.nkey))));
        }
    }
    opts.nkeys.extend(nkeys);
}

/// What `cluster { authorization {} }` may hold.
pub(crate) struct ClusterAuth {
    pub user: String,
    pub pass: String,
    /// Seconds.
    pub timeout: f64,
    /// `permissions` there (deprecated in nats-server): the cluster's import/export.
    pub permissions: Option<Arc<Permissions>>,
}

/// `cluster { authorization {} }`: one user/password and a timeout in seconds; users lists
/// and tokens are errors there (nats-server's `parseCluster`).
pub(crate) fn parse_cluster_authorization(
    tok: &Token,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) -> Option<ClusterAuth> {
    let auth = match parse_authorization(tok, errors, warnings) {
        Ok(a) => a,
        Err(Fail::Error(d)) | Err(Fail::Panic(d)) => {
            errors.push(d);
            return None;
        }
    };
    if auth.users.is_some() {
        let msg = "Cluster authorization does not allow multiple users";
        errors.push(Diagnostic::at(&tok.pos, msg));
        return None;
    }
    if !auth.token.is_empty() {
        let msg = "Cluster authorization does not support tokens";
        errors.push(Diagnostic::at(&tok.pos, msg));
        return None;
    }
    Some(ClusterAuth {
        user: auth.user,
        pass: auth.pass,
        timeout: auth.timeout,
        permissions: auth.default_permissions,
    })
}

/// An unknown key: an error, or a Go nil-token panic inside an environment-derived map.
fn unknown(t: &Token, k: &str) -> Result<Diagnostic, Diagnostic> {
    if t.raw {
        return Err(Diagnostic::at(&t.pos, NIL_DEREF));
    }
    Ok(Diagnostic::at(
        &t.pos,
        format!("unknown field {}", quote(k)),
    ))
}

fn parse_authorization(
    tok: &Token,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) -> Result<Auth, Fail> {
    let Value::Map(am) = &tok.value else {
        return Err(Fail::Panic(mismatch(tok, "map[string]interface {}")));
    };
    let mut auth = Auth::default();
    for (mk, t) in am.iter() {
        match mk.to_lowercase().as_str() {
            "user" | "username" => auth.user = want_str(t).map_err(Fail::Panic)?.to_string(),
            "pass" | "password" => auth.pass = want_str(t).map_err(Fail::Panic)?.to_string(),
            "token" => auth.token = want_str(t).map_err(Fail::Panic)?.to_string(),
            "timeout" => auth.timeout = timeout(mk, t, warnings).map_err(Fail::Error)?,
            "users" => match parse_users(t, errors, warnings) {
                Ok(Some((nkeys, users))) => {
                    auth.users = Some(users);
                    auth.nkeys = nkeys;
                }
                // A type panic inside the list: nats-server drops the whole list.
                Ok(None) => {
                    auth.users = None;
                    auth.nkeys = Vec::new();
                }
                Err(d) => errors.push(d),
            },
            // nats-server reads `permissions` here as the users' default permissions too.
            "default_permission" | "default_permissions" | "permissions" => {
                if let Some(p) = parse_permissions(t, errors, warnings) {
                    auth.default_permissions = Some(Arc::new(p));
                }
            }
            "auth_callout" | "auth_hook" => warnings.push(Warning::unsupported(&t.pos, mk)),
            "proxy_required" => {
                want_bool(t).map_err(Fail::Panic)?;
                warnings.push(Warning::unsupported(&t.pos, mk));
            }
            _ if t.used_variable => {}
            _ => errors.push(unknown(t, mk).map_err(Fail::Panic)?),
        }
    }
    Ok(auth)
}

/// `timeout`: seconds as a number, or a Go duration string.
fn timeout(mk: &str, t: &Token, warnings: &mut Vec<Warning>) -> Result<f64, Diagnostic> {
    let secs = match &t.value {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => match parse_go_duration(s) {
            Ok(ns) => ns as f64 / 1e9,
            Err(e) => {
                let msg = format!("error parsing authorization config, 'timeout' {e}");
                return Err(Diagnostic::on(t, msg));
            }
        },
        _ => {
            let msg = "error parsing authorization config, 'timeout' wrong type";
            return Err(Diagnostic::on(t, msg));
        }
    };
    if secs > HIGH_AUTH_TIMEOUT_SECS {
        let shown = t.value.go_display();
        let reason = format!(
            "timeout of {shown} ({secs:.6} seconds) is high, consider keeping it under 60 \
             seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example"
        );
        warnings.push(Warning::reference(&t.pos, mk, reason));
    }
    Ok(secs)
}

/// nats-server's `IsValidPublicUserKey`: a checksummed public nkey with the user prefix.
fn valid_user_nkey(key: &str) -> bool {
    key.starts_with('U') && nkeys::KeyPair::from_public_key(key).is_ok()
}

pub(crate) type Users = (Vec<NkeyUser>, Vec<User>);

/// The `users` list. `Ok(None)` when a type panic was recovered (the error is in `errors`).
pub(crate) fn parse_users(
    t: &Token,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Users>, Diagnostic> {
    let Value::Array(uv) = &t.value else {
        let msg = format!(
            "Expected users field to be an array, got {}",
            t.value.go_display()
        );
        return Err(Diagnostic::on(t, msg));
    };
    let (mut nkeys, mut users) = (Vec::new(), Vec::new());
    for u in uv.iter() {
        let Value::Map(um) = &u.value else {
            let msg = format!(
                "Expected user entry to be a map/struct, got {}",
                u.value.go_display()
            );
            errors.push(Diagnostic::on(u, msg));
            continue;
        };
        let mut user = User::default();
        let mut nkey = String::new();
        let mut last = u;
        for (k, v) in um.iter() {
            last = v;
            let field = match k.to_lowercase().as_str() {
                "nkey" => &mut nkey,
                "user" | "username" => &mut user.username,
                "pass" | "password" => &mut user.password,
                "permission" | "permissions" => {
                    if let Some(p) = parse_permissions(v, errors, warnings) {
                        user.permissions = Some(Arc::new(p));
                    }
                    continue;
                }
                "allowed_connection_types" | "connection_types" | "clients" => {
                    let given = string_array("allowed connection types", v, errors);
                    let (known, unknown) = conn_type::convert(&given.unwrap_or_default());
                    if !unknown.is_empty() {
                        let msg = format!("invalid connection types {}", quote_list(&unknown));
                        errors.push(Diagnostic::on(v, msg));
                    }
                    user.connection_types = known;
                    continue;
                }
                "authorization" => {
                    warnings.push(Warning::unsupported(&v.pos, k));
                    continue;
                }
                "proxy_required" => {
                    if let Err(d) = want_bool(v) {
                        errors.push(d);
                        return Ok(None);
                    }
                    warnings.push(Warning::unsupported(&v.pos, k));
                    continue;
                }
                _ if v.used_variable => continue,
                _ => {
                    match unknown(v, k) {
                        Ok(d) => errors.push(d),
                        Err(d) => {
                            errors.push(d);
                            return Ok(None);
                        }
                    }
                    continue;
                }
            };
            match want_str(v) {
                Ok(s) => *field = s.to_string(),
                Err(d) => {
                    errors.push(d);
                    return Ok(None);
                }
            }
        }
        let at = |msg: &str| Diagnostic::on(last, msg);
        if nkey.is_empty() && user.username.is_empty() {
            return Err(at("User entry requires a user"));
        } else if !nkey.is_empty() {
            if !valid_user_nkey(&nkey) {
                return Err(at("Not a valid public nkey for a user"));
            }
            if !user.username.is_empty() || !user.password.is_empty() {
                return Err(at("Nkey users do not take usernames or passwords"));
            }
            nkeys.push(NkeyUser {
                nkey,
                permissions: user.permissions,
                account: None,
                connection_types: user.connection_types,
            });
        } else {
            users.push(user);
        }
    }
    Ok(Some((nkeys, users)))
}
