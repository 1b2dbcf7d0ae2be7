//! Permission templates of scoped signing keys (nats-server's
//! `processUserPermissionsTemplate`): `{{name()}}`, `{{subject()}}`, `{{account-name()}}`,
//! `{{account-subject()}}`, `{{tag(x)}}` and `{{account-tag(x)}}` expanded per user.

use super::claims::UserPermissionLimits;
use crate::subject::is_valid_subject;

/// `maxPermTemplateSubjectExpansions`: a bound on the subjects one list may expand to.
const MAX_EXPANSIONS: usize = 4096;

/// What a template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    pub user_name: &'a str,
    pub user_subject: &'a str,
    pub user_tags: &'a [String],
    pub account_name: &'a str,
    pub account_subject: &'a str,
    pub account_tags: &'a [String],
}

/// The `{{...}}` spans of `s` (`mustacheRE`: two braces, anything but `}`, two braces).
fn mustaches(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut base = 0;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let inner_len = after.find('}').unwrap_or(after.len());
        if inner_len > 0 && after[inner_len..].starts_with("}}") {
            let start = base + i;
            let end = start + 2 + inner_len + 2;
            out.push(&s[start..end]);
            base = end;
            rest = &s[end..];
        } else {
            base += i + 1;
            rest = &rest[i + 1..];
        }
    }
    out
}

/// `tag(x)` / `account-tag(x)` (case-insensitive function name).
fn tag_op(op: &str) -> Option<(bool, &str)> {
    let lower = op.to_ascii_lowercase();
    if lower.starts_with("account-tag(") && op.ends_with(')') {
        return Some((true, &op[12..op.len() - 1]));
    }
    if lower.starts_with("tag(") && op.ends_with(')') {
        return Some((false, &op[4..op.len() - 1]));
    }
    None
}

/// Expands one list; `fail_on_bad` for deny lists (a bad subject is an error, not dropped).
fn apply(list: &[String], fail_on_bad: bool, t: &TemplateInput) -> Result<Vec<String>, String> {
    if !list.iter().any(|s| !mustaches(s).is_empty()) {
        return Ok(list.to_vec());
    }
    let mut emitted = Vec::with_capacity(list.len());
    for entry in list {
        let srcs = mustaches(entry);
        let mut values: Vec<Vec<String>> = Vec::with_capacity(srcs.len());
        let mut has_tags = false;
        for src in &srcs {
            let op = src[2..src.len() - 2].trim();
            let v = if op.eq_ignore_ascii_case("name()") {
                vec![t.user_name.to_string()]
            } else if op.eq_ignore_ascii_case("subject()") {
                vec![t.user_subject.to_string()]
            } else if op.eq_ignore_ascii_case("account-name()") {
                vec![t.account_name.to_string()]
            } else if op.eq_ignore_ascii_case("account-subject()") {
                vec![t.account_subject.to_string()]
            } else if let Some((account, name)) = tag_op(op) {
                has_tags = true;
                let tags = if account { t.account_tags } else { t.user_tags };
                let prefix = format!("{}:", name.to_lowercase());
                let found: Vec<String> = tags
                    .iter()
                    .filter_map(|tag| tag.strip_prefix(&prefix).map(str::to_string))
                    .collect();
                if !found.is_empty() {
                    found
                } else if fail_on_bad {
                    return Err(format!(
                        "generated invalid subject {entry:?}: {name:?} is not defined"
                    ));
                } else {
                    vec![" ".to_string()]
                }
            } else {
                return Err(format!(
                    "template operation in {entry:?}: {op:?} is not defined"
                ));
            };
            values.push(v);
        }
        let mut total = 1usize;
        for v in &values {
            if has_tags && total > MAX_EXPANSIONS / v.len().max(1) {
                return Err("template expansion exceeds limit".into());
            }
            total *= v.len();
        }
        if has_tags && emitted.len() + total > MAX_EXPANSIONS {
            return Err("template expansion exceeds limit".into());
        }
        // Cartesian product of the values (only tags have more than one).
        let mut idx = vec![0usize; values.len()];
        for _ in 0..total {
            let mut subj = entry.clone();
            for (j, src) in srcs.iter().enumerate() {
                subj = subj.replace(src, &values[j][idx[j]]);
            }
            if is_valid_subject(subj.as_bytes()) {
                emitted.push(subj);
            } else if fail_on_bad {
                return Err("generated invalid subject".into());
            }
            for j in (0..idx.len()).rev() {
                idx[j] += 1;
                if idx[j] < values[j].len() {
                    break;
                }
                idx[j] = 0;
            }
        }
    }
    Ok(emitted)
}

