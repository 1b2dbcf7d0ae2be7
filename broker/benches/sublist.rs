//! Criterion micro-benchmarks of sublist matching, with and without the match cache, for
//! literal and wildcard subjects, over 10k+ subscriptions.
//!
//! Run with `cargo bench -p rnats-broker --bench sublist`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rnats_broker::sublist::Sublist;

/// Literal subscriptions: `orders.<region>.<id>` for 100 regions × 128 ids = 12,800.
const REGIONS: usize = 100;
const IDS: usize = 128;
/// Distinct publish subjects cycled through per measured batch (fits the 1024-entry cache).
const SUBJECTS: usize = 512;

/// A sublist with 12,800 literal subscriptions and, with `wildcards`, 100 `orders.<r>.*`,
/// 10 `orders.*.<id>`, one `orders.>` and a queue group of 4 on `orders.*.*`.
fn build(cache: bool, wildcards: bool) -> Sublist<u32> {
    let sl = Sublist::new(cache);
    let mut n = 0u32;
    let mut add = |subject: &str, queue: Option<&[u8]>| {
        n += 1;
        if sl.insert(subject.as_bytes(), queue, Arc::new(n)).is_err() {
            panic!("insert {subject}");
        }
    };
    for r in 0..REGIONS {
        for i in 0..IDS {
            add(&format!("orders.r{r}.{i}"), None);
        }
    }
    if wildcards {
        for r in 0..REGIONS {
            add(&format!("orders.r{r}.*"), None);
        }
        for i in 0..10 {
            add(&format!("orders.*.{i}"), None);
        }
        add("orders.>", None);
        for _ in 0..4 {
            add("orders.*.*", Some(b"workers"));
        }
    }
    sl
}

/// `SUBJECTS` publish subjects spread over the literal subscriptions; `miss` ones match no
/// literal subscription (`orders.r<r>.none<i>`).
fn subjects(miss: bool) -> Vec<Vec<u8>> {
    (0..SUBJECTS)
        .map(|k| {
            let (r, i) = ((k * 7) % REGIONS, (k * 13) % IDS);
            if miss {
                format!("orders.r{r}.none{i}").into_bytes()
            } else {
                format!("orders.r{r}.{i}").into_bytes()
            }
        })
        .collect()
}

fn bench_match(c: &mut Criterion) {
    let mut group = c.benchmark_group("sublist_match");
    group.throughput(Throughput::Elements(SUBJECTS as u64));
    for (label, wildcards) in [("literal_subs", false), ("with_wildcards", true)] {
        for cache in [true, false] {
            let sl = build(cache, wildcards);
            for miss in [false, true] {
                let subs = subjects(miss);
                let name = format!(
                    "{label}/{}/{}",
                    if cache { "cache" } else { "no_cache" },
                    if miss {
                        "unmatched_literal"
                    } else {
                        "matched_literal"
                    },
                );
                group.bench_function(name, |b| {
                    b.iter(|| {
                        let mut fanout = 0;
                        for s in &subs {
                            fanout += sl.matches(black_box(s)).fanout();
                        }
                        black_box(fanout)
                    });
                });
            }
        }
    }
    group.finish();
}

fn bench_insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("sublist_build");
    group.sample_size(10);
    group.throughput(Throughput::Elements((REGIONS * IDS) as u64));
    group.bench_function("insert_12800_literal", |b| {
        b.iter(|| black_box(build(true, false).count()));
    });
    group.finish();
}

criterion_group!(benches, bench_match, bench_insert);
criterion_main!(benches);
