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

fn literal_body(sl: &Sublist<Sub>) {
    let (s1, s2) = (sub(1), sub(2));
    ins(sl, "foo", &s1);
    assert_eq!(plain(sl, "foo"), [1]);
    assert_eq!(plain(sl, "bar"), [0u32; 0]);
    assert_eq!(plain(sl, "foo.bar"), [0u32; 0]);
    assert_eq!(plain(sl, "fo"), [0u32; 0]);
    ins(sl, "foo.bar", &s2);
    assert_eq!(plain(sl, "foo.bar"), [2]);
    assert_eq!(plain(sl, "foo"), [1]);
    assert_eq!(sl.count(), 2);
}

#[test]
fn literal() {
    both(literal_body);
}

fn pwc_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..5).map(sub).collect();
    ins(sl, "foo.*", &s[1]);
    ins(sl, "*.bar", &s[2]);
    ins(sl, "*", &s[3]);
    ins(sl, "foo.*.baz", &s[4]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2]);
    assert_eq!(plain(sl, "foo"), [3]);
    assert_eq!(plain(sl, "foo.x.baz"), [4]);
    assert_eq!(plain(sl, "foo.x.y"), [0u32; 0]);
    assert_eq!(plain(sl, "a.bar"), [2]);
    assert_eq!(plain(sl, "foo.baz"), [1]);
}

#[test]
fn partial_wildcard() {
    both(pwc_body);
}

fn fwc_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..4).map(sub).collect();
    ins(sl, ">", &s[1]);
    ins(sl, "foo.>", &s[2]);
    ins(sl, "foo.bar.>", &s[3]);
    assert_eq!(plain(sl, "foo"), [1]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2]);
    assert_eq!(plain(sl, "foo.bar.baz"), [1, 2, 3]);
    assert_eq!(plain(sl, "foo.bar.baz.qux"), [1, 2, 3]);
    assert_eq!(plain(sl, "bar.x"), [1]);
}

#[test]
fn full_wildcard() {
    both(fwc_body);
}

fn fwc_needs_a_token_body(sl: &Sublist<Sub>) {
    let s1 = sub(1);
    ins(sl, "foo.>", &s1);
    assert_eq!(plain(sl, "foo"), [0u32; 0]);
    assert_eq!(plain(sl, "foo.x"), [1]);
    assert_eq!(plain(sl, "foo.x.y"), [1]);
}

#[test]
fn fwc_does_not_match_parent() {
    both(fwc_needs_a_token_body);
}

fn mixed_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..8).map(sub).collect();
    ins(sl, "foo.bar", &s[1]);
    ins(sl, "foo.*", &s[2]);
    ins(sl, "*.bar", &s[3]);
    ins(sl, "*.*", &s[4]);
    ins(sl, "foo.*.>", &s[5]);
    ins(sl, "*.>", &s[6]);
    ins(sl, ">", &s[7]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2, 3, 4, 6, 7]);
    assert_eq!(plain(sl, "foo.baz"), [2, 4, 6, 7]);
    assert_eq!(plain(sl, "foo.bar.baz"), [5, 6, 7]);
    assert_eq!(plain(sl, "x.bar"), [3, 4, 6, 7]);
    assert_eq!(plain(sl, "foo"), [7]);
    // One subscription reachable through several of its own patterns is listed per pattern.
    ins(sl, "foo.bar.baz", &s[1]);
    assert_eq!(plain(sl, "foo.bar.baz"), [1, 5, 6, 7]);
    ins(sl, "foo.>", &s[1]);
    assert_eq!(plain(sl, "foo.bar.baz"), [1, 1, 5, 6, 7]);
}

#[test]
fn mixed_wildcards() {
    both(mixed_body);
}

