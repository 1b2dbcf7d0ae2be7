//! Sublist matching: literals, `*` and `>` wildcards, several subscriptions, removal.

use super::*;

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
