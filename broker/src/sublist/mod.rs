//! The subscription index ("sublist"): subjects with wildcards → subscriptions, with queue
//! groups and a shared match cache, following nats-server's `server/sublist.go`.
//!
//! # Layout
//!
//! * `trie`: one node per token with a literal-children map and separate `*` and `>`
//!   slots; plain subscriptions and queue groups (by name) per node; empty nodes are pruned.
//! * `cache`: publish subject → [`MatchResult`], bounded (1024, random sweep to 256), and
//!   kept exact: an insert adds the new subscription to every cached result whose subject
//!   it matches, a remove drops those results.
//! * `result`, `subset`, `stats`: result types, per-node subscription sets, `/subsz` figures.
//!
//! # Locking
//!
//! Two `parking_lot` locks, always taken in the order trie → cache:
//!
//! * a cache hit takes only the cache's read lock, clones an `Arc` and returns: no
//!   allocation, no trie access;
//! * a miss walks the trie under its read lock (misses run in parallel) and, still holding
//!   it, stores the result under a short cache write lock;
//! * insert and remove hold the trie's write lock while they change the trie and then the
//!   cache, so no miss can compute a result from the old trie and store it after the cache
//!   was updated: the cache never serves a stale result.
//!
//! Subscriptions are `Arc<T>` compared by pointer (`Arc::ptr_eq`); the sublist never looks
//! inside `T`. The sublist may drop its clones of an `Arc<T>` while holding its locks, so
//! `T`'s `Drop` must not call back into the same sublist.

mod cache;
mod result;
mod stats;
mod subset;
mod trie;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

pub use self::cache::{CACHE_MAX, CACHE_SWEEP};
pub use self::result::{MatchResult, QueueGroup};
pub use self::stats::SublistStats;

use self::cache::MatchCache;
use self::result::ResultBuilder;
use self::trie::Trie;
use crate::subject::{is_valid_queue_name, is_well_formed_subject, tokens};

/// Errors of sublist operations (the messages are nats-server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SublistError {
    /// The subject has an empty token or a `>` that is not last.
    #[error("sublist: invalid subject")]
    InvalidSubject,
    /// The queue name is empty or contains whitespace.
    #[error("sublist: invalid queue name")]
    InvalidQueue,
    /// No such subscription (subject, queue and `Arc` identity) to remove.
    #[error("sublist: no matches found")]
    NotFound,
}

/// The subscription index of one account: subscriptions by subject, matched against
/// publish subjects. See the [module documentation](self) for the design.
pub struct Sublist<T: ?Sized> {
    /// Subscriptions.
    trie: RwLock<Trie<T>>,
    /// Match cache; `None` when disabled (nats-server's `no_sublist_cache`).
    cache: Option<RwLock<MatchCache<T>>>,
    /// The shared empty result, returned without allocating when nothing matches.
    empty: Arc<MatchResult<T>>,
    /// Subscriptions in the trie; written under the trie write lock, read without it.
    count: AtomicUsize,
    /// Bumped after every change; see [`Sublist::generation`].
    generation: AtomicU64,
    /// Successful inserts.
    inserts: AtomicU64,
    /// Successful removes.
    removes: AtomicU64,
    /// Calls to `matches`.
    matches: AtomicU64,
    /// Calls to `matches` answered from the cache.
    cache_hits: AtomicU64,
}

