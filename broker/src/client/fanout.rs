//! Queuing one message to one target: the MSG/HMSG line for a client subscription (echo,
//! deny filter, auto-unsubscribe, header stripping), RMSG/HMSG for routes, internal handlers,
//! the no-responders status, and the bookkeeping of touched and stalled connections.

use std::cell::Cell;
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;

use super::outbound::Enqueue;
use super::{ClientShared, CloseReason};
use crate::account::Account;
use crate::subscription::{DeliveryCount, InternalHandler, InternalMsg, Subscription, Target};

/// The routes one message goes to, each with the queue groups it must serve there.
pub(super) type RouteTargets = Vec<(Arc<ClientShared>, Vec<Bytes>)>;

/// What delivering to one subscription needs; separate from the cache so a cached result can
/// be borrowed while delivering.
pub(super) struct Fanout {
    /// The publishing connection; `None` for messages the server publishes itself.
    pub(super) me: Option<Arc<ClientShared>>,
    pub(super) echo: bool,
    /// Connections written to during the current read batch, with the messages and bytes
    /// queued to each; woken and counted once at the end of the batch.
    pub(super) touched: Vec<(Arc<ClientShared>, u64, u64)>,
    /// Scratch buffer for MSG/HMSG lines.
    pub(super) head: Vec<u8>,
    /// The publishing connection queued a reply to itself (+OK, PONG...) in this batch.
    pub(super) self_dirty: Cell<bool>,
    /// Targets past the stall threshold during this batch: the producer waits for them.
    pub(super) stalled: Vec<Arc<ClientShared>>,
    /// Deliveries are traced (`-V`); read once per batch.
    pub(super) trace: bool,
}

