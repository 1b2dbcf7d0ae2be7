//! Sublist semantics, each body run with the match cache on and off, plus a randomized
//! comparison of the cached sublist, the uncached one and a brute-force oracle.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::subject::{is_well_formed_subject, subject_matches};

/// A test subscription; identity is the `Arc`, the id is for readable assertions.
#[derive(Debug)]
struct Sub(u32);

fn sub(id: u32) -> Arc<Sub> {
    Arc::new(Sub(id))
}

/// A result in comparable form: sorted plain ids, and queue name → sorted member ids.
#[derive(Debug, PartialEq, Eq, Default)]
struct Norm {
    plain: Vec<u32>,
    queues: BTreeMap<Vec<u8>, Vec<u32>>,
}

fn norm(r: &MatchResult<Sub>) -> Norm {
    let mut plain: Vec<u32> = r.psubs.iter().map(|s| s.0).collect();
    plain.sort_unstable();
    let mut queues = BTreeMap::new();
    for g in &r.qsubs {
        assert!(!g.members.is_empty(), "empty queue group in result");
        let mut ids: Vec<u32> = g.members.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        assert!(
            queues.insert(g.name.to_vec(), ids).is_none(),
            "queue group listed twice"
        );
    }
    Norm { plain, queues }
}

/// Matches twice (a miss, then a hit when the cache is on) and checks both agree.
fn m(sl: &Sublist<Sub>, subject: &str) -> Norm {
    let first = norm(&sl.matches(subject.as_bytes()));
    let second = norm(&sl.matches(subject.as_bytes()));
    assert_eq!(
        first, second,
        "cached and fresh results differ for {subject:?}"
    );
    first
}

/// Plain ids matched by `subject`, asserting there are no queue groups.
fn plain(sl: &Sublist<Sub>, subject: &str) -> Vec<u32> {
    let n = m(sl, subject);
    assert!(
        n.queues.is_empty(),
        "unexpected queue groups for {subject:?}"
    );
    n.plain
}

fn ins(sl: &Sublist<Sub>, subject: &str, s: &Arc<Sub>) {
    sl.insert(subject.as_bytes(), None, s.clone())
        .expect("insert");
}

fn qins(sl: &Sublist<Sub>, subject: &str, queue: &str, s: &Arc<Sub>) {
    sl.insert(subject.as_bytes(), Some(queue.as_bytes()), s.clone())
        .expect("queue insert");
}

fn rm(sl: &Sublist<Sub>, subject: &str, s: &Arc<Sub>) {
    sl.remove(subject.as_bytes(), None, s).expect("remove");
}

fn qrm(sl: &Sublist<Sub>, subject: &str, queue: &str, s: &Arc<Sub>) {
    sl.remove(subject.as_bytes(), Some(queue.as_bytes()), s)
        .expect("queue remove");
}

fn queues(entries: &[(&str, &[u32])]) -> BTreeMap<Vec<u8>, Vec<u32>> {
    entries
        .iter()
        .map(|(q, ids)| (q.as_bytes().to_vec(), ids.to_vec()))
        .collect()
}

/// Runs `body` on a fresh sublist with the cache enabled and on one with it disabled, then
/// checks the trie's structural invariants.
fn both(body: fn(&Sublist<Sub>)) {
    for cache in [true, false] {
        let sl = Sublist::new(cache);
        body(&sl);
        sl.trie.read().check_invariants();
        if !cache {
            assert_eq!(sl.cache_len(), 0);
        }
    }
}

mod edges;
mod groups_cache;
mod matching;
mod random;
