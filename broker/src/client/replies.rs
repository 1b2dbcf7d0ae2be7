//! `allow_responses`: the reply subjects a connection received, which it may then publish to
//! (at most `max_msgs` times each, within `expires`), as nats-server's `c.replies`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::permissions::{Permissions, ResponsePermission};

/// Replies recorded before the map is swept of used-up and expired entries
/// (`replyPermLimit`).
const PRUNE_AFTER: usize = 4096;
/// Longest time between sweeps (`replyPruneTime`).
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// One reply subject the connection may answer.
struct Reply {
    at: Instant,
    used: i64,
}

/// The replies a connection may publish to.
pub struct Replies {
    open: HashMap<Bytes, Reply>,
    since_prune: usize,
    last_prune: Instant,
}

impl Default for Replies {
    fn default() -> Self {
        Replies {
            open: HashMap::new(),
            since_prune: 0,
            last_prune: Instant::now(),
        }
    }
}

impl Replies {
    /// A message with `reply` was delivered: remember the reply unless the permissions
    /// already allow publishing to it.
    pub fn record(&mut self, reply: &Bytes, perms: &Permissions) {
        let Some(rp) = &perms.response else {
            return;
        };
        if perms.can_publish(reply) {
            return;
        }
        self.open.insert(
            reply.clone(),
            Reply {
                at: Instant::now(),
                used: 0,
            },
        );
        self.since_prune += 1;
        if self.since_prune > PRUNE_AFTER || self.last_prune.elapsed() > PRUNE_EVERY {
            self.prune(rp);
        }
    }

    /// May the connection publish to `subject` as an answer? Counts the use.
    pub fn allow(&mut self, subject: &[u8], rp: &ResponsePermission) -> bool {
        let Some(r) = self.open.get_mut(subject) else {
            return false;
        };
        r.used += 1;
        let used_up = rp.max_msgs > 0 && r.used > rp.max_msgs;
        let expired = rp.expires.is_some_and(|e| r.at.elapsed() > e);
        if used_up || expired {
            self.open.remove(subject);
            return false;
        }
        true
    }

    fn prune(&mut self, rp: &ResponsePermission) {
        self.open.retain(|_, r| {
            !(rp.max_msgs > 0 && r.used >= rp.max_msgs
                || rp.expires.is_some_and(|e| r.at.elapsed() > e))
        });
        self.since_prune = 0;
        self.last_prune = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::SubjectPermission;

    fn perms(max: i64) -> Permissions {
        Permissions {
            publish: Some(SubjectPermission {
                allow: Some(Vec::new()),
                deny: None,
            }),
            subscribe: None,
            response: Some(ResponsePermission {
                max_msgs: max,
                expires: Some(Duration::from_secs(60)),
            }),
        }
    }

    #[test]
    fn replies_are_allowed_up_to_max() {
        let p = perms(2);
        let rp = p.response.clone().expect("rp");
        let mut r = Replies::default();
        let reply = Bytes::from_static(b"_INBOX.1");
        assert!(!r.allow(&reply, &rp));
        r.record(&reply, &p);
        assert!(r.allow(&reply, &rp));
        assert!(r.allow(&reply, &rp));
        assert!(!r.allow(&reply, &rp));
        let unlimited = perms(-1);
        let rp = unlimited.response.clone().expect("rp");
        r.record(&reply, &unlimited);
        for _ in 0..10 {
            assert!(r.allow(&reply, &rp));
        }
    }

    #[test]
    fn expired_replies_are_refused() {
        let mut p = perms(5);
        p.response = Some(ResponsePermission {
            max_msgs: 5,
            expires: Some(Duration::ZERO),
        });
        let rp = p.response.clone().expect("rp");
        let mut r = Replies::default();
        let reply = Bytes::from_static(b"r");
        r.record(&reply, &p);
        std::thread::sleep(Duration::from_millis(2));
        assert!(!r.allow(&reply, &rp));
    }
}
