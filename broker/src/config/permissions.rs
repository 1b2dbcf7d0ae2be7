//! `permissions { publish, subscribe, allow_responses }` of a user or `default_permissions`,
//! parsed with nats-server's rules and messages (opts.go `parseUserPermissions`).

use super::error::{Diagnostic, Warning};
use super::value::{Token, Value};
use crate::permissions::{Entry, Permissions, ResponsePermission, SubjectPermission};
use crate::subject::is_valid_subject;

/// Parses a permissions map. Errors are appended; `None` when the value is not a map.
pub(crate) fn parse_permissions(
    t: &Token,
    errors: &mut Vec<Diagnostic>,
    _warnings: &mut Vec<Warning>,
) -> Option<Permissions> {
    let Value::Map(m) = &t.value else {
        let msg = format!(
            "Expected permissions to be a map/struct, got {}",
            t.value.go_display()
        );
        errors.push(Diagnostic::on(t, msg));
        return None;
    };
    let mut p = Permissions::default();
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "pub" | "publish" | "import" => match side(v, false) {
                Ok(sp) => p.publish = sp,
                Err(d) => errors.push(d),
            },
            "sub" | "subscribe" | "export" => match side(v, true) {
                Ok(sp) => p.subscribe = sp,
                Err(d) => errors.push(d),
            },
            "publish_allow_responses" | "allow_responses" => {
                p.response = match &v.value {
                    Value::Bool(true) => Some(ResponsePermission::default()),
                    Value::Bool(false) => None,
                    _ => parse_allow_responses(v, errors),
                };
                // As nats-server: granting responses turns an absent publish allow list into
                // an empty one (only explicitly allowed subjects and replies).
                if p.response.is_some() {
                    let publish = p.publish.get_or_insert_with(SubjectPermission::default);
                    publish.allow.get_or_insert_with(Vec::new);
                }
            }
            _ if v.used_variable => {}
            _ => errors.push(Diagnostic::on(
                v,
                format!("Unknown field {k:?} parsing permissions"),
            )),
        }
    }
    Some(p)
}

/// `allow_responses: { max: N, expires: "1m" }` (nats-server's `parseAllowResponses`): 0
/// keeps a default, negative values mean unlimited.
fn parse_allow_responses(t: &Token, errors: &mut Vec<Diagnostic>) -> Option<ResponsePermission> {
    let Value::Map(m) = &t.value else {
        let msg = "error parsing response permissions, expected a boolean or a map";
        errors.push(Diagnostic::on(t, msg));
        return None;
    };
    let mut rp = ResponsePermission::default();
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "max" | "max_msgs" | "max_messages" | "max_responses" => {
                let Value::Int(n) = v.value else {
                    errors.push(super::convert::mismatch(v, "int64"));
                    return None;
                };
                if n != 0 {
                    rp.max_msgs = n;
                }
            }
            "expires" | "expiration" | "ttl" => {
                let Value::String(s) = &v.value else {
                    errors.push(Diagnostic::on(
                        v,
                        "error parsing expires, not a duration string",
                    ));
                    return None;
                };
                match super::duration::parse_go_duration(s) {
                    Ok(0) => {}
                    Ok(ns) if ns < 0 => rp.expires = None,
                    Ok(ns) => rp.expires = Some(std::time::Duration::from_nanos(ns.unsigned_abs())),
                    Err(e) => {
                        errors.push(Diagnostic::on(v, format!("error parsing expires: {e}")));
                        return None;
                    }
                }
            }
            _ if v.used_variable => {}
            _ => errors.push(Diagnostic::on(
                v,
                format!("Unknown field {k:?} parsing permissions"),
            )),
        }
    }
    Some(rp)
}