fn publish_wildcard_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..8).map(sub).collect();
    ins(sl, "foo.bar", &s[1]);
    ins(sl, "foo.*", &s[2]);
    ins(sl, "foo.>", &s[3]);
    ins(sl, "*.*", &s[4]);
    ins(sl, ">", &s[5]);
    ins(sl, "foo.baz", &s[6]);
    ins(sl, "*", &s[7]);
    // Wildcards in a publish subject are literal tokens: only wildcard subs receive them.
    assert_eq!(plain(sl, "foo.*"), [2, 3, 4, 5]);
    assert_eq!(plain(sl, "foo.>"), [2, 3, 4, 5]);
    assert_eq!(plain(sl, "*"), [5, 7]);
    assert_eq!(plain(sl, ">"), [5, 7]);
    assert_eq!(plain(sl, "*.bar"), [4, 5]);
    // Inserting a literal sub on `foo.bar` must not reach the cached `foo.*` entry.
    let s8 = sub(8);
    ins(sl, "foo.bar", &s8);
    assert_eq!(plain(sl, "foo.*"), [2, 3, 4, 5]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2, 3, 4, 5, 8]);
}

#[test]
fn publish_to_wildcard_subject_is_literal() {
    both(publish_wildcard_body);
}

fn multiple_subs_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..100).map(sub).collect();
    for x in &s {
        ins(sl, "foo.bar", x);
    }
    assert_eq!(sl.count(), 100);
    assert_eq!(plain(sl, "foo.bar"), (0..100).collect::<Vec<_>>());
    // Inserting the same subscription again is a no-op.
    let generation = sl.generation();
    ins(sl, "foo.bar", &s[7]);
    assert_eq!(sl.count(), 100);
    assert_eq!(sl.generation(), generation);
    assert_eq!(plain(sl, "foo.bar").len(), 100);
    // Remove every other one (exercises the indexed set and cache updates).
    for x in s.iter().step_by(2) {
        rm(sl, "foo.bar", x);
    }
    assert_eq!(
        plain(sl, "foo.bar"),
        (1..100).step_by(2).collect::<Vec<_>>()
    );
    assert_eq!(sl.count(), 50);
}

#[test]
fn multiple_subs_on_one_subject() {
    both(multiple_subs_body);
}

fn removal_body(sl: &Sublist<Sub>) {
    let (s1, s2, other) = (sub(1), sub(2), sub(1));
    ins(sl, "foo.bar", &s1);
    ins(sl, "foo.*", &s2);
    assert_eq!(plain(sl, "foo.bar"), [1, 2]);
    // Identity is the Arc, not the value.
    assert_eq!(
        sl.remove(b"foo.bar", None, &other),
        Err(SublistError::NotFound)
    );
    assert_eq!(
        sl.remove(b"foo.bar", Some(b"q"), &s1),
        Err(SublistError::NotFound)
    );
    assert_eq!(
        sl.remove(b"foo.baz", None, &s1),
        Err(SublistError::NotFound)
    );
    assert_eq!(sl.remove(b"foo", None, &s1), Err(SublistError::NotFound));
    assert_eq!(
        sl.remove(b"foo.bar.baz", None, &s1),
        Err(SublistError::NotFound)
    );
    assert_eq!(sl.remove(b"foo.>", None, &s2), Err(SublistError::NotFound));
    assert_eq!(
        sl.remove(b"foo..bar", None, &s1),
        Err(SublistError::InvalidSubject)
    );
    assert_eq!(sl.remove(b"", None, &s1), Err(SublistError::InvalidSubject));
    rm(sl, "foo.bar", &s1);
    assert_eq!(
        sl.remove(b"foo.bar", None, &s1),
        Err(SublistError::NotFound)
    );
    assert_eq!(plain(sl, "foo.bar"), [2]);
    rm(sl, "foo.*", &s2);
    assert_eq!(plain(sl, "foo.bar"), [0u32; 0]);
    assert_eq!(sl.count(), 0);
    assert_eq!(sl.trie.read().node_count(), 1, "empty nodes are pruned");

    // Pruning stops at a node that still holds something.
    ins(sl, "a.b.c.d", &s1);
    ins(sl, "a.b", &s2);
    ins(sl, "a.*.c", &s2);
    assert_eq!(sl.trie.read().node_count(), 7);
    rm(sl, "a.b.c.d", &s1);
    assert_eq!(sl.trie.read().node_count(), 5);
    assert_eq!(plain(sl, "a.b"), [2]);
    assert_eq!(plain(sl, "a.b.c"), [2]);
    rm(sl, "a.*.c", &s2);
    assert_eq!(sl.trie.read().node_count(), 3);
    rm(sl, "a.b", &s2);
    assert_eq!(sl.trie.read().node_count(), 1);
    assert_eq!(sl.stats().num_removes, 5);
}

