//! An account's `exports` and `imports` lists, and their cross-account checks once every
//! account is known, with nats-server's messages (opts.go `parseAccountExports`,
//! `parseAccountImports`, `parseExportStreamOrService`, `parseImportStreamOrService`, and the
//! second half of `parseAccounts`).

use std::collections::{HashMap, HashSet};

use super::convert::{mismatch, want_bool, want_int, want_str};
use super::cycles::{ServiceEdge, StreamEdge, service_cycle, stream_cycle};
use super::error::Diagnostic;
use super::gofmt::quote;
use super::value::{Token, Value};
use crate::account::{Export, Import, ResponseType, export_allows};
use crate::options::AccountConfig;
use crate::subject::{is_valid_literal_subject, is_valid_subject};

/// `exports: [...]`. Item errors are appended; the list error is returned.
pub(crate) fn parse_exports(
    t: &Token,
    errors: &mut Vec<Diagnostic>,
) -> Result<Vec<Export>, Diagnostic> {
    let Value::Array(items) = &t.value else {
        let msg = format!("Exports should be an array, got {}", t.value.go_type());
        return Err(Diagnostic::on(t, msg));
    };
    let mut out = Vec::new();
    for item in items.iter() {
        match parse_export(item, errors) {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(d) => errors.push(d),
        }
    }
    Ok(out)
}