/// Expands the scope template for one user. An allow list that expands to nothing becomes a
/// `deny >` for that direction.
pub fn expand(
    mut lim: UserPermissionLimits,
    t: &TemplateInput,
) -> Result<UserPermissionLimits, String> {
    let p = &mut lim.permissions;
    let sub_allow_set = !p.subscribe.allow.is_empty();
    let pub_allow_set = !p.publish.allow.is_empty();
    p.subscribe.allow = apply(&p.subscribe.allow, false, t)?;
    p.subscribe.deny = apply(&p.subscribe.deny, true, t)?;
    p.publish.allow = apply(&p.publish.allow, false, t)?;
    p.publish.deny = apply(&p.publish.deny, true, t)?;
    if sub_allow_set && p.subscribe.allow.is_empty() && !p.subscribe.deny.iter().any(|d| d == ">") {
        p.subscribe.deny.push(">".into());
    }
    if pub_allow_set && p.publish.allow.is_empty() && !p.publish.deny.iter().any(|d| d == ">") {
        p.publish.deny.push(">".into());
    }
    Ok(lim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(tags: &'a [String]) -> TemplateInput<'a> {
        TemplateInput {
            user_name: "alice",
            user_subject: "UABC",
            user_tags: tags,
            account_name: "A",
            account_subject: "AXYZ",
            account_tags: &[],
        }
    }

    #[test]
    fn finds_mustaches() {
        assert_eq!(
            mustaches("a.{{name()}}.{{ subject() }}"),
            vec!["{{name()}}", "{{ subject() }}"]
        );
        assert!(mustaches("a.{{}}.b").is_empty());
        assert!(mustaches("plain.subject").is_empty());
    }

    #[test]
    fn expands_names_and_tags() {
        let tags = vec!["dept:eng".to_string(), "dept:ops".to_string()];
        let mut lim = UserPermissionLimits::default();
        lim.permissions.publish.allow =
            vec!["u.{{name()}}.>".into(), "acc.{{account-subject()}}".into()];
        lim.permissions.subscribe.allow = vec!["d.{{tag(dept)}}".into()];
        let out = expand(lim, &input(&tags)).expect("expands");
        assert_eq!(out.permissions.publish.allow, vec!["u.alice.>", "acc.AXYZ"]);
        assert_eq!(out.permissions.subscribe.allow, vec!["d.eng", "d.ops"]);
    }

    #[test]
    fn missing_tag_empties_allow_into_deny_all_and_fails_deny() {
        let mut lim = UserPermissionLimits::default();
        lim.permissions.subscribe.allow = vec!["d.{{tag(dept)}}".into()];
        let out = expand(lim.clone(), &input(&[])).expect("expands");
        assert!(out.permissions.subscribe.allow.is_empty());
        assert_eq!(out.permissions.subscribe.deny, vec![">"]);
        lim.permissions.subscribe.deny = vec!["x.{{tag(dept)}}".into()];
        assert!(expand(lim, &input(&[])).is_err());
        let mut bad = UserPermissionLimits::default();
        bad.permissions.publish.allow = vec!["{{nope()}}".into()];
        assert!(expand(bad, &input(&[])).is_err());
    }
}