#[test]
fn removal() {
    both(removal_body);
}

fn queue_groups_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..10).map(sub).collect();
    ins(sl, "foo", &s[1]);
    ins(sl, "foo", &s[2]);
    qins(sl, "foo", "q1", &s[3]);
    qins(sl, "foo", "q1", &s[4]);
    qins(sl, "foo", "q2", &s[5]);
    qins(sl, "*", "q3", &s[6]);
    qins(sl, "foo.*", "q1", &s[7]);
    assert_eq!(sl.count(), 7);
    let n = m(sl, "foo");
    assert_eq!(n.plain, [1, 2]);
    assert_eq!(
        n.queues,
        queues(&[("q1", &[3, 4]), ("q2", &[5]), ("q3", &[6])])
    );
    assert_eq!(m(sl, "foo.bar").queues, queues(&[("q1", &[7])]));
    assert_eq!(m(sl, "bar").queues, queues(&[("q3", &[6])]));

    // Groups merge by name across subjects.
    qins(sl, "foo.bar", "q1", &s[8]);
    qins(sl, ">", "q1", &s[9]);
    assert_eq!(m(sl, "foo.bar").queues, queues(&[("q1", &[7, 8, 9])]));
    // The same Arc may be a plain sub and a queue member, and in two groups.
    qins(sl, "foo", "q2", &s[1]);
    let n = m(sl, "foo");
    assert_eq!(n.plain, [1, 2]);
    assert_eq!(
        n.queues,
        queues(&[("q1", &[3, 4, 9]), ("q2", &[1, 5]), ("q3", &[6])])
    );

    // Removing the last member removes the group.
    qrm(sl, "foo", "q2", &s[5]);
    qrm(sl, "foo", "q2", &s[1]);
    assert_eq!(
        sl.remove(b"foo", Some(b"q2"), &s[1]),
        Err(SublistError::NotFound)
    );
    let n = m(sl, "foo");
    assert_eq!(n.plain, [1, 2]);
    assert_eq!(n.queues, queues(&[("q1", &[3, 4, 9]), ("q3", &[6])]));
    // A plain remove does not touch the queue membership of the same subject.
    assert_eq!(sl.remove(b"foo", None, &s[3]), Err(SublistError::NotFound));
    qrm(sl, "foo", "q1", &s[3]);
    qrm(sl, "foo", "q1", &s[4]);
    qrm(sl, ">", "q1", &s[9]);
    qrm(sl, "*", "q3", &s[6]);
    let n = m(sl, "foo");
    assert_eq!(n.plain, [1, 2]);
    assert!(n.queues.is_empty());
    assert_eq!(m(sl, "foo.bar").queues, queues(&[("q1", &[7, 8])]));
}

#[test]
fn queue_groups() {
    both(queue_groups_body);
}

fn cache_maintenance_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..6).map(sub).collect();
    assert_eq!(m(sl, "foo.bar"), Norm::default());
    let before = sl.matches(b"foo.bar");
    // A wildcard insert that matches the cached subject is seen by the next match.
    ins(sl, "foo.*", &s[1]);
    assert_eq!(plain(sl, "foo.bar"), [1]);
    ins(sl, ">", &s[2]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2]);
    // A literal insert on the cached subject too; other subjects are unaffected.
    ins(sl, "foo.bar", &s[3]);
    assert_eq!(plain(sl, "foo.bar"), [1, 2, 3]);
    assert_eq!(plain(sl, "foo.baz"), [1, 2]);
    // A queue member is added to the cached result's group.
    qins(sl, "*.bar", "q", &s[4]);
    qins(sl, "foo.bar", "q", &s[5]);
    assert_eq!(m(sl, "foo.bar").queues, queues(&[("q", &[4, 5])]));
    // Results handed out earlier are snapshots: later changes do not alter them.
    assert!(before.is_empty());
    let held = sl.matches(b"foo.bar");
    rm(sl, "foo.*", &s[1]);
    assert_eq!(norm(&held).plain, [1, 2, 3]);
    // A remove is seen by the next match.
    let n = m(sl, "foo.bar");
    assert_eq!(n.plain, [2, 3]);
    assert_eq!(n.queues, queues(&[("q", &[4, 5])]));
    assert_eq!(plain(sl, "foo.baz"), [2]);
    qrm(sl, "*.bar", "q", &s[4]);
    assert_eq!(m(sl, "foo.bar").queues, queues(&[("q", &[5])]));
    rm(sl, ">", &s[2]);
    rm(sl, "foo.bar", &s[3]);
    qrm(sl, "foo.bar", "q", &s[5]);
    assert_eq!(m(sl, "foo.bar"), Norm::default());
    assert_eq!(plain(sl, "foo.baz"), [0u32; 0]);
    if sl.cache_enabled() {
        assert!(sl.cache_len() > 0);
    }
}