fn parse_export(t: &Token, errors: &mut Vec<Diagnostic>) -> Result<Option<Export>, Diagnostic> {
    let Value::Map(m) = &t.value else {
        let msg = format!(
            "Export Items should be a map with type entry, got {}",
            t.value.go_type()
        );
        return Err(Diagnostic::on(t, msg));
    };
    let (mut stream, mut service): (Option<String>, Option<String>) = (None, None);
    let mut rt: Option<ResponseType> = None;
    let mut rt_tok: Option<&Token> = None;
    let mut accounts = Vec::new();
    let mut position = 0u32;
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "stream" => {
                if service.is_some() {
                    let msg = format!(
                        "Detected stream {} but already saw a service",
                        quote(&v.value.go_display())
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                }
                if let Some(rt) = rt_tok {
                    errors.push(Diagnostic::on(
                        rt,
                        "Detected response directive on non-service",
                    ));
                    continue;
                }
                let Value::String(s) = &v.value else {
                    let msg = format!(
                        "Expected stream name to be string, got {}",
                        v.value.go_type()
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                };
                stream = Some(s.clone());
            }
            "service" => {
                if stream.is_some() {
                    let msg = format!(
                        "Detected service {} but already saw a stream",
                        quote(&v.value.go_display())
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                }
                let Value::String(s) = &v.value else {
                    let msg = format!(
                        "Expected service name to be string, got {}",
                        v.value.go_type()
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                };
                service = Some(s.clone());
            }
            "response" | "response_type" => {
                if rt_tok.is_some() {
                    errors.push(Diagnostic::on(v, "Duplicate response type definition"));
                    continue;
                }
                rt_tok = Some(v);
                let Value::String(s) = &v.value else {
                    let msg = format!(
                        "Expected response type to be string, got {}",
                        v.value.go_type()
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                };
                rt = Some(match s.to_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Stream,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    _ => {
                        let msg = format!("Unknown response type: {}", quote(s));
                        errors.push(Diagnostic::on(v, msg));
                        continue;
                    }
                });
                if stream.is_some() {
                    errors.push(Diagnostic::on(
                        v,
                        "Detected response directive on non-service",
                    ));
                }
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                let Value::String(s) = &v.value else {
                    let msg = format!(
                        "Expected response threshold to be a parseable time duration, got {}",
                        v.value.go_type()
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                };
                if super::duration::parse_go_duration(s).is_err() {
                    let msg = format!(
                        "Expected response threshold to be a parseable time duration, got {}",
                        quote(s)
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                }
                if stream.is_some() {
                    errors.push(Diagnostic::on(
                        v,
                        "Detected response directive on non-service",
                    ));
                }
            }
            "accounts" => {
                let Value::Array(list) = &v.value else {
                    return Err(mismatch(v, "[]interface {}"));
                };
                for a in list.iter() {
                    accounts.push(want_str(a)?.to_string());
                }
            }
            "latency" | "allow_trace" => {
                if stream.is_some() {
                    let what = if k.eq_ignore_ascii_case("latency") {
                        "latency"
                    } else {
                        "allow_trace"
                    };
                    let msg = format!("Detected {what} directive on non-service");
                    errors.push(Diagnostic::on(v, msg));
                }
            }
            "account_token_position" => {
                position = u32::try_from(want_int(v)?).unwrap_or(0);
            }
            _ if v.used_variable => {}
            _ => errors.push(Diagnostic::on(v, format!("unknown field {}", quote(k)))),
        }
    }
    let (subject, service) = match (stream, service) {
        (Some(s), _) => (s, None),
        (None, Some(s)) => (s, Some(rt.unwrap_or_default())),
        (None, None) => return Ok(None),
    };
    Ok(Some(Export {
        subject,
        service,
        accounts,
        token_position: position,
    }))
}

/// `imports: [...]`. Item errors are appended; the list error is returned.
pub(crate) fn parse_imports(
    t: &Token,
    errors: &mut Vec<Diagnostic>,
) -> Result<Vec<Import>, Diagnostic> {
    let Value::Array(items) = &t.value else {
        let msg = format!("Imports should be an array, got {}", t.value.go_type());
        return Err(Diagnostic::on(t, msg));
    };
    let mut out: Vec<Import> = Vec::new();
    let mut by_local: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for item in items.iter() {
        let im = match parse_import(item, errors) {
            Ok(Some(im)) => im,
            Ok(None) => continue,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        if im.service {
            let local = im.local_subject().to_string();
            let seen = by_local.entry(local.clone()).or_default();
            if let Some((acc, sub)) = seen.iter().find(|(a, _)| *a == im.account) {
                let msg = format!(
                    "Duplicate service import subject {}, previously used in import for account \
                     {}, subject {}",
                    quote(&local),
                    quote(acc),
                    quote(sub)
                );
                errors.push(Diagnostic::on(item, msg));
                continue;
            }
            seen.push((im.account.clone(), im.subject.clone()));
        }
        out.push(im);
    }
    Ok(out)
}

/// `{account: A, subject: S}` inside an import.
fn parse_account_ref(
    m: &super::value::Map,
    errors: &mut Vec<Diagnostic>,
) -> Result<(String, String), Diagnostic> {
    let (mut account, mut subject) = (String::new(), String::new());
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "account" => account = want_str(v)?.to_string(),
            "subject" => subject = want_str(v)?.to_string(),
            _ if v.used_variable => {}
            _ => errors.push(Diagnostic::on(v, format!("unknown field {}", quote(k)))),
        }
    }
    Ok((account, subject))
}

fn parse_import(t: &Token, errors: &mut Vec<Diagnostic>) -> Result<Option<Import>, Diagnostic> {
    let Value::Map(m) = &t.value else {
        let msg = format!(
            "Import Items should be a map with type entry, got {}",
            t.value.go_type()
        );
        return Err(Diagnostic::on(t, msg));
    };
    let mut im: Option<Import> = None;
    let (mut prefix, mut to, mut share) = (None::<String>, None::<String>, false);
    for (k, v) in m.iter() {
        let key = k.to_lowercase();
        match key.as_str() {
            "stream" | "service" => {
                let service = key == "service";
                if im.as_ref().is_some_and(|i| i.service != service) {
                    let msg = if service {
                        "Detected service but already saw a stream"
                    } else {
                        "Detected stream but already saw a service"
                    };
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                }
                let Value::Map(am) = &v.value else {
                    let what = if service { "Service" } else { "Stream" };
                    let msg = format!(
                        "{what} entry should be an account map, got {}",
                        v.value.go_type()
                    );
                    errors.push(Diagnostic::on(v, msg));
                    continue;
                };
                let (account, subject) = parse_account_ref(am, errors)?;
                if account.is_empty() || subject.is_empty() {
                    errors.push(Diagnostic::on(v, "Expect an account name and a subject"));
                    continue;
                }
                im = Some(Import {
                    account,
                    subject,
                    to: to.clone(),
                    prefix: if service { None } else { prefix.clone() },
                    service,
                    share,
                });
            }
            "prefix" => {
                let p = want_str(v)?.to_string();
                if let Some(i) = im.as_mut().filter(|i| !i.service) {
                    i.prefix = Some(p.clone());
                }
                prefix = Some(p);
            }
            "to" => {
                let s = want_str(v)?.to_string();
                to = Some(s.clone());
                if let Some(i) = im.as_mut() {
                    i.to = Some(s);
                    if !i.service && i.prefix.is_some() {
                        let msg = "Stream import can not have a 'prefix' and a 'to' property";
                        errors.push(Diagnostic::on(v, msg));
                    }
                }
            }
            "share" => {
                share = want_bool(v)?;
                if let Some(i) = im.as_mut() {
                    i.share = share;
                }
            }
            "allow_trace" => {
                if im.as_ref().is_some_and(|i| i.service) {
                    errors.push(Diagnostic::on(
                        v,
                        "Detected allow_trace directive on a non-stream",
                    ));
                    continue;
                }
                want_bool(v)?;
            }
            _ if v.used_variable => {}
            _ => errors.push(Diagnostic::on(v, format!("unknown field {}", quote(k)))),
        }
    }
    Ok(im)
}

/// The checks nats-server makes once every account is known (`parseAccounts` after the
/// loop): listed accounts exist, exports are valid, imports are authorized. Positions are
/// the `accounts` block's, as nats-server reports them.
pub(crate) fn resolve(tok: &Token, accounts: &[AccountConfig], errors: &mut Vec<Diagnostic>) {
    let by_name: HashMap<&str, &AccountConfig> =
        accounts.iter().map(|a| (a.name.as_str(), a)).collect();
    let fail = |msg: String| Diagnostic::on(tok, msg);
    for a in accounts {
        for e in &a.exports {
            let kind = if e.service.is_some() {
                "service"
            } else {
                "stream"
            };
            for name in &e.accounts {
                if !by_name.contains_key(name.as_str()) {
                    let msg = format!("{} account not defined for {kind} export", quote(name));
                    errors.push(fail(msg));
                }
            }
            if e.token_position > 0 {
                let ok = e
                    .subject
                    .split('.')
                    .nth(e.token_position as usize - 1)
                    .is_some_and(|t| t == "*");
                if !ok {
                    let msg = format!(
                        "Error adding {kind} export {}: sublist: invalid subject",
                        quote(&e.subject)
                    );
                    errors.push(fail(msg));
                }
            }
        }
    }
    // nats-server adds every stream import, then every service import, checking each
    // against those already added.
    let exports_of = |name: &str| {
        by_name
            .get(name)
            .map(|a| a.exports.clone())
            .unwrap_or_default()
    };
    let mut streams: Vec<StreamEdge<'_>> = Vec::new();
    let mut services: Vec<ServiceEdge<'_>> = Vec::new();
    for service in [false, true] {
        for a in accounts {
            for im in a.imports.iter().filter(|i| i.service == service) {
                let kind = if im.service { "service" } else { "stream" };
                let Some(exporter) = by_name.get(im.account.as_str()) else {
                    let msg = format!(
                        "{} account not defined for {kind} import",
                        quote(&im.account)
                    );
                    errors.push(fail(msg));
                    continue;
                };
                let err = |why: &str| {
                    fail(format!(
                        "Error adding {kind} import {}: {why}",
                        quote(&im.subject)
                    ))
                };
                let visited = || HashSet::from([a.name.clone()]);
                if im.service {
                    let local = im.local_subject();
                    if !is_valid_subject(im.subject.as_bytes())
                        || !is_valid_subject(local.as_bytes())
                    {
                        errors.push(err("sublist: invalid subject"));
                        continue;
                    }
                    if !export_allows(&exporter.exports, true, &a.name, &im.subject) {
                        errors.push(err("service import not authorized"));
                        continue;
                    }
                    if let Err(why) = service_cycle(&im.account, local, &services, &mut visited()) {
                        errors.push(err(why));
                        continue;
                    }
                    services.push(ServiceEdge {
                        importer: &a.name,
                        exporter: &im.account,
                        from: local.to_string(),
                        to: im.subject.clone(),
                    });
                } else {
                    if !is_valid_subject(im.subject.as_bytes())
                        || !export_allows(&exporter.exports, false, &a.name, &im.subject)
                    {
                        errors.push(err("stream import not authorized"));
                        continue;
                    }
                    if let Some(p) = &im.prefix
                        && !is_valid_literal_subject(p.trim_end_matches('.').as_bytes())
                    {
                        errors.push(err("stream import prefix can not contain wildcard tokens"));
                        continue;
                    }
                    let to = im.stream_destination();
                    let cycle =
                        stream_cycle(&im.account, &to, &exports_of, &streams, &mut visited())
                            .and_then(|()| {
                                stream_cycle(
                                    &im.account,
                                    &im.subject,
                                    &exports_of,
                                    &streams,
                                    &mut visited(),
                                )
                            });
                    if let Err(why) = cycle {
                        errors.push(err(why));
                        continue;
                    }
                    let duplicate = streams.iter().any(|e| {
                        e.importer == a.name && e.exporter == im.account && e.from == im.subject
                    });
                    if duplicate {
                        errors.push(err("stream import already exists"));
                        continue;
                    }
                    streams.push(StreamEdge {
                        importer: &a.name,
                        exporter: &im.account,
                        from: im.subject.clone(),
                        to,
                    });
                }
            }
        }
    }
}
