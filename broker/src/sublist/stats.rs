//! Sublist statistics, as nats-server reports them in `/subsz` and `/varz`.

/// A snapshot of one sublist's counters (nats-server `SublistStats`). Field names are the
/// JSON names of `/subsz`.
///
/// Fanout figures are computed over the results currently in the match cache, so they are
/// zero when the cache is disabled, as in nats-server.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SublistStats {
    /// Subscriptions in the sublist.
    pub num_subscriptions: u64,
    /// Subjects in the match cache.
    pub num_cache: u64,
    /// Successful inserts since creation.
    pub num_inserts: u64,
    /// Successful removes since creation.
    pub num_removes: u64,
    /// Calls to `matches` since creation.
    pub num_matches: u64,
    /// Share of `num_matches` answered from the cache (0.0 to 1.0).
    pub cache_hit_rate: f64,
    /// Largest fanout (plain subscribers + queue groups) of a cached result.
    pub max_fanout: u64,
    /// Average fanout of the cached results.
    pub avg_fanout: f64,
    /// Cache hits behind `cache_hit_rate`, kept so that [`SublistStats::add`] can combine.
    cache_hits: u64,
    /// Sum of cached fanouts behind `avg_fanout`.
    total_fanout: u64,
    /// Cached results behind `avg_fanout`.
    fanout_entries: u64,
}

impl SublistStats {
    /// Builds a snapshot from raw counters.
    pub(crate) fn from_counters(
        num_subscriptions: u64,
        num_inserts: u64,
        num_removes: u64,
        num_matches: u64,
        cache_hits: u64,
        (cache_entries, total_fanout, max_fanout): (usize, usize, usize),
    ) -> Self {
        let mut stats = Self {
            num_subscriptions,
            num_cache: cache_entries as u64,
            num_inserts,
            num_removes,
            num_matches,
            max_fanout: max_fanout as u64,
            cache_hits,
            total_fanout: total_fanout as u64,
            fanout_entries: cache_entries as u64,
            ..Self::default()
        };
        stats.derive_ratios();
        stats
    }

    /// Adds another sublist's figures (for a server-wide total over all accounts, as
    /// nats-server's `/subsz` does): counts add up, `max_fanout` is the maximum, and the
    /// rates are recomputed from the combined raw counters.
    pub fn add(&mut self, other: &SublistStats) {
        self.num_subscriptions += other.num_subscriptions;
        self.num_cache += other.num_cache;
        self.num_inserts += other.num_inserts;
        self.num_removes += other.num_removes;
        self.num_matches += other.num_matches;
        self.cache_hits += other.cache_hits;
        self.max_fanout = self.max_fanout.max(other.max_fanout);
        self.total_fanout += other.total_fanout;
        self.fanout_entries += other.fanout_entries;
        self.derive_ratios();
    }

    /// Recomputes `cache_hit_rate` and `avg_fanout` from the raw counters.
    fn derive_ratios(&mut self) {
        self.cache_hit_rate = if self.num_matches > 0 {
            self.cache_hits as f64 / self.num_matches as f64
        } else {
            0.0
        };
        self.avg_fanout = if self.fanout_entries > 0 {
            self.total_fanout as f64 / self.fanout_entries as f64
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_combines_raw_counters() {
        let a = SublistStats::from_counters(3, 4, 1, 10, 5, (2, 6, 4));
        assert_eq!(a.cache_hit_rate, 0.5);
        assert_eq!(a.avg_fanout, 3.0);
        let b = SublistStats::from_counters(1, 1, 0, 30, 30, (1, 1, 1));
        let mut total = SublistStats::default();
        total.add(&a);
        total.add(&b);
        assert_eq!(total.num_subscriptions, 4);
        assert_eq!(total.num_cache, 3);
        assert_eq!(total.num_inserts, 5);
        assert_eq!(total.num_removes, 1);
        assert_eq!(total.num_matches, 40);
        assert_eq!(total.cache_hit_rate, 35.0 / 40.0);
        assert_eq!(total.max_fanout, 4);
        assert_eq!(total.avg_fanout, 7.0 / 3.0);
    }
}
