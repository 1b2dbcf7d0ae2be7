//! Randomized comparison of the cached sublist, the uncached one and a brute-force oracle;
//! concurrent use.

use super::*;

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
