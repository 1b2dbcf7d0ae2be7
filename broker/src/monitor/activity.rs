//! Per-connection activity that `/connz` reports: `last_activity` and `rtt`.
//!
//! Updated as nats-server updates its `client.last` and `client.rtt`: on CONNECT (the RTT
//! is first estimated from accept to CONNECT), once per read batch that carried messages or
//! subscriptions, once per read batch for every connection that batch delivered to, and on
//! each PONG answering a server PING. Relaxed atomics; never per message.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Activity timestamps of one connection (Unix nanoseconds; 0 = not yet).
#[derive(Debug, Default)]
pub struct Activity {
    last: AtomicI64,
    rtt: AtomicU64,
    ping_sent: AtomicI64,
}

fn now_nanos() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

impl Activity {
    /// The connection did something (read batch with messages or subscriptions).
    pub fn touch(&self) {
        self.last.store(now_nanos(), Ordering::Relaxed);
    }

    /// Same as [`Activity::touch`] with a time taken once for many connections.
    pub fn touch_at(&self, nanos: i64) {
        self.last.store(nanos, Ordering::Relaxed);
    }

    /// The current time for [`Activity::touch_at`].
    pub fn now() -> i64 {
        now_nanos()
    }

    /// CONNECT processed: activity now, RTT estimated from the connection's start.
    pub fn connected(&self, start: DateTime<Utc>) {
        let now = now_nanos();
        self.last.store(now, Ordering::Relaxed);
        let start = start.timestamp_nanos_opt().unwrap_or(now);
        self.rtt
            .store(now.saturating_sub(start).max(1) as u64, Ordering::Relaxed);
    }

    /// The server sent a PING (RTT measurement starts).
    pub fn ping_sent(&self) {
        self.ping_sent.store(now_nanos(), Ordering::Relaxed);
    }

    /// The client answered with a PONG: the RTT is the time since the last PING.
    pub fn pong_received(&self) {
        let sent = self.ping_sent.load(Ordering::Relaxed);
        if sent > 0 {
            let rtt = now_nanos().saturating_sub(sent).max(1) as u64;
            self.rtt.store(rtt, Ordering::Relaxed);
        }
    }

    /// Last activity; `None` before any (the connection's start then stands in).
    pub fn last(&self) -> Option<DateTime<Utc>> {
        match self.last.load(Ordering::Relaxed) {
            0 => None,
            n => Some(DateTime::from_timestamp_nanos(n)),
        }
    }

    /// The measured round-trip time; zero before CONNECT.
    pub fn rtt(&self) -> Duration {
        Duration::from_nanos(self.rtt.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_and_pong() {
        let a = Activity::default();
        assert!(a.last().is_none());
        assert_eq!(a.rtt(), Duration::ZERO);
        a.connected(Utc::now() - chrono::TimeDelta::milliseconds(5));
        assert!(a.last().is_some());
        assert!(a.rtt() >= Duration::from_millis(5));
        a.pong_received();
        assert!(a.rtt() >= Duration::from_millis(5), "no PING sent yet");
        a.ping_sent();
        a.pong_received();
        assert!(a.rtt() < Duration::from_millis(5));
    }
}
