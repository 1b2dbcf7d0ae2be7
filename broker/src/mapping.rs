//! Subject mappings of an account (`mappings {}` at the top level for `$G`, or in an account):
//! a published subject matching a source is rewritten to one of its destinations, picked by
//! weight (and by cluster when destinations are cluster-scoped), before permissions and
//! routing see it — nats-server's `AddWeightedMappings` and `selectMappedSubject`.

use std::collections::BTreeMap;

use crate::subject::subject_matches;
use crate::subject_transform::{SubjectTransform, transform_tokenize, validate_mapping};

/// One configured destination (`MapDest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDest {
    pub subject: String,
    /// Percent, 0-100.
    pub weight: u8,
    /// Only in this cluster, when not empty.
    pub cluster: String,
}

impl MapDest {
    /// A destination taking all the traffic.
    pub fn full(subject: &str) -> MapDest {
        MapDest {
            subject: subject.to_string(),
            weight: 100,
            cluster: String::new(),
        }
    }
}

/// A destination with its cumulative weight (the upper bound of its share of 0..100).
#[derive(Debug, Clone)]
struct Destination {
    transform: SubjectTransform,
    upto: u8,
}

#[derive(Debug, Clone)]
struct Mapping {
    src: String,
    wildcard: bool,
    dests: Vec<Destination>,
    by_cluster: BTreeMap<String, Vec<Destination>>,
}

/// An account's mappings, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct Mappings {
    /// As configured (what equality compares).
    specs: Vec<(String, Vec<MapDest>)>,
    list: Vec<Mapping>,
}

impl PartialEq for Mappings {
    fn eq(&self, other: &Self) -> bool {
        self.specs == other.specs
    }
}

impl Eq for Mappings {}

impl Mappings {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds (or replaces) the mapping of `src`; the error is nats-server's.
    pub fn add(&mut self, src: &str, dests: Vec<MapDest>) -> Result<(), String> {
        if !crate::subject::is_valid_subject(src.as_bytes()) {
            return Err("invalid subject".into());
        }
        let wildcard = src.split('.').any(|t| t == "*" || t == ">");
        let mut seen: Vec<&str> = Vec::new();
        let mut totals: BTreeMap<&str, u32> = BTreeMap::new();
        let mut plain = Vec::new();
        let mut by_cluster: BTreeMap<String, Vec<Destination>> = BTreeMap::new();
        for d in &dests {
            if seen.contains(&d.subject.as_str()) {
                return Err(format!("duplicate entry for {:?}", d.subject));
            }
            seen.push(&d.subject);
            if d.weight > 100 {
                return Err("individual weights need to be <= 100".into());
            }
            let total = totals.entry(&d.cluster).or_default();
            *total += u32::from(d.weight);
            if *total > 100 {
                return Err("total weight needs to be <= 100".into());
            }
            validate_mapping(src, &d.subject).map_err(|e| e.to_string())?;
            let transform = SubjectTransform::new(src, &d.subject).map_err(|e| e.to_string())?;
            let dest = Destination {
                transform,
                upto: d.weight,
            };
            if d.cluster.is_empty() {
                plain.push(dest);
            } else {
                by_cluster.entry(d.cluster.clone()).or_default().push(dest);
            }
        }
        let has_src = seen.contains(&src);
        let finish = |mut list: Vec<Destination>| -> Result<Vec<Destination>, String> {
            let total: u32 = list.iter().map(|d| u32::from(d.upto)).sum();
            // The rest of the traffic keeps its subject, unless the source is listed itself
            // (then the rest is dropped).
            if total != 100 && !has_src {
                let dest = if wildcard {
                    transform_tokenize(src)
                } else {
                    src.to_string()
                };
                let transform = SubjectTransform::new(src, &dest).map_err(|e| e.to_string())?;
                let rest = if list.is_empty() { 100 } else { 100 - total };
                list.push(Destination {
                    transform,
                    upto: rest as u8,
                });
            }
            list.sort_by_key(|d| d.upto);
            let mut acc = 0u8;
            for d in &mut list {
                d.upto = d.upto.saturating_add(acc);
                acc = d.upto;
            }
            Ok(list)
        };
        let dests_list = finish(plain)?;
        let mut clusters = BTreeMap::new();
        for (c, list) in by_cluster {
            clusters.insert(c, finish(list)?);
        }
        let m = Mapping {
            src: src.to_string(),
            wildcard,
            dests: dests_list,
            by_cluster: clusters,
        };
        match self.list.iter().position(|e| e.src == src) {
            Some(i) => {
                self.list[i] = m;
                self.specs[i] = (src.to_string(), dests);
            }
            None => {
                self.list.push(m);
                self.specs.push((src.to_string(), dests));
            }
        }
        Ok(())
    }