impl Fanout {
    pub(super) fn touch(&mut self, target: &Arc<ClientShared>, bytes: u64) {
        match self
            .touched
            .iter_mut()
            .find(|(t, _, _)| Arc::ptr_eq(t, target))
        {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += bytes;
            }
            None => self.touched.push((target.clone(), 1, bytes)),
        }
    }

    /// Writes a message to each of `routes`:
    /// `RMSG <acc> <subject> [+ <reply> <queues...> | \| <queues...> | <reply>] <size>`, or
    /// HMSG with the header size before the total. Returns how many routes took it.
    pub(super) fn send_routed(
        &mut self,
        routes: &RouteTargets,
        account: &Account,
        subject: &[u8],
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> u64 {
        let mut sent = 0;
        for (route, queues) in routes {
            self.head.clear();
            self.head
                .extend_from_slice(if header_len > 0 { b"HMSG " } else { b"RMSG " });
            self.head.extend_from_slice(account.name.as_bytes());
            self.head.push(b' ');
            self.head.extend_from_slice(subject);
            self.head.push(b' ');
            match (reply, queues.is_empty()) {
                (Some(r), true) => {
                    self.head.extend_from_slice(r);
                    self.head.push(b' ');
                }
                (Some(r), false) => {
                    self.head.extend_from_slice(b"+ ");
                    self.head.extend_from_slice(r);
                    self.head.push(b' ');
                }
                (None, false) => self.head.extend_from_slice(b"| "),
                (None, true) => {}
            }
            for q in queues {
                self.head.extend_from_slice(q);
                self.head.push(b' ');
            }
            if header_len > 0 {
                push_decimal(&mut self.head, header_len);
                self.head.push(b' ');
            }
            push_decimal(&mut self.head, msg.len());
            self.head.extend_from_slice(b"\r\n");
            match route.outbound.push_msg(&self.head, msg) {
                queued @ (Enqueue::Queued | Enqueue::Stalling) => {
                    self.touch(route, msg.len() as u64);
                    sent += 1;
                    // A route is a consumer like any other: past the stall threshold the
                    // producer waits for it rather than overrun `max_pending`, which closes
                    // the route and loses what it held (seen at 1 KiB across a route).
                    if queued == Enqueue::Stalling
                        && !self.is_me(route)
                        && !self.stalled.iter().any(|t| Arc::ptr_eq(t, route))
                    {
                        self.stalled.push(route.clone());
                    }
                }
                Enqueue::SlowConsumer => route.close(CloseReason::SlowConsumerPendingBytes),
                Enqueue::Closed => {}
            }
        }
        sent
    }

    /// Queues `msg` to one subscription. False when it was not delivered.
    pub(super) fn deliver(
        &mut self,
        sub: &Arc<Subscription>,
        subject: &[u8],
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> bool {
        match &sub.target {
            Target::Client(c) => self.deliver_client(c, sub, subject, reply, header_len, msg),
            Target::Internal(h) => self.deliver_internal(sub, h, subject, reply, header_len, msg),
            // Imports are forwarded by the publisher, never queued; routes get RMSG.
            Target::Import(_) | Target::Route(_) => false,
        }
    }

    /// Queues `msg` to a client subscription. False when it was not delivered.
    pub(super) fn deliver_client(
        &mut self,
        target: &Arc<ClientShared>,
        sub: &Arc<Subscription>,
        subject: &[u8],
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> bool {
        if !self.echo && self.is_me(target) {
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
        let with_headers = header_len > 0 && target.headers();
        self.head
            .extend_from_slice(if with_headers { b"HMSG " } else { b"MSG " });
        write_line(&mut self.head, subject, &sub.sid, reply);
        let body = if with_headers {
            push_decimal(&mut self.head, header_len);
            self.head.push(b' ');
            push_decimal(&mut self.head, msg.len());
            self.head.extend_from_slice(b"\r\n");
            msg.clone()
        } else {
            // A client without header support gets the payload only, as a MSG.
            let payload = if header_len > 0 && header_len <= msg.len() {
                msg.slice(header_len..)
            } else {
                msg.clone()
            };
            push_decimal(&mut self.head, payload.len());
            self.head.extend_from_slice(b"\r\n");
            payload
        };
        if self.trace {
            super::trace::delivery(&target.label(), &self.head, &body);
        }
        match target.outbound.push_msg(&self.head, &body) {
            queued @ (Enqueue::Queued | Enqueue::Stalling) => {
                if let Some(r) = reply {
                    target.note_reply(r);
                }
                self.touch(target, body.len() as u64);
                if queued == Enqueue::Stalling
                    && !self.is_me(target)
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

    pub(super) fn is_me(&self, target: &Arc<ClientShared>) -> bool {
        self.me.as_ref().is_some_and(|m| Arc::ptr_eq(target, m))
    }

    /// Hands `msg` to an internal subscription's callback. False when it was not delivered.
    pub(super) fn deliver_internal(
        &mut self,
        sub: &Subscription,
        handler: &InternalHandler,
        subject: &[u8],
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> bool {
        if sub.is_closed() {
            return false;
        }
        match sub.count_delivery() {
            DeliveryCount::Skip => return false,
            // The owner of an internal subscription removes it; past its limit it is closed.
            DeliveryCount::DeliverLast => {
                sub.close();
            }
            DeliveryCount::Deliver => {}
        }
        handler(&InternalMsg {
            subject,
            reply,
            header_len,
            msg,
            from: self.me.as_ref(),
        });
        true
    }

    /// Tells the publisher nobody is listening: a 503 status on its own reply subscription.
    pub(super) fn no_responders_reply(&mut self, account: &Account, subject: &[u8], reply: &Bytes) {
        let Some(me) = self.me.clone() else {
            return;
        };
        let matches = account.sublist.matches(reply);
        let Some(sub) = matches
            .psubs
            .iter()
            .find(|s| s.client().is_some_and(|c| Arc::ptr_eq(c, &me)))
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
        me.outbound.push_proto(&self.head);
        self.self_dirty.set(true);
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

/// Appends `n` in decimal. The MSG line is built for every delivery; `core::fmt` made up a
/// fifth of the fan-out path's instructions under callgrind.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::push_decimal;

    #[test]
    fn decimal_formatting() {
        for n in [0usize, 7, 10, 99, 1024, 1_048_576, usize::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }
}
