//! Sublist workload: 12,800 literal subscriptions plus wildcards and a queue group; 512
//! distinct publish subjects matched repeatedly with the cache (hits after the first
//! round) and without it.

use std::sync::Arc;

use anyhow::{Context as _, ensure};
use rnats_broker::sublist::Sublist;

const REGIONS: usize = 100;
const IDS: usize = 128;
/// Distinct subjects: below the cache's 1024 entries, so no (random) sweep ever runs.
const SUBJECTS: usize = 512;

fn build(cache: bool) -> anyhow::Result<Sublist<u32>> {
    let sl = Sublist::new(cache);
    let mut n = 0u32;
    let mut add = |subject: String, queue: Option<&[u8]>| {
        n += 1;
        sl.insert(subject.as_bytes(), queue, Arc::new(n))
            .with_context(|| format!("insert {subject}"))
    };
    for r in 0..REGIONS {
        for i in 0..IDS {
            add(format!("orders.r{r}.{i}"), None)?;
        }
        add(format!("orders.r{r}.*"), None)?;
    }
    for i in 0..10 {
        add(format!("orders.*.{i}"), None)?;
    }
    add("orders.>".to_string(), None)?;
    for _ in 0..4 {
        add("orders.*.*".to_string(), Some(b"workers"))?;
    }
    Ok(sl)
}

/// Matches every subject `rounds` times; returns the summed fan-out.
fn match_all(sl: &Sublist<u32>, subjects: &[Vec<u8>], rounds: usize) -> usize {
    let mut fanout = 0;
    for _ in 0..rounds {
        for s in subjects {
            fanout += sl.matches(s).fanout();
        }
    }
    fanout
}

pub fn run() -> anyhow::Result<String> {
    let subjects: Vec<Vec<u8>> = (0..SUBJECTS)
        .map(|k| format!("orders.r{}.{}", (k * 7) % REGIONS, (k * 13) % IDS).into_bytes())
        .collect();
    let cached = build(true)?;
    let uncached = build(false)?;
    ensure!(
        cached.count() == REGIONS * (IDS + 1) + 15,
        "subscription count"
    );
    let a = match_all(&cached, &subjects, 20);
    let b = match_all(&uncached, &subjects, 5);
    ensure!(
        a / 20 == b / 5,
        "cached and uncached fan-out differ: {a}/20 vs {b}/5"
    );
    Ok(format!(
        "{} subscriptions, fan-out {}",
        cached.count(),
        a + b
    ))
}