    /// The subject `subject` is published as: `None` when no mapping applies, `Some` of the
    /// mapped subject otherwise (empty when the weights chose to drop it). `cluster` names
    /// this server's cluster, asked only for cluster-scoped destinations.
    pub fn select(&self, subject: &[u8], cluster: impl FnOnce() -> String) -> Option<Vec<u8>> {
        let m = self.list.iter().find(|m| {
            (!m.wildcard && m.src.as_bytes() == subject)
                || subject_matches(m.src.as_bytes(), subject)
        })?;
        let dests = if m.by_cluster.is_empty() {
            &m.dests
        } else {
            m.by_cluster.get(&cluster()).unwrap_or(&m.dests)
        };
        let chosen = if dests.len() == 1 && dests[0].upto == 100 {
            dests.first()
        } else {
            let w = fastrand::u8(..100);
            dests.iter().find(|d| w < d.upto)
        };
        Some(match chosen {
            Some(d) if d.transform.is_plain() => d.transform.dest().as_bytes().to_vec(),
            Some(d) => d.transform.transform(subject),
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str, dest: &str) -> Mappings {
        let mut m = Mappings::default();
        m.add(src, vec![MapDest::full(dest)])
            .expect("valid mapping");
        m
    }

    fn select(m: &Mappings, subject: &str) -> Option<String> {
        m.select(subject.as_bytes(), || "c1".into())
            .map(|s| String::from_utf8(s).expect("utf8"))
    }

    #[test]
    fn maps_literal_and_wildcard_sources() {
        let m = one("foo", "bar");
        assert_eq!(select(&m, "foo").as_deref(), Some("bar"));
        assert_eq!(select(&m, "baz"), None);
        let m = one("orders.*.*", "ord.{{wildcard(2)}}.{{wildcard(1)}}");
        assert_eq!(select(&m, "orders.a.b").as_deref(), Some("ord.b.a"));
        assert_eq!(select(&m, "orders.a"), None);
    }

    #[test]
    fn weights_split_the_traffic_and_the_rest_keeps_its_subject() {
        let mut m = Mappings::default();
        m.add(
            "foo",
            vec![MapDest {
                subject: "bar".into(),
                weight: 50,
                cluster: String::new(),
            }],
        )
        .expect("valid");
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for _ in 0..2000 {
            *counts
                .entry(select(&m, "foo").expect("mapped"))
                .or_default() += 1;
        }
        assert_eq!(counts.len(), 2, "{counts:?}");
        assert!(counts["bar"] > 800 && counts["foo"] > 800, "{counts:?}");
    }

    #[test]
    fn listing_the_source_drops_the_rest() {
        let mut m = Mappings::default();
        let d = |s: &str, w| MapDest {
            subject: s.into(),
            weight: w,
            cluster: String::new(),
        };
        m.add("foo", vec![d("foo", 0), d("bar", 0)]).expect("valid");
        assert_eq!(select(&m, "foo").as_deref(), Some(""));
    }

    #[test]
    fn cluster_scoped_destinations() {
        let mut m = Mappings::default();
        let d = |s: &str, c: &str| MapDest {
            subject: s.into(),
            weight: 100,
            cluster: c.into(),
        };
        m.add(
            "foo",
            vec![d("bar", ""), d("in.c1", "c1"), d("in.c2", "c2")],
        )
        .expect("valid");
        assert_eq!(select(&m, "foo").as_deref(), Some("in.c1"));
        let other = m.select(b"foo", || "c3".into()).expect("mapped");
        assert_eq!(other, b"bar".to_vec());
    }

    #[test]
    fn errors_as_nats_server() {
        let d = |s: &str, w| MapDest {
            subject: s.into(),
            weight: w,
            cluster: String::new(),
        };
        let mut m = Mappings::default();
        assert_eq!(
            m.add("foo.", vec![d("a", 100)]),
            Err("invalid subject".into())
        );
        assert_eq!(
            m.add("foo", vec![d("a", 60), d("b", 50)]),
            Err("total weight needs to be <= 100".into())
        );
        assert_eq!(
            m.add("foo", vec![d("a", 10), d("a", 10)]),
            Err("duplicate entry for \"a\"".into())
        );
        assert_eq!(
            m.add("foo.*", vec![d("a.$2", 100)]),
            Err("invalid mapping destination: wildcard index out of range in $2: [2]".into())
        );
        assert!(m.is_empty());
    }
}