#[test]
fn cache_stays_correct_across_insert_and_remove() {
    both(cache_maintenance_body);
}

fn cache_bounded_body(sl: &Sublist<Sub>) {
    let (s1, s2) = (sub(1), sub(2));
    ins(sl, "foo.>", &s1);
    ins(sl, "foo.*.x", &s2);
    for i in 0..10_000 {
        let subject = format!("foo.{i}.x");
        assert_eq!(sl.matches(subject.as_bytes()).psubs.len(), 2);
        assert!(
            sl.cache_len() <= CACHE_MAX,
            "cache grew to {}",
            sl.cache_len()
        );
    }
    if sl.cache_enabled() {
        assert!(sl.cache_len() >= CACHE_SWEEP);
    }
    // Entries surviving the sweeps stay correct through later changes.
    rm(sl, "foo.*.x", &s2);
    for i in (0..10_000).step_by(7) {
        assert_eq!(plain(sl, &format!("foo.{i}.x")), [1]);
        assert!(sl.cache_len() <= CACHE_MAX);
    }
    assert!(sl.stats().num_cache <= CACHE_MAX as u64);
}

#[test]
fn cache_is_bounded() {
    both(cache_bounded_body);
}

fn stats_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..4).map(sub).collect();
    ins(sl, "foo", &s[1]);
    ins(sl, "foo", &s[2]);
    qins(sl, "foo", "q", &s[3]);
    qins(sl, "*", "q", &s[0]);
    ins(sl, "bar", &s[1]);
    rm(sl, "bar", &s[1]);
    assert!(sl.insert(b"foo..bar", None, s[1].clone()).is_err());
    assert!(sl.remove(b"nope", None, &s[1]).is_err());
    assert_eq!(sl.count(), 4);
    sl.matches(b"foo");
    sl.matches(b"foo");
    sl.matches(b"baz");
    sl.matches(b"baz");
    let st = sl.stats();
    assert_eq!(st.num_subscriptions, 4);
    assert_eq!(st.num_inserts, 5);
    assert_eq!(st.num_removes, 1);
    assert_eq!(st.num_matches, 4);
    if sl.cache_enabled() {
        assert_eq!(st.num_cache, 2);
        assert_eq!(st.cache_hit_rate, 0.5);
        // foo: 2 plain + 1 group ("q" merges foo and *), baz: 1 group.
        assert_eq!(st.max_fanout, 3);
        assert_eq!(st.avg_fanout, 2.0);
    } else {
        assert_eq!(st.num_cache, 0);
        assert_eq!(st.cache_hit_rate, 0.0);
        assert_eq!(st.max_fanout, 0);
        assert_eq!(st.avg_fanout, 0.0);
    }
}

#[test]
fn counts_and_stats() {
    both(stats_body);
}

fn generation_body(sl: &Sublist<Sub>) {
    let (s1, s2) = (sub(1), sub(2));
    let g0 = sl.generation();
    ins(sl, "foo", &s1);
    assert_eq!(sl.generation(), g0 + 1);
    qins(sl, "foo.*", "q", &s2);
    assert_eq!(sl.generation(), g0 + 2);
    sl.matches(b"foo");
    assert!(sl.insert(b"foo.", None, s1.clone()).is_err());
    assert!(sl.remove(b"bar", None, &s1).is_err());
    assert_eq!(
        sl.generation(),
        g0 + 2,
        "failed operations and matches do not bump"
    );
    rm(sl, "foo", &s1);
    assert_eq!(sl.generation(), g0 + 3);
    ins(sl, "a", &s1);
    ins(sl, "b", &s1);
    let g = sl.generation();
    let batch = [
        (&b"a"[..], None, &s1),
        (b"b", None, &s1),
        (b"nope", None, &s1),
    ];
    assert_eq!(sl.remove_batch(batch), Err(SublistError::NotFound));
    assert_eq!(sl.generation(), g + 1);
}