/// One direction: a map with `allow`/`deny`, or the old style (a subject or a list = allow).
fn side(t: &Token, allow_queue: bool) -> Result<Option<SubjectPermission>, Diagnostic> {
    let Value::Map(m) = &t.value else {
        let allow = subjects(t, allow_queue)?;
        return Ok(Some(SubjectPermission {
            allow: Some(allow),
            deny: None,
        }));
    };
    if m.is_empty() {
        return Ok(None);
    }
    let mut sp = SubjectPermission::default();
    for (k, v) in m.iter() {
        match k.to_lowercase().as_str() {
            "allow" => sp.allow = Some(subjects(v, allow_queue)?),
            "deny" => sp.deny = Some(subjects(v, allow_queue)?),
            _ if v.used_variable => {}
            _ => {
                return Err(Diagnostic::on(
                    v,
                    format!(
                        "Unknown field name {k:?} parsing subject permissions, only 'allow' or \
                         'deny' are permitted"
                    ),
                ));
            }
        }
    }
    Ok(Some(sp))
}

/// A subject or an array of subjects, each valid (subscribe entries may carry a queue).
fn subjects(t: &Token, allow_queue: bool) -> Result<Vec<Entry>, Diagnostic> {
    let list: Vec<&str> = match &t.value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items.iter() {
                let Value::String(s) = &i.value else {
                    return Err(Diagnostic::on(
                        i,
                        "Subject in permissions array cannot be cast to string",
                    ));
                };
                out.push(s.as_str());
            }
            out
        }
        other => {
            return Err(Diagnostic::on(
                t,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    other.go_type()
                ),
            ));
        }
    };
    for s in &list {
        // nats-server returns this one as a plain error: no file:line in the message.
        check_subject(s, allow_queue).map_err(|message| Diagnostic { pos: None, message })?;
    }
    Ok(list.iter().map(|s| Entry::parse(s)).collect())
}

fn check_subject(s: &str, allow_queue: bool) -> Result<(), String> {
    if is_valid_subject(s.as_bytes()) {
        return Ok(());
    }
    let parts: Vec<&str> = s.split_whitespace().collect();
    if !allow_queue || parts.len() != 2 {
        return Err(format!("subject {s:?} is not a valid subject"));
    }
    if !is_valid_subject(parts[0].as_bytes()) {
        return Err(format!("subject {:?} is not a valid subject", parts[0]));
    }
    if !is_valid_subject(parts[1].as_bytes()) {
        return Err(format!("queue {:?} is not a valid queue", parts[1]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    fn parse(src: &str) -> (Option<Permissions>, Vec<Diagnostic>) {
        let map = parse_str(src, "t.conf", &|_| None).expect("parses");
        let tok = map.get("permissions").expect("key");
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        (parse_permissions(tok, &mut errors, &mut warnings), errors)
    }

    #[test]
    fn old_and_new_styles() {
        let (p, errs) = parse(
            "permissions: { publish: \"foo.>\", subscribe: { allow: [\"a\", \"b q\"], deny: \"c\" } }",
        );
        assert!(errs.is_empty(), "{errs:?}");
        let p = p.expect("permissions");
        assert!(p.can_publish(b"foo.x") && !p.can_publish(b"bar"));
        assert!(p.can_subscribe(b"a", None) && p.can_subscribe(b"b", Some(b"q")));
        assert!(!p.can_subscribe(b"b", Some(b"r")) && !p.can_subscribe(b"c", None));
    }

    #[test]
    fn bad_entries_are_errors() {
        let (_, errs) = parse("permissions: { publish: \"foo bar\" }");
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].to_string().contains("is not a valid subject"),
            "{}",
            errs[0]
        );
        let (_, errs) = parse("permissions: { subscribe: { permit: \"x\" } }");
        assert!(
            errs[0].to_string().contains("only 'allow' or 'deny'"),
            "{}",
            errs[0]
        );
        let (_, errs) = parse("permissions: { nope: \"x\" }");
        assert!(
            errs[0]
                .to_string()
                .contains("Unknown field \"nope\" parsing permissions")
        );
    }
}
