//! Sublist queue groups, match cache upkeep and bounds, counts and the generation counter.

use super::*;

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