#[test]
fn generation_bumps_on_change() {
    both(generation_body);
}

/// One entry of a `remove_batch` call.
type BatchItem<'a> = (&'a [u8], Option<&'a [u8]>, &'a Arc<Sub>);

fn remove_batch_body(sl: &Sublist<Sub>) {
    /// Subjects the batch's subscriptions are spread over.
    const SUBJECTS: [&str; 5] = ["foo", "foo.*", ">", "foo.bar", "a.b.c"];
    let s: Vec<_> = (0..20).map(sub).collect();
    // Subscription i is on SUBJECTS[i % 5], in queue "q" when i % 3 == 0.
    let entry = |i: usize| -> BatchItem<'_> {
        let queue: Option<&[u8]> = if i.is_multiple_of(3) {
            Some(b"q")
        } else {
            None
        };
        (SUBJECTS[i % SUBJECTS.len()].as_bytes(), queue, &s[i])
    };
    for i in 0..s.len() {
        let (subject, queue, x) = entry(i);
        sl.insert(subject, queue, x.clone()).expect("insert");
    }
    let total = |n: &Norm| n.plain.len() + n.queues.values().map(Vec::len).sum::<usize>();
    assert_eq!(total(&m(sl, "foo.bar")), 12);
    // Remove the odd ones; bad entries in the middle do not stop the batch, and the first
    // error is reported.
    let mut batch: Vec<BatchItem<'_>> = (1..s.len()).step_by(2).map(entry).collect();
    batch.insert(3, (b"foo..bar", None, &s[0]));
    batch.insert(5, (b"nope", None, &s[0]));
    assert_eq!(sl.remove_batch(batch), Err(SublistError::InvalidSubject));
    assert_eq!(sl.count(), 10);
    assert_eq!(sl.cache_len(), 0, "the batch empties the cache");
    let after = m(sl, "foo.bar");
    assert!(
        after
            .plain
            .iter()
            .chain(after.queues.values().flatten())
            .all(|id| id.is_multiple_of(2))
    );
    assert_eq!(total(&after), 6);
    assert_eq!(sl.remove_batch((0..s.len()).step_by(2).map(entry)), Ok(()));
    assert_eq!(sl.count(), 0);
    assert_eq!(sl.trie.read().node_count(), 1);
    assert_eq!(m(sl, "foo.bar"), Norm::default());
    assert_eq!(sl.remove_batch(std::iter::empty()), Ok(()));
}

#[test]
fn remove_batch() {
    both(remove_batch_body);
}

fn invalid_inputs_body(sl: &Sublist<Sub>) {
    let s1 = sub(1);
    for bad in [
        &b""[..],
        b".",
        b"foo..bar",
        b".foo",
        b"foo.",
        b"foo.>.bar",
        b">.>",
    ] {
        assert_eq!(
            sl.insert(bad, None, s1.clone()),
            Err(SublistError::InvalidSubject)
        );
    }
    for bad in [&b""[..], b"a b", b"a\tb", b"q\r\n"] {
        assert_eq!(
            sl.insert(b"foo", Some(bad), s1.clone()),
            Err(SublistError::InvalidQueue)
        );
    }
    assert_eq!(sl.count(), 0);
    assert_eq!(sl.generation(), 0);
    ins(sl, ">", &s1);
    // Publish subjects with empty tokens match nothing and are not cached.
    for bad in ["", ".", "foo..bar", ".foo", "foo.", ".."] {
        assert_eq!(plain(sl, bad), [0u32; 0], "{bad:?}");
    }
    assert_eq!(sl.cache_len(), 0);
    // Publish subjects are otherwise not validated (as nats-server).
    assert_eq!(plain(sl, "foo bar"), [1]);
    // nats-server's Insert does not check whitespace either; a SUB cannot carry space or
    // tab, but may carry e.g. a form feed.
    let s2 = sub(2);
    ins(sl, "foo\x0cbar", &s2);
    assert_eq!(plain(sl, "foo\x0cbar"), [1, 2]);
    rm(sl, "foo\x0cbar", &s2);
    // UTF-8 tokens are ordinary bytes.
    ins(sl, "gr\u{fc}\u{df}e.*", &s2);
    assert_eq!(plain(sl, "gr\u{fc}\u{df}e.\u{65e5}\u{672c}"), [1, 2]);
    assert_eq!(plain(sl, "gru\u{df}e.x"), [1]);
    // Non-UTF-8 bytes too.
    sl.insert(b"\xff.\xfe", None, s2.clone())
        .expect("insert raw bytes");
    assert_eq!(norm(&sl.matches(b"\xff.\xfe")).plain, [1, 2]);
}

