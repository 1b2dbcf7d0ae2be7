//! One read of a client's shared state, from which `/connz` (`ConnInfo`), closed connections
//! and the `$SYS` connect/disconnect events (`ClientInfo`) describe it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::client::{ClientMeta, ClientShared};

/// What every description of a client starts from.
#[derive(Debug, Clone)]
pub struct ClientView {
    pub cid: u64,
    pub ip: String,
    pub port: u16,
    pub start: DateTime<Utc>,
    pub meta: ClientMeta,
    /// The round-trip time as measured (the reporters round it their own way).
    pub rtt: Duration,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
}

impl ClientView {
    pub fn of(c: &ClientShared) -> Self {
        let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
        ClientView {
            cid: c.cid,
            ip: c.addr.ip().to_string(),
            port: c.addr.port(),
            start: c.start,
            meta: c.meta.read().clone(),
            rtt: c.activity.rtt(),
            in_msgs: load(&c.stats.in_msgs),
            in_bytes: load(&c.stats.in_bytes),
            out_msgs: load(&c.stats.out_msgs),
            out_bytes: load(&c.stats.out_bytes),
        }
    }
}

/// A duration in whole nanoseconds (saturating), as the reference's JSON carries them.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