impl<T: ?Sized> Sublist<T> {
    /// An empty sublist, with or without the match cache. nats-server enables the cache
    /// unless `no_sublist_cache` is set; disabling it helps only when interest changes
    /// faster than subjects repeat.
    pub fn new(cache_enabled: bool) -> Self {
        Self {
            trie: RwLock::new(Trie::new()),
            cache: cache_enabled.then(|| RwLock::new(MatchCache::new())),
            empty: Arc::new(MatchResult::new()),
            count: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            removes: AtomicU64::new(0),
            matches: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    /// Whether the match cache is enabled.
    pub fn cache_enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// Adds subscription `sub` on `subject`, in queue group `queue` if given.
    ///
    /// Inserting the same `Arc` again with the same subject and queue changes nothing and
    /// returns `Ok` (the sublist is a set, as nats-server's).
    ///
    /// # Errors
    ///
    /// [`SublistError::InvalidSubject`] unless the subject is well formed (non-empty tokens,
    /// `>` only last; the check nats-server's `Insert` makes, see
    /// [`is_well_formed_subject`]); [`SublistError::InvalidQueue`] for an empty queue name or
    /// one with whitespace.
    pub fn insert(
        &self,
        subject: &[u8],
        queue: Option<&[u8]>,
        sub: Arc<T>,
    ) -> Result<(), SublistError> {
        if !is_well_formed_subject(subject) {
            return Err(SublistError::InvalidSubject);
        }
        let queue = match queue {
            Some(q) if !is_valid_queue_name(q) => return Err(SublistError::InvalidQueue),
            q => q.map(Bytes::copy_from_slice),
        };
        let mut trie = self.trie.write();
        if !trie.insert(subject, queue.as_ref(), sub.clone()) {
            return Ok(());
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.inserts.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            cache.write().add_sub(subject, queue.as_ref(), &sub);
        }
        self.generation.fetch_add(1, Ordering::Release);
        drop(trie);
        Ok(())
    }

    /// Removes subscription `sub` (same `Arc`) from `subject` and queue group `queue`.
    ///
    /// # Errors
    ///
    /// [`SublistError::InvalidSubject`] for a subject that is not well formed,
    /// [`SublistError::NotFound`] when there is no such subscription.
    pub fn remove(
        &self,
        subject: &[u8],
        queue: Option<&[u8]>,
        sub: &Arc<T>,
    ) -> Result<(), SublistError> {
        if !is_well_formed_subject(subject) {
            return Err(SublistError::InvalidSubject);
        }
        let mut trie = self.trie.write();
        if !trie.remove(subject, queue, sub) {
            return Err(SublistError::NotFound);
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
        self.removes.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            cache.write().remove_sub(subject);
        }
        self.generation.fetch_add(1, Ordering::Release);
        drop(trie);
        Ok(())
    }

    /// Removes many subscriptions under one lock, such as all of a closing connection's.
    ///
    /// Instead of fixing the cache per subscription, the cache is emptied once at the end
    /// (nats-server's `RemoveBatch`), and the generation is bumped once.
    ///
    /// # Errors
    ///
    /// Every subscription is attempted; the first error ([`SublistError::InvalidSubject`] or
    /// [`SublistError::NotFound`]) is returned.
    pub fn remove_batch<'a, I>(&self, subs: I) -> Result<(), SublistError>
    where
        I: IntoIterator<Item = (&'a [u8], Option<&'a [u8]>, &'a Arc<T>)>,
        T: 'a,
    {
        let mut first_err = None;
        let mut removed = 0usize;
        let mut trie = self.trie.write();
        for (subject, queue, sub) in subs {
            let outcome = if !is_well_formed_subject(subject) {
                Err(SublistError::InvalidSubject)
            } else if trie.remove(subject, queue, sub) {
                Ok(())
            } else {
                Err(SublistError::NotFound)
            };
            match outcome {
                Ok(()) => removed += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if removed > 0 {
            self.count.fetch_sub(removed, Ordering::Relaxed);
            self.removes.fetch_add(removed as u64, Ordering::Relaxed);
            if let Some(cache) = &self.cache {
                cache.write().clear();
            }
            self.generation.fetch_add(1, Ordering::Release);
        }
        drop(trie);
        first_err.map_or(Ok(()), Err)
    }

    /// Everything the publish subject `subject` reaches.
    ///
    /// `subject` is taken as a literal: a `*` or `>` token in it matches only wildcard
    /// subscriptions (`foo.*` and `foo.>` receive a publish to `foo.*`; `foo.bar` does not).
    /// A subject with an empty token (`""`, `.foo`, `foo..bar`, `foo.`) matches nothing and
    /// is not cached. On a cache hit this takes one read lock and clones an `Arc`.
    pub fn matches(&self, subject: &[u8]) -> Arc<MatchResult<T>> {
        self.matches.fetch_add(1, Ordering::Relaxed);
        if let Some(cache) = &self.cache {
            let hit = cache.read().get(subject);
            if let Some(result) = hit {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                return result;
            }
        }
        let mut toks: Vec<&[u8]> = Vec::new();
        for token in tokens(subject) {
            if token.is_empty() {
                return self.empty.clone();
            }
            toks.push(token);
        }
        let trie = self.trie.read();
        let mut builder = ResultBuilder::new();
        trie.match_tokens(&toks, &mut builder);
        let result = builder.finish();
        let result = if result.is_empty() {
            self.empty.clone()
        } else {
            Arc::new(result)
        };
        if let Some(cache) = &self.cache {
            // Still under the trie read lock: no insert or remove can slip in between the
            // walk and the store (they update the cache under the trie write lock).
            cache.write().store(subject, result.clone());
        }
        drop(trie);
        result
    }

    /// Number of subscriptions.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// A counter bumped after every successful insert or remove.
    ///
    /// A per-connection result cache stays valid while this is unchanged: read the
    /// generation *before* calling [`Sublist::matches`] and store the result under that
    /// value. The bump happens after the trie and the cache have changed (release/acquire
    /// ordering), so a result stored under the old value is always detected as stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Number of subjects in the match cache (0 when disabled).
    pub fn cache_len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.read().len())
    }

    /// A snapshot of the statistics `/subsz` reports.
    pub fn stats(&self) -> SublistStats {
        let fanout = self
            .cache
            .as_ref()
            .map(|c| c.read().fanout_stats())
            .unwrap_or_default();
        SublistStats::from_counters(
            self.count() as u64,
            self.inserts.load(Ordering::Relaxed),
            self.removes.load(Ordering::Relaxed),
            self.matches.load(Ordering::Relaxed),
            self.cache_hits.load(Ordering::Relaxed),
            fanout,
        )
    }

    /// Every subscription as (subject, queue, subscription), in no particular order.
    pub fn collect_all(&self) -> Vec<(Bytes, Option<Bytes>, Arc<T>)> {
        self.trie.read().collect_all()
    }
}

impl<T: ?Sized> Default for Sublist<T> {
    /// A sublist with the cache enabled, nats-server's default.
    fn default() -> Self {
        Self::new(true)
    }
}

impl<T: ?Sized> fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sublist")
            .field("count", &self.count())
            .field("cache_enabled", &self.cache_enabled())
            .field("cache_len", &self.cache_len())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}