#[test]
fn invalid_inputs_and_odd_bytes() {
    both(invalid_inputs_body);
}

fn deep_subjects_body(sl: &Sublist<Sub>) {
    /// Far deeper than any real subject: every walk is iterative, so nothing overflows.
    const DEPTH: usize = 50_000;
    let stars = vec!["*"; DEPTH].join(".");
    let letters = vec!["a"; DEPTH].join(".");
    let (s1, s2, s3) = (sub(1), sub(2), sub(3));
    ins(sl, &stars, &s1);
    ins(sl, &letters, &s2);
    ins(sl, &format!("{}.>", vec!["*"; DEPTH - 1].join(".")), &s3);
    assert_eq!(plain(sl, &letters), [1, 2, 3]);
    assert_eq!(plain(sl, &format!("{letters}.b")), [3]);
    assert_eq!(sl.collect_all().len(), 3);
    rm(sl, &stars, &s1);
    assert_eq!(plain(sl, &letters), [2, 3]);
    // The rest is dropped with the sublist (a flat arena: no recursive drop).
}

#[test]
fn deep_subjects() {
    both(deep_subjects_body);
}

fn collect_all_body(sl: &Sublist<Sub>) {
    let s: Vec<_> = (0..6).map(sub).collect();
    ins(sl, "foo", &s[0]);
    ins(sl, "foo.bar", &s[1]);
    qins(sl, "foo.bar", "q", &s[2]);
    ins(sl, "foo.*", &s[3]);
    qins(sl, ">", "r", &s[4]);
    ins(sl, "*.>", &s[5]);
    ins(sl, "foo", &s[5]);
    let mut all: Vec<(String, Option<String>, u32)> = sl
        .collect_all()
        .into_iter()
        .map(|(subject, queue, x)| {
            let q = queue.map(|q| String::from_utf8_lossy(&q).into_owned());
            (String::from_utf8_lossy(&subject).into_owned(), q, x.0)
        })
        .collect();
    all.sort();
    let want = [
        ("*.>", None, 5),
        (">", Some("r"), 4),
        ("foo", None, 0),
        ("foo", None, 5),
        ("foo.*", None, 3),
        ("foo.bar", None, 1),
        ("foo.bar", Some("q"), 2),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.map(str::to_string), *c))
        .collect();
    assert_eq!(all, want);
}

#[test]
fn collect_all() {
    both(collect_all_body);
}

fn arena_compaction_body(sl: &Sublist<Sub>) {
    // Many nodes, then remove most of them: the arena compacts and stays consistent.
    let s1 = sub(1);
    let keep: Vec<String> = (0..50).map(|i| format!("keep.{i}.x")).collect();
    for subject in &keep {
        ins(sl, subject, &s1);
    }
    for i in 0..3000 {
        ins(sl, &format!("tmp.{i}.y.z"), &s1);
    }
    let peak = sl.trie.read().arena_len();
    for i in 0..3000 {
        rm(sl, &format!("tmp.{i}.y.z"), &s1);
    }
    sl.trie.read().check_invariants();
    assert!(
        sl.trie.read().arena_len() < peak / 2,
        "arena was not compacted"
    );
    for subject in &keep {
        assert_eq!(plain(sl, subject), [1]);
    }
    assert_eq!(plain(sl, "tmp.1.y.z"), [0u32; 0]);
}

