//! `mappings {}` (or `maps`), at the top level for `$G` and in an account: nats-server's
//! `parseAccountMappings` and `parseAccountMapDest`, with their checks and messages.

use super::convert::{mismatch, want_str};
use super::error::Diagnostic;
use super::gofmt::quote;
use super::value::{Token, Value};
use crate::mapping::{MapDest, Mappings};

/// Parses a mappings block; errors are appended (the mappings that parsed are kept).
pub(crate) fn parse_mappings(t: &Token, errors: &mut Vec<Diagnostic>) -> Mappings {
    let mut mappings = Mappings::default();
    let Value::Map(m) = &t.value else {
        errors.push(mismatch(t, "map[string]interface {}"));
        return mappings;
    };
    for (subject, v) in m.iter() {
        if !crate::subject::is_valid_subject(subject.as_bytes()) {
            let msg = format!("Subject {} is not a valid subject", quote(subject));
            errors.push(Diagnostic::on(t, msg));
            continue;
        }
        match &v.value {
            Value::String(dest) => {
                if let Err(e) = mappings.add(subject, vec![MapDest::full(dest)]) {
                    let msg = format!(
                        "Error adding mapping for {} to {} : {e}",
                        quote(subject),
                        quote(dest)
                    );
                    errors.push(Diagnostic::on(v, msg));
                }
            }
            Value::Array(items) => {
                let dests: Vec<MapDest> = items
                    .iter()
                    .filter_map(|item| map_dest(item, errors))
                    .collect();
                if let Err(e) = mappings.add(subject, dests) {
                    let msg = format!("Error adding mapping for {} : {e}", quote(subject));
                    errors.push(Diagnostic::on(v, msg));
                }
            }
            _ => {
                let Some(dest) = map_dest(v, errors) else {
                    continue;
                };
                if let Err(e) = mappings.add(subject, vec![dest]) {
                    let msg = format!("Error adding mapping for {} : {e}", quote(subject));
                    errors.push(Diagnostic::on(v, msg));
                }
            }
        }
    }
    mappings
}

/// One weighted destination: `{ destination: "...", weight: 50% [, cluster: "..."] }`.
fn map_dest(t: &Token, errors: &mut Vec<Diagnostic>) -> Option<MapDest> {
    let Value::Map(m) = &t.value else {
        errors.push(Diagnostic::on(
            t,
            "Expected an entry for the mapping destination",
        ));
        return None;
    };
    let mut dest = MapDest {
        subject: String::new(),
        weight: 0,
        cluster: String::new(),
    };
    let mut weighted = false;
    let fail = |errors: &mut Vec<Diagnostic>, d: Diagnostic| {
        errors.push(d);
        None
    };
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "dest" | "destination" => match want_str(v) {
                Ok(s) => dest.subject = s.to_string(),
                Err(d) => return fail(errors, d),
            },
            "weight" => {
                let weight = match &v.value {
                    Value::String(s) => {
                        let ws = s.strip_suffix('%').unwrap_or(s);
                        match ws.parse::<i64>() {
                            Ok(w) => w,
                            Err(_) => {
                                let msg =
                                    format!("Invalid weight {} for mapping destination", quote(ws));
                                return fail(errors, Diagnostic::on(v, msg));
                            }
                        }
                    }
                    Value::Int(w) => *w,
                    other => {
                        let msg =
                            format!("Unknown entry type for weight of {}\n", other.go_display());
                        return fail(errors, Diagnostic::on(v, msg));
                    }
                };
                let Ok(w @ 0..=100) = u8::try_from(weight) else {
                    let msg = format!("Invalid weight {weight} for mapping destination");
                    return fail(errors, Diagnostic::on(v, msg));
                };
                dest.weight = w;
                weighted = true;
            }
            "cluster" => match want_str(v) {
                Ok(s) => dest.cluster = s.to_string(),
                Err(d) => return fail(errors, d),
            },
            _ => {
                let msg = format!("Unknown field {} for mapping destination", quote(k));
                return fail(errors, Diagnostic::on(v, msg));
            }
        }
    }
    if !weighted {
        let msg = format!(
            "Missing weight for mapping destination {}",
            quote(&dest.subject)
        );
        return fail(errors, Diagnostic::on(t, msg));
    }
    Some(dest)
}
