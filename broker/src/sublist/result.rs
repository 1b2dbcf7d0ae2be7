//! Match results: plain subscribers plus queue groups, and the builder that assembles them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// Number of queue groups in a result above which the builder indexes groups by name.
///
/// nats-server finds a group's slot with a linear scan (`findQSlot`), which is fastest for
/// the usual handful of groups but quadratic when a subject has thousands of them; 16 names
/// are compared faster than they are hashed.
const QSLOT_INDEX_MIN: usize = 16;

/// Everything that a publish subject reaches: plain subscribers and queue groups.
///
/// Every plain subscriber gets a copy of the message; each queue group gets one copy,
/// delivered to one of its members. A subscription whose subject matches through several
/// patterns is listed once per pattern, as in nats-server.
pub struct MatchResult<T: ?Sized> {
    /// Plain (non-queue) subscriptions.
    pub psubs: Vec<Arc<T>>,
    /// Queue groups, one entry per distinct queue name (across all matching subjects).
    pub qsubs: Vec<QueueGroup<T>>,
}

/// The members of one queue group that match a subject.
pub struct QueueGroup<T: ?Sized> {
    /// The queue group name.
    pub name: Bytes,
    /// Matching members; never empty in a result.
    pub members: Vec<Arc<T>>,
}

impl<T: ?Sized> MatchResult<T> {
    /// A result with no subscribers.
    pub const fn new() -> Self {
        Self {
            psubs: Vec::new(),
            qsubs: Vec::new(),
        }
    }

    /// Whether nothing matched.
    pub fn is_empty(&self) -> bool {
        self.psubs.is_empty() && self.qsubs.is_empty()
    }

    /// Number of deliveries a message makes: one per plain subscriber and one per queue
    /// group. This is the "fanout" of nats-server's `/subsz` statistics.
    pub fn fanout(&self) -> usize {
        self.psubs.len() + self.qsubs.len()
    }

    /// Adds `sub` to the result, to the queue group `queue` (created if needed) or to the
    /// plain subscribers. Used to update cached results in place on insert.
    pub(crate) fn add_sub(&mut self, queue: Option<&Bytes>, sub: Arc<T>) {
        match queue {
            None => self.psubs.push(sub),
            Some(name) => match self.qsubs.iter_mut().find(|g| g.name == *name) {
                Some(group) => group.members.push(sub),
                None => self.qsubs.push(QueueGroup {
                    name: name.clone(),
                    members: vec![sub],
                }),
            },
        }
    }
}

impl<T: ?Sized> Default for MatchResult<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> Clone for MatchResult<T> {
    fn clone(&self) -> Self {
        Self {
            psubs: self.psubs.clone(),
            qsubs: self.qsubs.clone(),
        }
    }
}

impl<T: ?Sized> Clone for QueueGroup<T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            members: self.members.clone(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MatchResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchResult")
            .field("psubs", &self.psubs)
            .field("qsubs", &self.qsubs)
            .finish()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for QueueGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueGroup")
            .field("name", &self.name)
            .field("members", &self.members)
            .finish()
    }
}

/// Collects the subscriptions of matching trie nodes into a [`MatchResult`], merging queue
/// groups of the same name that come from different nodes.
pub(crate) struct ResultBuilder<T: ?Sized> {
    /// The result under construction.
    result: MatchResult<T>,
    /// Queue name → position in `result.qsubs`, built once there are more than
    /// [`QSLOT_INDEX_MIN`] groups.
    qindex: Option<HashMap<Bytes, usize>>,
}

impl<T: ?Sized> ResultBuilder<T> {
    /// An empty builder.
    pub(crate) fn new() -> Self {
        Self {
            result: MatchResult::new(),
            qindex: None,
        }
    }

    /// Adds plain subscribers.
    #[inline]
    pub(crate) fn add_plain(&mut self, subs: &[Arc<T>]) {
        self.result.psubs.extend_from_slice(subs);
    }

    /// Adds the members of queue group `name`.
    pub(crate) fn add_queue(&mut self, name: &Bytes, members: &[Arc<T>]) {
        if members.is_empty() {
            return;
        }
        let slot = match &self.qindex {
            Some(index) => index.get(name).copied(),
            None => self.result.qsubs.iter().position(|g| g.name == *name),
        };
        match slot.and_then(|i| self.result.qsubs.get_mut(i)) {
            Some(group) => group.members.extend_from_slice(members),
            None => {
                let pos = self.result.qsubs.len();
                self.result.qsubs.push(QueueGroup {
                    name: name.clone(),
                    members: members.to_vec(),
                });
                if let Some(index) = &mut self.qindex {
                    index.insert(name.clone(), pos);
                } else if self.result.qsubs.len() > QSLOT_INDEX_MIN {
                    let index = self.result.qsubs.iter().enumerate();
                    self.qindex = Some(index.map(|(i, g)| (g.name.clone(), i)).collect());
                }
            }
        }
    }

    /// The finished result.
    pub(crate) fn finish(self) -> MatchResult<T> {
        self.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_merges_groups_by_name_past_index_threshold() {
        let subs: Vec<Arc<u32>> = (0..3).map(Arc::new).collect();
        let names: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("q{i}"))).collect();
        let mut b = ResultBuilder::new();
        for name in &names {
            b.add_queue(name, &subs[..1]);
        }
        for name in names.iter().rev() {
            b.add_queue(name, &subs[1..]);
        }
        b.add_queue(&names[0], &[]);
        b.add_plain(&subs);
        let r = b.finish();
        assert_eq!(r.psubs.len(), 3);
        assert_eq!(r.qsubs.len(), 40);
        assert_eq!(r.fanout(), 43);
        for (g, name) in r.qsubs.iter().zip(&names) {
            assert_eq!(g.name, *name);
            assert_eq!(g.members.len(), 3);
        }
    }

    #[test]
    fn add_sub_creates_and_extends_groups() {
        let mut r: MatchResult<u32> = MatchResult::default();
        assert!(r.is_empty());
        let q = Bytes::from_static(b"q");
        r.add_sub(Some(&q), Arc::new(1));
        r.add_sub(Some(&q), Arc::new(2));
        r.add_sub(None, Arc::new(3));
        assert_eq!(r.qsubs.len(), 1);
        assert_eq!(r.qsubs[0].members.len(), 2);
        assert_eq!(r.psubs.len(), 1);
        assert!(!r.is_empty());
    }
}