#[test]
fn arena_compaction() {
    both(arena_compaction_body);
}

/// A subscription in the randomized test's model: (pattern, queue, id).
type Entry = (Vec<u8>, Option<Vec<u8>>, u32);

/// Brute-force oracle over the model's entries.
fn oracle(model: &[Entry], subject: &[u8]) -> Norm {
    let mut out = Norm::default();
    for (pattern, queue, id) in model {
        if subject_matches(pattern, subject) {
            match queue {
                None => out.plain.push(*id),
                Some(q) => out.queues.entry(q.clone()).or_default().push(*id),
            }
        }
    }
    out.plain.sort_unstable();
    for ids in out.queues.values_mut() {
        ids.sort_unstable();
    }
    out
}

/// A random subject of 1–4 tokens; with `odd`, occasionally an empty token.
fn random_subject(rng: &mut fastrand::Rng, alphabet: &[&str], odd: bool) -> Vec<u8> {
    let n = rng.usize(1..=4);
    let toks: Vec<&str> = (0..n)
        .map(|_| {
            if odd && rng.u8(..40) == 0 {
                ""
            } else {
                alphabet[rng.usize(..alphabet.len())]
            }
        })
        .collect();
    toks.join(".").into_bytes()
}

#[test]
fn randomized_against_oracle() {
    /// Few tokens, so random patterns and subjects collide often; `*` and `>` are wildcards
    /// in patterns and literal tokens in publish subjects.
    const TOKENS: &[&str] = &["a", "b", "c", "d", "ab", "*", ">"];
    /// Plain subscriptions half the time, else one of two groups.
    const QUEUES: &[Option<&[u8]>] = &[None, None, Some(b"q1"), Some(b"q2")];
    for seed in 0..4u64 {
        let mut rng = fastrand::Rng::with_seed(0x5eed_0000 + seed);
        let cached: Sublist<Sub> = Sublist::new(true);
        let uncached: Sublist<Sub> = Sublist::new(false);
        let subs: Vec<Arc<Sub>> = (0..12).map(sub).collect();
        let mut model: Vec<Entry> = Vec::new();
        for step in 0..10_000 {
            match rng.u8(..10) {
                0..=2 => {
                    let subject = random_subject(&mut rng, TOKENS, true);
                    let queue = QUEUES[rng.usize(..QUEUES.len())];
                    let x = &subs[rng.usize(..subs.len())];
                    let want = if is_well_formed_subject(&subject) {
                        Ok(())
                    } else {
                        Err(SublistError::InvalidSubject)
                    };
                    assert_eq!(cached.insert(&subject, queue, x.clone()), want);
                    assert_eq!(uncached.insert(&subject, queue, x.clone()), want);
                    let entry = (subject, queue.map(<[u8]>::to_vec), x.0);
                    if want.is_ok() && !model.contains(&entry) {
                        model.push(entry);
                    }
                }
                3..=4 => {
                    let (subject, queue, id) = if !model.is_empty() && rng.bool() {
                        model[rng.usize(..model.len())].clone()
                    } else {
                        let subject = random_subject(&mut rng, TOKENS, true);
                        let queue = QUEUES[rng.usize(..QUEUES.len())].map(<[u8]>::to_vec);
                        (subject, queue, rng.u32(..subs.len() as u32))
                    };
                    let x = &subs[id as usize];
                    let pos = model
                        .iter()
                        .position(|e| *e == (subject.clone(), queue.clone(), id));
                    let want = match pos {
                        Some(p) => {
                            model.swap_remove(p);
                            Ok(())
                        }
                        None if is_well_formed_subject(&subject) => Err(SublistError::NotFound),
                        None => Err(SublistError::InvalidSubject),
                    };
                    if rng.u8(..8) == 0 {
                        assert_eq!(
                            cached.remove_batch([(&subject[..], queue.as_deref(), x)]),
                            want
                        );
                    } else {
                        assert_eq!(cached.remove(&subject, queue.as_deref(), x), want);
                    }
                    assert_eq!(uncached.remove(&subject, queue.as_deref(), x), want);
                }
                _ => {
                    // Publish subjects draw from the same tokens: `*` and `>` are literal here.
                    let subject = random_subject(&mut rng, TOKENS, true);
                    let want = oracle(&model, &subject);
                    let shown = String::from_utf8_lossy(&subject);
                    assert_eq!(
                        norm(&cached.matches(&subject)),
                        want,
                        "cached {shown} @{step}"
                    );
                    assert_eq!(norm(&uncached.matches(&subject)), want, "uncached {shown}");
                }
            }
            assert_eq!(cached.count(), model.len());
            assert_eq!(uncached.count(), model.len());
            assert!(cached.cache_len() <= CACHE_MAX);
            if step % 1000 == 0 {
                cached.trie.read().check_invariants();
                uncached.trie.read().check_invariants();
            }
        }
        // Refill the cache (the last operation may have been a batch that emptied it), then
        // check that everything cached still equals the oracle.
        for _ in 0..200 {
            cached.matches(&random_subject(&mut rng, TOKENS, false));
        }
        let keys: Vec<Vec<u8>> = cached.cache.as_ref().map_or(Vec::new(), |c| {
            c.read().map_keys().map(<[u8]>::to_vec).collect()
        });
        assert!(!keys.is_empty());
        for key in keys {
            let hit = cached
                .cache
                .as_ref()
                .and_then(|c| c.read().get(&key))
                .expect("cached");
            assert_eq!(norm(&hit), oracle(&model, &key));
        }
        let stats = cached.stats();
        assert!(stats.cache_hit_rate > 0.0);
    }
}

