//! The shared match cache: publish subject → match result, bounded, and kept exact on every
//! insert and remove.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::result::MatchResult;
use crate::subject::{subject_is_literal, subject_matches};

/// Most entries the cache holds before it is swept (nats-server `slCacheMax`).
///
/// A broker sees a working set of hot subjects; 1024 keeps those while bounding both memory
/// and the cost of the scan a wildcard insert or remove makes over every entry.
pub const CACHE_MAX: usize = 1024;

/// Entries kept, chosen at random, when a sweep runs (nats-server `slCacheSweep`).
///
/// Sweeping well below [`CACHE_MAX`] makes sweeps rare (one per 768 new subjects) when
/// subjects are unique, such as inboxes, instead of one per miss.
pub const CACHE_SWEEP: usize = 256;

/// Cached match results by publish subject. Not synchronized: the sublist wraps it in a lock.
pub(crate) struct MatchCache<T: ?Sized> {
    /// Results by the exact subject bytes that were matched.
    map: HashMap<Box<[u8]>, Arc<MatchResult<T>>>,
}

impl<T: ?Sized> MatchCache<T> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self {
            map: HashMap::new(),
        }
    }

    /// Number of cached subjects.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The cached result for `subject`; an `Arc` clone, no allocation.
    #[inline]
    pub(crate) fn get(&self, subject: &[u8]) -> Option<Arc<MatchResult<T>>> {
        self.map.get(subject).cloned()
    }

    /// Caches `result` for `subject`, sweeping if the cache grows past [`CACHE_MAX`].
    pub(crate) fn store(&mut self, subject: &[u8], result: Arc<MatchResult<T>>) {
        match self.map.get_mut(subject) {
            Some(slot) => *slot = result,
            None => {
                self.map.insert(subject.into(), result);
                if self.map.len() > CACHE_MAX {
                    self.sweep();
                }
            }
        }
    }

    /// Keeps a uniformly random [`CACHE_SWEEP`] entries (selection sampling, Knuth's
    /// algorithm S: one pass, no allocation).
    fn sweep(&mut self) {
        let mut keep = CACHE_SWEEP;
        let mut left = self.map.len();
        self.map.retain(|_, _| {
            let kept = left > 0 && fastrand::usize(..left) < keep;
            left = left.saturating_sub(1);
            if kept {
                keep -= 1;
            }
            kept
        });
    }

    /// Adds a new subscription on `pattern` to every cached result whose subject it matches.
    ///
    /// Results are updated copy-on-write (`Arc::make_mut`): a result that a matcher still
    /// holds is cloned, one that only the cache holds is extended in place.
    pub(crate) fn add_sub(&mut self, pattern: &[u8], queue: Option<&Bytes>, sub: &Arc<T>) {
        if subject_is_literal(pattern) {
            if let Some(result) = self.map.get_mut(pattern) {
                Arc::make_mut(result).add_sub(queue, sub.clone());
            }
            return;
        }
        for (subject, result) in &mut self.map {
            if subject_matches(pattern, subject) {
                Arc::make_mut(result).add_sub(queue, sub.clone());
            }
        }
    }

    /// Drops every cached result whose subject `pattern` matches (a subscription on it was
    /// removed); the next match recomputes them.
    pub(crate) fn remove_sub(&mut self, pattern: &[u8]) {
        if subject_is_literal(pattern) {
            self.map.remove(pattern);
        } else {
            self.map
                .retain(|subject, _| !subject_matches(pattern, subject));
        }
    }

    /// Drops every entry.
    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }

    /// The cached subjects (tests only).
    #[cfg(test)]
    pub(crate) fn map_keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.map.keys().map(|k| &**k)
    }

    /// (entries, total fanout, max fanout) over the cached results, for `/subsz`.
    pub(crate) fn fanout_stats(&self) -> (usize, usize, usize) {
        self.map.values().fold((0, 0, 0), |(n, total, max), r| {
            let f = r.fanout();
            (n + 1, total + f, max.max(f))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_exactly_the_sweep_count() {
        let mut cache: MatchCache<u32> = MatchCache::new();
        let empty = Arc::new(MatchResult::new());
        for i in 0..CACHE_MAX {
            cache.store(format!("s.{i}").as_bytes(), empty.clone());
        }
        assert_eq!(cache.len(), CACHE_MAX);
        cache.store(b"one.more", empty.clone());
        assert_eq!(cache.len(), CACHE_SWEEP);
        // Storing an existing key never sweeps.
        let key = cache.map.keys().next().cloned().expect("non-empty");
        cache.store(&key, empty);
        assert_eq!(cache.len(), CACHE_SWEEP);
    }

    #[test]
    fn sweeps_pick_different_entries() {
        // Algorithm S is uniform: two sweeps of the same 1025 keys keep different sets
        // (the chance that they agree is negligible).
        let kept = || {
            let mut cache: MatchCache<u32> = MatchCache::new();
            let empty = Arc::new(MatchResult::new());
            for i in 0..=CACHE_MAX {
                cache.store(format!("s.{i}").as_bytes(), empty.clone());
            }
            let mut keys: Vec<_> = cache.map.into_keys().collect();
            keys.sort();
            keys
        };
        assert_ne!(kept(), kept());
    }

    #[test]
    fn shared_results_are_copied_not_mutated() {
        let mut cache: MatchCache<u32> = MatchCache::new();
        let empty = Arc::new(MatchResult::new());
        cache.store(b"foo.bar", empty.clone());
        cache.add_sub(b"foo.*", None, &Arc::new(1));
        assert!(empty.is_empty(), "the shared empty result must not change");
        assert_eq!(cache.get(b"foo.bar").map(|r| r.psubs.len()), Some(1));
        cache.remove_sub(b"foo.>");
        assert_eq!(cache.len(), 0);
    }
}
