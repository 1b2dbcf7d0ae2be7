//! Exports and imports of account JWTs, as the account registry's configuration: public
//! exports, exports that require an activation token (`token_req`) and the imports whose
//! activation tokens (signed by the exporter or one of its signing keys, for the importer)
//! grant them. Imports no export allows are left out, as nats-server leaves them incomplete.

use std::sync::Arc;

use serde::Deserialize;

use super::trust::ResolvedAccount;
use super::{KeyKind, now_unix, token};
use crate::account::{Export, Import, ResponseType, export_allows, is_subset_match};
use crate::mapping::{MapDest, Mappings};
use crate::options::AccountConfig;

/// Stands in the approved-accounts list of an export that needs an activation token; no
/// account is named so, hence without a token nobody may import it.
const TOKEN_REQUIRED: &str = "$activation-token-required";

/// The `nats` part of an activation JWT (`jwt.Activation`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Activation {
    subject: String,
    kind: String,
    issuer_account: String,
}

/// An activation JWT (`jwt.ActivationClaims`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActivationClaims {
    sub: String,
    iss: String,
    exp: i64,
    nbf: i64,
    nats: Activation,
}

fn export_of(e: &super::claims::Export) -> Export {
    let response = match e.response_type.as_str() {
        "Stream" => ResponseType::Stream,
        "Chunked" => ResponseType::Chunked,
        _ => ResponseType::Singleton,
    };
    let service = (e.kind == "service").then_some(response);
    Export {
        subject: e.subject.clone(),
        service,
        accounts: if e.token_req {
            vec![TOKEN_REQUIRED.to_string()]
        } else {
            Vec::new()
        },
        token_position: e.account_token_position,
    }
}

fn import_of(i: &super::claims::Import) -> Import {
    let service = i.kind == "service";
    let (to, prefix) = match (i.local_subject.is_empty(), i.to.is_empty(), service) {
        (false, _, _) => (Some(i.local_subject.clone()), None),
        (true, false, true) => (Some(i.to.clone()), None),
        // A stream import's deprecated `to` is a prefix.
        (true, false, false) => (None, Some(i.to.clone())),
        (true, true, _) => (None, None),
    };
    Import {
        account: i.account.clone(),
        subject: i.subject.clone(),
        to,
        prefix,
        service,
        share: i.share,
    }
}

/// `checkActivation`: `token` lets `importer` import `subject` from `exporter`.
fn activation_ok(
    token_jwt: &str,
    exporter: &ResolvedAccount,
    importer: &str,
    subject: &str,
    service: bool,
) -> bool {
    let Ok(act) = token::decode::<ActivationClaims>(
        token_jwt,
        "activation",
        &[KeyKind::Account, KeyKind::Operator],
    ) else {
        return false;
    };
    let now = now_unix();
    let trusted = act.iss == exporter.name
        || (act.nats.issuer_account == exporter.name
            && exporter.signing_keys.contains_key(&act.iss));
    let kind_ok = act.nats.kind.is_empty() || (act.nats.kind == "service") == service;
    trusted
        && kind_ok
        && act.sub == importer
        && !(act.exp != 0 && act.exp <= now)
        && !(act.nbf > 0 && act.nbf > now)
        && is_subset_match(subject, &act.nats.subject)
}

/// The account JWT's subject mappings (nats-server logs the ones it cannot add and keeps the
/// others).
fn mappings_of(a: &ResolvedAccount) -> Mappings {
    let mut m = Mappings::default();
    for (src, dests) in &a.claims.nats.mappings {
        let dests = dests
            .iter()
            .map(|d| MapDest {
                subject: d.subject.clone(),
                weight: if d.weight == 0 { 100 } else { d.weight },
                cluster: d.cluster.clone(),
            })
            .collect();
        if let Err(e) = m.add(src, dests) {
            tracing::error!("Error adding mapping: {e}");
        }
    }
    m
}

/// The registry configuration of the resolved JWT accounts: their exports, and the imports
/// an export allows (publicly, by account token position, or by activation token).
pub fn account_configs(accounts: &[Arc<ResolvedAccount>]) -> Vec<AccountConfig> {
    let mut configs: Vec<AccountConfig> = accounts
        .iter()
        .map(|a| AccountConfig {
            name: a.name.clone(),
            nkey: Some(a.name.clone()),
            exports: a.claims.nats.exports.iter().map(export_of).collect(),
            imports: Vec::new(),
            mappings: mappings_of(a),
        })
        .collect();
    for a in accounts {
        let mut imports = Vec::new();
        for i in &a.claims.nats.imports {
            let Some(exporter) = accounts.iter().find(|e| e.name == i.account) else {
                tracing::error!(
                    "Can't locate account [{}] for import of [{}] {}",
                    i.account,
                    i.subject,
                    i.kind
                );
                continue;
            };
            let Some(exports) = configs
                .iter()
                .find(|c| c.name == exporter.name)
                .map(|c| c.exports.clone())
            else {
                continue;
            };
            let service = i.kind == "service";
            // A token grants this one import only (nats-server checks it per import claim).
            let allowed = export_allows(&exports, service, &a.name, &i.subject)
                || (!i.token.is_empty()
                    && activation_ok(&i.token, exporter, &a.name, &i.subject, service));
            if allowed {
                imports.push(import_of(i));
            } else {
                tracing::debug!(
                    "Error adding {} import {:?} from {} to {}: not authorized",
                    i.kind,
                    i.subject,
                    i.account,
                    a.name
                );
            }
        }
        if let Some(c) = configs.iter_mut().find(|c| c.name == a.name) {
            c.imports = imports;
        }
    }
    configs
}