#[test]
fn sublist_is_send_and_sync() {
    fn assert_send_sync<S: Send + Sync>() {}
    assert_send_sync::<Sublist<Sub>>();
    assert_send_sync::<Arc<MatchResult<Sub>>>();
    assert_send_sync::<Sublist<dyn std::fmt::Debug + Send + Sync>>();
}

#[test]
fn concurrent_use_stays_consistent() {
    /// Enough threads to interleave writers and readers on a 2-core runner.
    const THREADS: u32 = 4;
    /// Overlapping patterns, so every thread's changes touch the same cache entries.
    const PATTERNS: &[&str] = &["a.b", "a.*", "*.b", "a.>", ">", "a.b.c", "*.*.c"];
    /// Publish subjects the patterns above do and do not match.
    const SUBJECTS: &[&str] = &["a.b", "a.c", "x.b", "a.b.c", "a.x.c", "z"];
    let sl: Arc<Sublist<Sub>> = Arc::new(Sublist::new(true));
    let fixed = sub(1000);
    ins(&sl, "a.>", &fixed);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let sl = Arc::clone(&sl);
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(u64::from(t));
                let mine: Vec<Arc<Sub>> = (0..20).map(|i| sub(t * 100 + i)).collect();
                for round in 0..300 {
                    for (i, x) in mine.iter().enumerate() {
                        let p = PATTERNS[(i + round) % PATTERNS.len()];
                        sl.insert(p.as_bytes(), None, x.clone()).expect("insert");
                        let subject = SUBJECTS[rng.usize(..SUBJECTS.len())];
                        let r = sl.matches(subject.as_bytes());
                        // Our own subscription is visible once inserted.
                        if subject_matches(p.as_bytes(), subject.as_bytes()) {
                            assert!(r.psubs.iter().any(|s| Arc::ptr_eq(s, x)));
                        }
                    }
                    for (i, x) in mine.iter().enumerate() {
                        let p = PATTERNS[(i + round) % PATTERNS.len()];
                        sl.remove(p.as_bytes(), None, x).expect("remove");
                        let subject = SUBJECTS[rng.usize(..SUBJECTS.len())];
                        let r = sl.matches(subject.as_bytes());
                        // ... and gone once removed.
                        assert!(!r.psubs.iter().any(|s| Arc::ptr_eq(s, x)));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker panicked");
    }
    assert_eq!(sl.count(), 1);
    for subject in SUBJECTS {
        let want: &[u32] = if subject.starts_with("a.") {
            &[1000]
        } else {
            &[]
        };
        assert_eq!(plain(&sl, subject), want);
    }
    sl.trie.read().check_invariants();
}
