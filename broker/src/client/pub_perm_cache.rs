//! Per-connection cache of publish permission decisions (nats-server's `pcache`): a user
//! with many publish rules walks them once per subject, not once per message.

use std::collections::HashMap;

use crate::permissions::Permissions;

/// Subjects whose decision is kept (nats-server's `maxPermCacheSize`); past it the cache
/// starts over, which bounds its memory per connection.
const MAX_ENTRIES: usize = 128;

/// Subject → may publish, for the permissions in force (cleared when they change).
#[derive(Default)]
pub(super) struct PubPermCache {
    /// foldhash, not SipHash: the map is per connection and bounded, and it is hashed once
    /// per message.
    decisions: HashMap<Box<[u8]>, bool, foldhash::fast::RandomState>,
}

impl PubPermCache {
    /// `perms.can_publish(subject)`, from the cache when the subject was seen before.
    pub(super) fn can_publish(&mut self, perms: &Permissions, subject: &[u8]) -> bool {
        if let Some(&allowed) = self.decisions.get(subject) {
            return allowed;
        }
        let allowed = perms.can_publish(subject);
        if self.decisions.len() >= MAX_ENTRIES {
            self.decisions.clear();
        }
        // The key is copied: a slice of the read buffer would keep that buffer alive.
        self.decisions.insert(subject.into(), allowed);
        allowed
    }

    /// Forgets every decision (the permissions were replaced).
    pub(super) fn clear(&mut self) {
        self.decisions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{Entry, SubjectPermission};

    #[test]
    fn cached_decisions_match_the_rules_and_stay_bounded() {
        let perms = Permissions {
            publish: Some(SubjectPermission {
                allow: Some(vec![Entry::parse("a.>")]),
                deny: Some(vec![Entry::parse("a.secret")]),
            }),
            ..Permissions::default()
        };
        let mut cache = PubPermCache::default();
        for _ in 0..2 {
            assert!(cache.can_publish(&perms, b"a.b"));
            assert!(!cache.can_publish(&perms, b"a.secret"));
            assert!(!cache.can_publish(&perms, b"b"));
        }
        for i in 0..(MAX_ENTRIES * 2) {
            let subject = format!("a.{i}");
            assert!(cache.can_publish(&perms, subject.as_bytes()));
            assert!(cache.decisions.len() <= MAX_ENTRIES);
        }
        cache.clear();
        assert!(cache.decisions.is_empty());
    }
}
