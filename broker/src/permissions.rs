//! Per-user publish/subscribe permissions: allow and deny lists with wildcards and optional
//! queue groups, checked as nats-server checks them (publish on ingress, subscribe at SUB,
//! subscribe-deny again at delivery for wildcard subscriptions).

use bytes::Bytes;

use crate::subject::{subject_matches, tokens};

/// One permission entry: a subject pattern and, for subscribe entries, an optional queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub subject: Bytes,
    pub queue: Option<Bytes>,
}

impl Entry {
    /// Parses `"subject"` or, for subscribe lists, `"subject queue"`.
    pub fn parse(s: &str) -> Entry {
        let mut parts = s.split_whitespace();
        let subject = parts.next().unwrap_or_default();
        let queue = parts.next();
        Entry {
            subject: Bytes::copy_from_slice(subject.as_bytes()),
            queue: queue.map(|q| Bytes::copy_from_slice(q.as_bytes())),
        }
    }

    /// The entry as configured: `"subject"` or `"subject queue"`.
    pub fn to_text(&self) -> String {
        let subject = String::from_utf8_lossy(&self.subject);
        match &self.queue {
            Some(q) => format!("{subject} {}", String::from_utf8_lossy(q)),
            None => subject.into_owned(),
        }
    }
}

/// Allow and deny lists for one direction. `allow: None` means everything is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectPermission {
    pub allow: Option<Vec<Entry>>,
    pub deny: Option<Vec<Entry>>,
}

impl SubjectPermission {
    /// nats-server's JSON form (route INFO `import`/`export`, `/routez`):
    /// `{"allow":[...],"deny":[...]}`, empty lists left out, entries as `"subject[ queue]"`.
    pub fn to_json(&self) -> serde_json::Value {
        let list = |l: &Option<Vec<Entry>>| -> Option<serde_json::Value> {
            let l = l.as_ref().filter(|l| !l.is_empty())?;
            Some(l.iter().map(Entry::to_text).collect::<Vec<_>>().into())
        };
        let mut m = serde_json::Map::new();
        if let Some(a) = list(&self.allow) {
            m.insert("allow".into(), a);
        }
        if let Some(d) = list(&self.deny) {
            m.insert("deny".into(), d);
        }
        serde_json::Value::Object(m)
    }

    /// Reads [`SubjectPermission::to_json`]'s form; `None` unless it is an object.
    pub fn from_json(v: &serde_json::Value) -> Option<SubjectPermission> {
        let m = v.as_object()?;
        let list = |k: &str| -> Option<Vec<Entry>> {
            let a = m.get(k)?.as_array()?;
            Some(
                a.iter()
                    .filter_map(|s| s.as_str())
                    .map(Entry::parse)
                    .collect(),
            )
        };
        Some(SubjectPermission {
            allow: list("allow"),
            deny: list("deny"),
        })
    }
}

/// How long a reply subject a user received stays open to its answers, and for how many
/// (`DEFAULT_ALLOW_RESPONSE_EXPIRATION`).
pub const DEFAULT_RESPONSE_EXPIRES: std::time::Duration = std::time::Duration::from_secs(120);
/// Answers allowed per received reply subject by default (`DEFAULT_ALLOW_RESPONSE_MAX_MSGS`).
pub const DEFAULT_RESPONSE_MAX: i64 = 1;

/// `allow_responses`: the user may publish to reply subjects of messages it received, at most
/// `max_msgs` times each (negative: unlimited) within `expires` (`None`: forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePermission {
    pub max_msgs: i64,
    pub expires: Option<std::time::Duration>,
}

impl Default for ResponsePermission {
    fn default() -> Self {
        ResponsePermission {
            max_msgs: DEFAULT_RESPONSE_MAX,
            expires: Some(DEFAULT_RESPONSE_EXPIRES),
        }
    }
}

/// Publish and subscribe permissions of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Option<SubjectPermission>,
    pub subscribe: Option<SubjectPermission>,
    /// `allow_responses`, when granted.
    pub response: Option<ResponsePermission>,
}

/// Does a permission entry (a sublist pattern) match `subject`, which is treated as the
/// sublist treats a lookup: its own `*` and `>` tokens are literal.
fn entry_matches(e: &Entry, subject: &[u8]) -> bool {
    subject_matches(&e.subject, subject)
}

/// nats-server's queue check against the queue entries that matched: a plain entry admits
/// any queue, a queue entry admits only a matching queue name.
fn queue_allowed(matched: &[&Entry], queue: &[u8]) -> bool {
    matched.iter().any(|e| match &e.queue {
        None => true,
        Some(q) => subject_matches(q, queue),
    })
}

impl Permissions {
    /// May the user publish to `subject`?
    pub fn can_publish(&self, subject: &[u8]) -> bool {
        let Some(p) = &self.publish else {
            return true;
        };
        let mut allowed = match &p.allow {
            Some(allow) => allow.iter().any(|e| entry_matches(e, subject)),
            None => true,
        };
        if allowed && let Some(deny) = &p.deny {
            allowed = !deny.iter().any(|e| entry_matches(e, subject));
        }
        allowed
    }

