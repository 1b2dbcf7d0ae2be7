//! Fan-out of one published message: sublist match, queue-group pick, echo, auto-unsubscribe,
//! header stripping, no-responders, and the deferred flush of every touched connection.

use std::cell::Cell;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::outbound::Enqueue;
use super::{ClientShared, CloseReason};
use crate::account::Account;
use crate::server::Server;
use crate::subscription::{DeliveryCount, Subscription};

/// Longest a producer waits for one stalled consumer per read batch.
const STALL_PER_TARGET: std::time::Duration = std::time::Duration::from_millis(2);
/// Longest a producer stalls in all per read batch.
const STALL_TOTAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The publishing side of a connection (lives in its reader task).
pub struct Publisher {
    me: Arc<ClientShared>,
    echo: bool,
    no_responders: bool,
    /// Connections written to during the current read batch; woken once at its end.
    touched: Vec<Arc<ClientShared>>,
    /// Scratch buffer for MSG/HMSG lines.
    head: Vec<u8>,
    /// The publishing connection queued a reply to itself (+OK, PONG...) in this batch.
    self_dirty: Cell<bool>,
    /// Targets past the stall threshold during this batch: the producer waits for them.
    stalled: Vec<Arc<ClientShared>>,
}

impl Publisher {
    pub fn new(me: Arc<ClientShared>) -> Self {
        Publisher {
            me,
            echo: true,
            no_responders: false,
            touched: Vec::new(),
            head: Vec::new(),
            self_dirty: Cell::new(false),
            stalled: Vec::new(),
        }
    }

    pub fn set_flags(&mut self, echo: bool, no_responders: bool) {
        self.echo = echo;
        self.no_responders = no_responders;
    }

    /// Remembers that the publishing connection queued a reply to itself.
    pub fn mark_self(&self) {
        self.self_dirty.set(true);
    }

    fn touch(&mut self, target: &Arc<ClientShared>) {
        if !self.touched.iter().any(|t| Arc::ptr_eq(t, target)) {
            self.touched.push(target.clone());
        }
    }

    /// Wakes the writer of every connection touched since the last call.
    pub fn flush_targets(&mut self) {
        if self.self_dirty.replace(false) {
            self.me.outbound.wake();
        }
        if !self.touched.is_empty() {
            // Delivery is activity of the receiving connection (`/connz` `last_activity`).
            let now = crate::monitor::activity::Activity::now();
            for t in &self.touched {
                t.activity.touch_at(now);
            }
        }
        for t in self.touched.drain(..) {
            t.outbound.wake();
        }
    }

    /// Fast-producer stall: if this batch pushed a consumer past 75% of its `max_pending`,
    /// wait for it to drain, at most `STALL_PER_TARGET` per target and `STALL_TOTAL` in all
    /// (nats-server's 2 ms / 10 ms), so a slow consumer slows its producers before it is cut.
    pub async fn stall(&mut self) {
        if self.stalled.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + STALL_TOTAL;
        for t in std::mem::take(&mut self.stalled) {
            while t.outbound.should_stall() {
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return;
                }
                let wait = STALL_PER_TARGET.min(deadline - now);
                if tokio::time::timeout(wait, t.outbound.wait_drained())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }

    /// Delivers one message to every matching subscription of `account`.
    pub fn publish(
        &mut self,
        server: &Server,
        account: &Account,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) {
        let result = account.sublist.matches(subject);
        let mut delivered = 0u64;
        let mut out_bytes = 0u64;
        for sub in &result.psubs {
            if self.deliver(sub, subject, reply, header_len, msg) {
                delivered += 1;
                out_bytes += msg.len() as u64;
            }
        }
        for group in &result.qsubs {
            let n = group.members.len();
            if n == 0 {
                continue;
            }
            let start = fastrand::usize(0..n);
            for i in 0..n {
                let sub = &group.members[(start + i) % n];
                if self.deliver(sub, subject, reply, header_len, msg) {
                    delivered += 1;
                    out_bytes += msg.len() as u64;
                    break;
                }
            }
        }
        if delivered > 0 {
            server.stats.record_out(delivered, out_bytes);
        } else if let Some(reply) = reply
            && self.no_responders
        {
            self.no_responders_reply(account, subject, reply);
        }
    }

    /// Queues `msg` to one subscription. False when it was not delivered.
    fn deliver(
        &mut self,
        sub: &Arc<Subscription>,
        subject: &[u8],
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> bool {
        let target = &sub.client;
        if !self.echo && Arc::ptr_eq(target, &self.me) {
            return false;
        }
        if sub.is_closed() {
            return false;
        }
        if sub
            .deny_filter
            .as_ref()
            .is_some_and(|p| p.delivery_denied(subject))
        {
            return false;
        }
        match sub.count_delivery() {
            DeliveryCount::Skip => return false,
            DeliveryCount::DeliverLast => target.remove_sub(sub),
            DeliveryCount::Deliver => {}
        }
        self.head.clear();
        let body = if header_len > 0 && target.headers() {
            self.head.extend_from_slice(b"HMSG ");
            write_line(&mut self.head, subject, &sub.sid, reply);
            let _ = write!(self.head, "{} {}\r\n", header_len, msg.len());
            msg.clone()
        } else {
            self.head.extend_from_slice(b"MSG ");
            write_line(&mut self.head, subject, &sub.sid, reply);
            let payload = if header_len > 0 && header_len <= msg.len() {
                msg.slice(header_len..)
            } else {
                msg.clone()
            };
            let _ = write!(self.head, "{}\r\n", payload.len());
            payload
        };
        match target.outbound.push_msg(&self.head, &body) {
            Enqueue::Queued => {
                target.stats.out_msgs.fetch_add(1, Ordering::Relaxed);
                target
                    .stats
                    .out_bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                self.touch(target);
                if target.outbound.should_stall()
                    && !Arc::ptr_eq(target, &self.me)
                    && !self.stalled.iter().any(|t| Arc::ptr_eq(t, target))
                {
                    self.stalled.push(target.clone());
                }
                true
            }
            Enqueue::SlowConsumer => {
                target.close(CloseReason::SlowConsumerPendingBytes);
                false
            }
            Enqueue::Closed => false,
        }
    }

    /// Tells the publisher nobody is listening: a 503 status on its own reply subscription.
    fn no_responders_reply(&mut self, account: &Account, subject: &[u8], reply: &Bytes) {
        let matches = account.sublist.matches(reply);
        let Some(sub) = matches
            .psubs
            .iter()
            .find(|s| Arc::ptr_eq(&s.client, &self.me))
        else {
            return;
        };
        let hdr_len = 32 + subject.len();
        self.head.clear();
        self.head.extend_from_slice(b"HMSG ");
        self.head.extend_from_slice(reply);
        self.head.push(b' ');
        self.head.extend_from_slice(&sub.sid);
        let _ = write!(
            self.head,
            " {hdr_len} {hdr_len}\r\nNATS/1.0 503\r\nNats-Subject: "
        );
        self.head.extend_from_slice(subject);
        self.head.extend_from_slice(b"\r\n\r\n\r\n");
        self.me.outbound.push_proto(&self.head);
        self.mark_self();
    }
}

/// Writes `<subject> <sid> [reply] ` into a MSG/HMSG line.
fn write_line(head: &mut Vec<u8>, subject: &[u8], sid: &[u8], reply: Option<&Bytes>) {
    head.extend_from_slice(subject);
    head.push(b' ');
    head.extend_from_slice(sid);
    head.push(b' ');
    if let Some(r) = reply {
        head.extend_from_slice(r);
        head.push(b' ');
    }
}
