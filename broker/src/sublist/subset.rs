//! A set of `Arc<T>` with pointer identity, stored as a dense `Vec` for fast match building.

use std::collections::HashMap;
use std::sync::Arc;

/// Member count above which a set also keeps an address → position index.
///
/// Below it, a linear scan over a few pointers (for the duplicate check and removal) beats
/// hashing and costs no memory; above it, the index keeps insert and remove O(1) when many
/// connections subscribe to one subject (nats-server switches representation at
/// `plistMin = 256` for a similar reason). 32 pointers are half a kilobyte: one scan of them
/// is still cheaper than a `HashMap` probe with SipHash.
const INDEX_MIN: usize = 32;

/// Member count at or below which an indexed set drops its index again. Half of
/// [`INDEX_MIN`] so that a set hovering around the threshold does not rebuild it each time.
const INDEX_DROP: usize = INDEX_MIN / 2;

/// The address an `Arc` points to, used as its identity (the same as `Arc::ptr_eq`).
#[inline]
fn addr<T: ?Sized>(a: &Arc<T>) -> usize {
    Arc::as_ptr(a).cast::<()>().addr()
}

/// Subscriptions of one node (plain) or of one queue group at one node.
///
/// Members are unique by pointer. Order is not meaningful: removal swaps the last member in.
pub(crate) struct SubSet<T: ?Sized> {
    /// The members, densely packed so that a match copies them with one `extend`.
    items: Vec<Arc<T>>,
    /// Address → position in `items`; present only while `items` is larger than
    /// [`INDEX_MIN`].
    index: Option<HashMap<usize, usize>>,
}

impl<T: ?Sized> Default for SubSet<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: None,
        }
    }
}

impl<T: ?Sized> SubSet<T> {
    /// Number of members.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set has no members.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The members as a slice.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Arc<T>] {
        &self.items
    }

    /// Position of `a` in `items`, if it is a member.
    fn position(&self, a: &Arc<T>) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&addr(a)).copied(),
            None => self.items.iter().position(|x| Arc::ptr_eq(x, a)),
        }
    }

    /// Adds `a`; returns `false` (and changes nothing) if it is already a member.
    pub(crate) fn insert(&mut self, a: Arc<T>) -> bool {
        if self.position(&a).is_some() {
            return false;
        }
        let pos = self.items.len();
        if let Some(index) = &mut self.index {
            index.insert(addr(&a), pos);
        }
        self.items.push(a);
        if self.index.is_none() && self.items.len() > INDEX_MIN {
            self.index = Some(
                self.items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (addr(x), i))
                    .collect(),
            );
        }
        true
    }

    /// Removes `a`; returns `false` if it was not a member.
    pub(crate) fn remove(&mut self, a: &Arc<T>) -> bool {
        let Some(pos) = self.position(a) else {
            return false;
        };
        let removed = self.items.swap_remove(pos);
        if self.items.len() <= INDEX_DROP {
            self.index = None;
        } else if let Some(index) = &mut self.index {
            index.remove(&addr(&removed));
            if let Some(moved) = self.items.get(pos) {
                index.insert(addr(moved), pos);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_across_index_threshold() {
        let subs: Vec<Arc<u32>> = (0..200).map(Arc::new).collect();
        let mut set = SubSet::default();
        for s in &subs {
            assert!(set.insert(s.clone()));
            assert!(!set.insert(s.clone()), "duplicate must be refused");
        }
        assert_eq!(set.len(), 200);
        assert!(set.index.is_some());
        // Remove in an order that moves members around.
        for s in subs.iter().step_by(2) {
            assert!(set.remove(s));
            assert!(!set.remove(s));
        }
        assert_eq!(set.len(), 100);
        for s in subs.iter().skip(1).step_by(2) {
            assert!(set.position(s).is_some());
        }
        for s in subs.iter().skip(1).step_by(2) {
            assert!(set.remove(s));
        }
        assert!(set.is_empty());
        assert!(set.index.is_none());
        // A different allocation with an equal value is a different member.
        let a = Arc::new(7u32);
        let b = Arc::new(7u32);
        assert!(set.insert(a.clone()));
        assert!(set.insert(b.clone()));
        assert_eq!(set.as_slice().len(), 2);
        assert!(set.remove(&a));
        assert!(Arc::ptr_eq(&set.as_slice()[0], &b));
    }
}