    /// May the user subscribe to `subject` (in `queue`)?
    pub fn can_subscribe(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let Some(p) = &self.subscribe else {
            return true;
        };
        let mut allowed = true;
        if let Some(allow) = &p.allow {
            let plain: Vec<&Entry> = allow
                .iter()
                .filter(|e| e.queue.is_none() && entry_matches(e, subject))
                .collect();
            let queued: Vec<&Entry> = allow
                .iter()
                .filter(|e| e.queue.is_some() && entry_matches(e, subject))
                .collect();
            allowed = !plain.is_empty();
            if let Some(q) = queue
                && !queued.is_empty()
            {
                allowed = queue_allowed(&queued, q);
            }
        }
        if allowed && let Some(deny) = &p.deny {
            let plain = deny
                .iter()
                .any(|e| e.queue.is_none() && entry_matches(e, subject));
            allowed = !plain;
            if let (true, Some(q)) = (allowed, queue) {
                let queued: Vec<&Entry> = deny
                    .iter()
                    .filter(|e| e.queue.is_some() && entry_matches(e, subject))
                    .collect();
                if !queued.is_empty() && queue_allowed(&queued, q) {
                    allowed = false;
                }
            }
        }
        allowed
    }

    /// Whether deliveries to this user must be re-checked against the subscribe deny list:
    /// true when a wildcard subscription could cover a denied subject.
    pub fn needs_delivery_check(&self, sub_subject: &[u8]) -> bool {
        let Some(deny) = self.subscribe.as_ref().and_then(|p| p.deny.as_ref()) else {
            return false;
        };
        let wildcard = tokens(sub_subject).any(|t| t == b"*" || t == b">");
        wildcard
            && deny
                .iter()
                .any(|e| subject_matches(sub_subject, &e.subject))
    }

    /// Delivery-time check: is `subject` denied to this user's subscriptions?
    pub fn delivery_denied(&self, subject: &[u8]) -> bool {
        self.subscribe
            .as_ref()
            .and_then(|p| p.deny.as_ref())
            .is_some_and(|deny| {
                deny.iter()
                    .any(|e| e.queue.is_none() && entry_matches(e, subject))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Option<Vec<Entry>> {
        Some(items.iter().map(|s| Entry::parse(s)).collect())
    }

    fn perms(pa: &[&str], pd: &[&str], sa: &[&str], sd: &[&str]) -> Permissions {
        let side = |a: &[&str], d: &[&str]| SubjectPermission {
            allow: if a.is_empty() { None } else { list(a) },
            deny: if d.is_empty() { None } else { list(d) },
        };
        Permissions {
            publish: Some(side(pa, pd)),
            subscribe: Some(side(sa, sd)),
            response: None,
        }
    }

    #[test]
    fn publish_allow_and_deny() {
        let p = perms(&["foo.>"], &["foo.secret"], &[], &[]);
        assert!(p.can_publish(b"foo.bar"));
        assert!(p.can_publish(b"foo.bar.baz"));
        assert!(!p.can_publish(b"foo.secret"));
        assert!(!p.can_publish(b"bar"));
        assert!(!p.can_publish(b"foo"));
    }

    #[test]
    fn subscribe_wildcards_are_literal_lookups() {
        let p = perms(&[], &[], &["foo.>"], &[]);
        assert!(p.can_subscribe(b"foo.x", None));
        assert!(p.can_subscribe(b"foo.*", None));
        assert!(p.can_subscribe(b"foo.>", None));
        assert!(!p.can_subscribe(b">", None));
        assert!(!p.can_subscribe(b"bar", Some(b"q")));
    }

    #[test]
    fn queue_entries() {
        let p = perms(&[], &[], &["foo", "bar v1"], &[]);
        assert!(p.can_subscribe(b"foo", None));
        assert!(p.can_subscribe(b"foo", Some(b"any")));
        assert!(p.can_subscribe(b"bar", Some(b"v1")));
        assert!(!p.can_subscribe(b"bar", Some(b"v2")));
        assert!(!p.can_subscribe(b"bar", None));
        let d = perms(&[], &[], &[], &["baz q1"]);
        assert!(d.can_subscribe(b"baz", None));
        assert!(!d.can_subscribe(b"baz", Some(b"q1")));
        assert!(d.can_subscribe(b"baz", Some(b"q2")));
    }

    #[test]
    fn deny_is_rechecked_at_delivery_for_wildcards() {
        let p = perms(&[], &[], &[], &["foo.secret"]);
        assert!(p.can_subscribe(b"foo.*", None));
        assert!(p.needs_delivery_check(b"foo.*"));
        assert!(!p.needs_delivery_check(b"foo.bar"));
        assert!(p.delivery_denied(b"foo.secret"));
        assert!(!p.delivery_denied(b"foo.public"));
    }
}
