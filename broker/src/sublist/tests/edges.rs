//! Sublist batch removal, invalid and odd inputs, deep subjects, collect_all, arena compaction.

use super::*;

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
