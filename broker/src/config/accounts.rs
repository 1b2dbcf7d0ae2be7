//! The `accounts` block: a list of names or a map of accounts with their users, nkey,
//! `default_permissions`, exports and imports, with nats-server's checks and messages
//! (opts.go `parseAccounts`).

use std::collections::HashSet;
use std::sync::Arc;

use super::auth::parse_users;
use super::error::{Diagnostic, Warning};
use super::gofmt::quote;
use super::permissions::parse_permissions;
use super::value::{Token, Value};
use crate::account::GLOBAL_ACCOUNT;
use crate::options::{AccountConfig, Options};
use crate::permissions::Permissions;

/// nats-server's `isReservedAccount`: only the global account's name is taken.
fn is_reserved(name: &str) -> bool {
    name == GLOBAL_ACCOUNT
}

/// nats-server's `IsValidPublicAccountKey`.
fn valid_account_nkey(key: &str) -> bool {
    key.starts_with('A') && nkeys::KeyPair::from_public_key(key).is_ok()
}

/// Applies `accounts` to `opts`, appending errors and warnings.
pub(crate) fn apply_accounts(
    tok: &Token,
    opts: &mut Options,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Warning>,
) {
    match &tok.value {
        Value::Array(names) => {
            let mut seen = HashSet::new();
            for t in names.iter() {
                let Value::String(name) = &t.value else {
                    errors.push(super::convert::mismatch(t, "string"));
                    return;
                };
                if is_reserved(name) {
                    errors.push(Diagnostic::on(
                        t,
                        format!("{} is a Reserved Account", quote(name)),
                    ));
                    continue;
                }
                if !seen.insert(name.clone()) {
                    errors.push(Diagnostic::on(
                        t,
                        format!("Duplicate Account Entry: {name}"),
                    ));
                    continue;
                }
                opts.accounts.push(AccountConfig {
                    name: name.clone(),
                    ..Default::default()
                });
            }
        }
        Value::Map(m) => {
            let before = errors.len();
            let first = opts.accounts.len();
            let mut names: HashSet<String> =
                opts.users.iter().map(|u| u.username.clone()).collect();
            names.extend(opts.nkeys.iter().map(|n| n.nkey.clone()));
            let mut pending = Vec::new();
            for (name, t) in m.iter() {
                if t.used_variable {
                    continue;
                }
                let Value::Map(am) = &t.value else {
                    errors.push(Diagnostic::on(t, "Expected map entries for accounts"));
                    continue;
                };
                if is_reserved(name) {
                    errors.push(Diagnostic::on(
                        t,
                        format!("{} is a Reserved Account", quote(name)),
                    ));
                    continue;
                }
                let mut acc = AccountConfig {
                    name: name.to_string(),
                    ..Default::default()
                };
                let mut users = (Vec::new(), Vec::new());
                let mut users_tok = t;
                let mut default_perms: Option<Arc<Permissions>> = None;
                for (k, v) in am.iter() {
                    match k.to_lowercase().as_str() {
                        "nkey" => match &v.value {
                            Value::String(s) if valid_account_nkey(s) => acc.nkey = Some(s.clone()),
                            other => errors.push(Diagnostic::on(
                                v,
                                format!(
                                    "Not a valid public nkey for an account: {:?}",
                                    other.go_display()
                                ),
                            )),
                        },
                        "users" => {
                            users_tok = v;
                            match parse_users(v, errors, warnings) {
                                Ok(Some(u)) => users = u,
                                Ok(None) => {}
                                Err(d) => errors.push(d),
                            }
                        }
                        "default_permissions" => {
                            if let Some(p) = parse_permissions(v, errors, warnings) {
                                default_perms = Some(Arc::new(p));
                            }
                        }
                        "exports" => match super::exports::parse_exports(v, errors) {
                            Ok(e) => acc.exports = e,
                            Err(d) => errors.push(d),
                        },
                        "imports" => match super::exports::parse_imports(v, errors) {
                            Ok(i) => acc.imports = i,
                            Err(d) => errors.push(d),
                        },
                        "mappings" | "maps" => {
                            acc.mappings = super::mappings::parse_mappings(v, errors);
                        }
                        "jetstream" | "limits" | "msg_trace" | "trace_dest" => {
                            warnings.push(Warning::unsupported(&v.pos, k))
                        }
                        _ if v.used_variable => {}
                        _ => errors.push(Diagnostic::on(v, format!("unknown field {}", quote(k)))),
                    }
                }
                let (mut nkeys, mut users) = users;
                if !nkeys.is_empty() || !users.is_empty() {
                    if opts.username.is_some() {
                        let msg = "Can not have a single user/pass and accounts";
                        errors.push(Diagnostic::on(users_tok, msg));
                        opts.accounts.push(acc);
                        continue;
                    }
                    if opts.authorization.is_some() {
                        let msg = "Can not have a token and accounts";
                        errors.push(Diagnostic::on(users_tok, msg));
                        opts.accounts.push(acc);
                        continue;
                    }
                }
                for n in &mut nkeys {
                    if n.permissions.is_none() {
                        n.permissions = default_perms.clone();
                    }
                    if !names.insert(n.nkey.clone()) {
                        let msg = format!("Duplicate nkey {} detected", quote(&n.nkey));
                        errors.push(Diagnostic::on(users_tok, msg));
                        continue;
                    }
                    n.account = Some(acc.name.clone());
                }
                for u in &mut users {
                    if u.permissions.is_none() {
                        u.permissions = default_perms.clone();
                    }
                    if !names.insert(u.username.clone()) {
                        let msg = format!("Duplicate user {} detected", quote(&u.username));
                        errors.push(Diagnostic::on(users_tok, msg));
                        continue;
                    }
                    u.account = Some(acc.name.clone());
                }
                pending.push((nkeys, users));
                opts.accounts.push(acc);
            }
            for (nkeys, users) in pending {
                opts.nkeys.extend(nkeys);
                opts.users.extend(users);
            }
            // nats-server checks exports and imports only when the accounts parsed cleanly.
            if errors.len() == before {
                super::exports::resolve(tok, &opts.accounts[first..], errors);
            }
        }
        _ => errors.push(super::convert::mismatch(tok, "[]interface {}")),
    }
}
