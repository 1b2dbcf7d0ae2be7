//! Fan-out of one published message: sublist match (through a per-connection cache), queue-group
//! pick, echo, auto-unsubscribe, header stripping, no-responders, and the deferred flush of
//! every touched connection with its counters added once per read batch.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::outbound::Enqueue;
use super::{ClientShared, CloseReason};
use crate::account::Account;
use crate::imports::{self, ImportTarget};
use crate::server::Server;
use crate::sublist::MatchResult;
use crate::subscription::{DeliveryCount, InternalHandler, InternalMsg, Subscription, Target};

/// Longest a producer waits for one stalled consumer per read batch.
const STALL_PER_TARGET: std::time::Duration = std::time::Duration::from_millis(2);
/// Longest a producer stalls in all per read batch.
const STALL_TOTAL: std::time::Duration = std::time::Duration::from_millis(10);
/// Entries in a connection's own match cache (nats-server's per-client cache holds 512); past
/// it the cache starts over, which keeps memory per connection small and bounded.
const L1_MAX: usize = 512;
/// Service imports one message may pass through (nats-server stops import cycles by
/// remembering the imports it crossed; a fixed depth bounds the same recursion).
const MAX_IMPORT_DEPTH: u8 = 8;

/// The routes one message goes to, each with the queue groups it must serve there.
type RouteTargets = Vec<(Arc<ClientShared>, Vec<Bytes>)>;

/// Where the message being delivered comes from, which limits where it may go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Published here (by a client or the server): everywhere.
    Local,
    /// Through a stream import: the importer's client subscriptions only.
    Stream,
    /// From a route: local subscriptions only (the one-hop rule), no service imports (the
    /// origin server forwarded the request), the queue groups the peer listed.
    Route,
}

/// What delivering to one subscription did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivered {
    No,
    /// Queued to a client or handed to an internal handler (counted as one message out).
    Counted,
    /// Forwarded through an import (the deliveries behind it were counted there).
    Forwarded,
}

/// The publishing side of a connection (lives in its reader task).
pub struct Publisher {
    fanout: Fanout,
    no_responders: bool,
    /// Subject → match result, valid for one account sublist generation: a publish to a
    /// subject seen before touches no shared lock.
    l1: HashMap<Bytes, Arc<MatchResult<Subscription>>>,
    l1_generation: u64,
    /// The account the cache belongs to (compared by pointer).
    l1_account: usize,
    /// Server-wide counters not yet added (added once per read batch).
    out_msgs: u64,
    out_bytes: u64,
    /// Service imports the message being delivered has crossed.
    depth: u8,
    /// Deliveries from the publishing connection's own account not yet added to its
    /// counters (added once per read batch, like the server's).
    home_out: (u64, u64),
}

/// What delivering to one subscription needs; separate from the cache so a cached result can
/// be borrowed while delivering.
struct Fanout {
    /// The publishing connection; `None` for messages the server publishes itself.
    me: Option<Arc<ClientShared>>,
    echo: bool,
    /// Connections written to during the current read batch, with the messages and bytes
    /// queued to each; woken and counted once at the end of the batch.
    touched: Vec<(Arc<ClientShared>, u64, u64)>,
    /// Scratch buffer for MSG/HMSG lines.
    head: Vec<u8>,
    /// The publishing connection queued a reply to itself (+OK, PONG...) in this batch.
    self_dirty: Cell<bool>,
    /// Targets past the stall threshold during this batch: the producer waits for them.
    stalled: Vec<Arc<ClientShared>>,
}

impl Publisher {
    pub fn new(me: Arc<ClientShared>) -> Self {
        Self::with_origin(Some(me))
    }

    /// A publisher for messages the server itself publishes (no connection behind them).
    pub fn internal() -> Self {
        Self::with_origin(None)
    }

    fn with_origin(me: Option<Arc<ClientShared>>) -> Self {
        Publisher {
            fanout: Fanout {
                me,
                echo: true,
                touched: Vec::new(),
                head: Vec::new(),
                self_dirty: Cell::new(false),
                stalled: Vec::new(),
            },
            no_responders: false,
            l1: HashMap::new(),
            l1_generation: u64::MAX,
            l1_account: 0,
            out_msgs: 0,
            out_bytes: 0,
            depth: 0,
            home_out: (0, 0),
        }
    }

    pub fn set_flags(&mut self, echo: bool, no_responders: bool) {
        self.fanout.echo = echo;
        self.no_responders = no_responders;
    }

    /// Remembers that the publishing connection queued a reply to itself.
    pub fn mark_self(&self) {
        self.fanout.self_dirty.set(true);
    }

    /// Wakes the writer of every connection touched since the last call and adds the batch's
    /// counters. True when another connection's writer was woken.
    pub fn flush_targets(&mut self, server: &Server) -> bool {
        let f = &mut self.fanout;
        if f.self_dirty.replace(false)
            && let Some(me) = &f.me
        {
            me.outbound.wake();
        }
        let woke_others = f
            .touched
            .iter()
            .any(|(t, _, _)| !f.me.as_ref().is_some_and(|me| Arc::ptr_eq(t, me)));
        if !f.touched.is_empty() {
            // Delivery is activity of the receiving connection (`/connz` `last_activity`).
            let now = crate::monitor::activity::Activity::now();
            for (t, msgs, bytes) in f.touched.drain(..) {
                t.stats.out_msgs.fetch_add(msgs, Ordering::Relaxed);
                t.stats.out_bytes.fetch_add(bytes, Ordering::Relaxed);
                t.activity.touch_at(now);
                t.outbound.wake();
            }
        }
        if self.home_out.0 > 0 {
            let (msgs, bytes) = std::mem::take(&mut self.home_out);
            if let Some(me) = &self.fanout.me {
                me.account().stats.add_out(msgs, bytes);
            }
        }
        if self.out_msgs > 0 {
            server.stats.record_out(self.out_msgs, self.out_bytes);
            self.out_msgs = 0;
            self.out_bytes = 0;
        }
        woke_others
    }

    /// Fast-producer stall: if this batch pushed a consumer past 75% of its `max_pending`,
    /// wait for it to drain, at most `STALL_PER_TARGET` per target and `STALL_TOTAL` in all
    /// (nats-server's 2 ms / 10 ms), so a slow consumer slows its producers before it is cut.
    pub async fn stall(&mut self) {
        if self.fanout.stalled.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + STALL_TOTAL;
        for t in std::mem::take(&mut self.fanout.stalled) {
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

    /// The subscriptions matching `subject`, from this connection's cache when it is current.
    fn lookup(&mut self, account: &Account, subject: &Bytes) -> &Arc<MatchResult<Subscription>> {
        // Read the generation before matching: a concurrent change then invalidates the entry.
        let generation = account.sublist.generation();
        let account_id = account as *const Account as usize;
        if generation != self.l1_generation
            || account_id != self.l1_account
            || self.l1.len() >= L1_MAX
        {
            self.l1.clear();
            self.l1_generation = generation;
            self.l1_account = account_id;
        }
        self.l1
            .entry(subject.clone())
            .or_insert_with(|| account.sublist.matches(subject))
    }

    /// Delivers one message to every matching subscription of `account`.
    pub fn publish(
        &mut self,
        account: &Account,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) {
        // The cached result is shared (an Arc clone costs one uncontended increment) so the
        // fan-out below can borrow `self.fanout` mutably.
        let result = self.lookup(account, subject).clone();
        let delivered = self.fan_out(account, &result, subject, reply, header_len, msg, None);
        if delivered == 0
            && let Some(reply) = reply
            && self.no_responders
        {
            self.fanout.no_responders_reply(account, subject, reply);
        }
    }

    /// Delivers a message that came over a route: to local subscriptions only (the one-hop
    /// rule), and to a queue group only when the peer listed it in the RMSG.
    pub fn publish_routed(
        &mut self,
        account: &Account,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
        queues: &[Bytes],
    ) {
        let result = self.lookup(account, subject).clone();
        self.fan_out(
            account,
            &result,
            subject,
            reply,
            header_len,
            msg,
            Some(queues),
        );
    }

    /// Delivers to every subscription of `result` (one member per queue group), then to the
    /// client subscriptions of the accounts importing the subject as a stream (under the
    /// mapped subject; they go no further). Deliveries through stream imports count for
    /// `account`, as the reference's shadow subscriptions do. Returns the number of
    /// subscriptions that took the message. `routed`: the message came from a route with
    /// these queue groups to serve; route subscriptions are then skipped (the one-hop rule).
    /// Peers get one RMSG per route.
    #[allow(clippy::too_many_arguments)]
    fn fan_out(
        &mut self,
        account: &Account,
        result: &MatchResult<Subscription>,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
        routed: Option<&[Bytes]>,
    ) -> u64 {
        let origin = if routed.is_some() {
            Origin::Route
        } else {
            Origin::Local
        };
        let (mut delivered, mut counted) = self.deliver_all(
            account, result, subject, reply, header_len, msg, origin, routed,
        );
        if let Some(routes) = account.stream_routes() {
            for r in routes.iter() {
                if !r.matches(subject) {
                    continue;
                }
                let Some(importer) = r.importer.upgrade() else {
                    continue;
                };
                let to = r.map.apply(subject);
                let result = importer.sublist.matches(&to);
                let (d, c) = self.deliver_all(
                    &importer,
                    &result,
                    &to,
                    reply,
                    header_len,
                    msg,
                    Origin::Stream,
                    None,
                );
                delivered += d;
                counted += c;
            }
        }
        if counted > 0 {
            let bytes = counted * msg.len() as u64;
            self.out_msgs += counted;
            self.out_bytes += bytes;
            if self.depth == 0 && origin == Origin::Local && self.fanout.me.is_some() {
                self.home_out.0 += counted;
                self.home_out.1 += bytes;
            } else {
                account.stats.add_out(counted, bytes);
            }
        }
        delivered
    }

    /// The subscriptions of one match result: (took the message, of which counted here).
    /// Peers get the message when it was published here (`Origin::Local`).
    #[allow(clippy::too_many_arguments)]
    fn deliver_all(
        &mut self,
        account: &Account,
        result: &MatchResult<Subscription>,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
        origin: Origin,
        routed: Option<&[Bytes]>,
    ) -> (u64, u64) {
        // Peers only learn of messages published on this server, in the original account.
        let to_routes = origin == Origin::Local;
        let mut routes: RouteTargets = Vec::new();
        let (mut delivered, mut counted) = (0u64, 0u64);
        for sub in &result.psubs {
            // The common case first: a client subscription, one dispatch.
            if let Target::Client(c) = &sub.target {
                if self
                    .fanout
                    .deliver_client(c, sub, subject, reply, header_len, msg)
                {
                    delivered += 1;
                    counted += 1;
                }
                continue;
            }
            match &sub.target {
                Target::Route(r) => {
                    if to_routes {
                        route_target(&mut routes, r, None);
                    }
                    continue;
                }
                // The server the request was published on crossed the service import
                // already; crossing it here too would deliver the request twice.
                Target::Import(t)
                    if routed.is_some() && matches!(**t, ImportTarget::Service(_)) =>
                {
                    continue;
                }
                _ => {}
            }
            match self.deliver(sub, subject, reply, header_len, msg, origin) {
                Delivered::No => {}
                Delivered::Counted => {
                    delivered += 1;
                    counted += 1;
                }
                Delivered::Forwarded => delivered += 1,
            }
        }
        for group in &result.qsubs {
            let n = group.members.len();
            if n == 0 {
                continue;
            }
            if let Some(queues) = routed
                && !queues.contains(&group.name)
            {
                continue;
            }
            // Local members first (nats-server prefers them); a peer serves the group only
            // when no local member took the message.
            let start = fastrand::usize(0..n);
            let mut done = false;
            let mut remote_weight = 0u64;
            for i in 0..n {
                let sub = &group.members[(start + i) % n];
                if sub.is_route() {
                    remote_weight += u64::from(sub.weight());
                    continue;
                }
                match self.deliver(sub, subject, reply, header_len, msg, origin) {
                    Delivered::No => continue,
                    Delivered::Counted => counted += 1,
                    Delivered::Forwarded => {}
                }
                delivered += 1;
                done = true;
                break;
            }
            if !done && to_routes && remote_weight > 0 {
                // A peer, in proportion to its member count.
                let mut pick = fastrand::u64(0..remote_weight);
                for sub in &group.members {
                    let Target::Route(r) = &sub.target else {
                        continue;
                    };
                    let w = u64::from(sub.weight());
                    if pick < w {
                        route_target(&mut routes, r, Some(&group.name));
                        break;
                    }
                    pick -= w;
                }
            }
        }
        if !routes.is_empty() {
            let sent = self
                .fanout
                .send_routed(&routes, account, subject, reply, header_len, msg);
            delivered += sent;
            counted += sent;
        }
        (delivered, counted)
    }

    /// Delivers to one subscription: a client's or internal one through the fan-out, an
    /// import by forwarding into the other account.
    fn deliver(
        &mut self,
        sub: &Arc<Subscription>,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
        origin: Origin,
    ) -> Delivered {
        let ok = match &sub.target {
            Target::Client(_) => self.fanout.deliver(sub, subject, reply, header_len, msg),
            Target::Internal(_) if origin == Origin::Stream => false,
            Target::Internal(_) => self.fanout.deliver(sub, subject, reply, header_len, msg),
            Target::Import(_) if origin == Origin::Stream => false,
            Target::Import(t)
                if origin == Origin::Route && matches!(**t, ImportTarget::Service(_)) =>
            {
                false
            }
            Target::Import(t) => {
                return if self.forward(sub, t, subject, reply, header_len, msg) {
                    Delivered::Forwarded
                } else {
                    Delivered::No
                };
            }
            Target::Route(_) => false,
        };
        if ok {
            Delivered::Counted
        } else {
            Delivered::No
        }
    }

    /// A service import takes a request into the exporting account (with a mapped `_R_`
    /// reply and the requestor's account in `Nats-Request-Info`); a response subscription
    /// takes an answer back to the requestor's reply. False when nobody received it.
    fn forward(
        &mut self,
        sub: &Subscription,
        target: &ImportTarget,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) -> bool {
        if sub.is_closed() || self.depth >= MAX_IMPORT_DEPTH {
            return false;
        }
        self.depth += 1;
        let n = match target {
            ImportTarget::Service(si) => match (si.exporter.upgrade(), si.importer.upgrade()) {
                (Some(exporter), Some(importer)) => {
                    let to = si.map.apply(subject);
                    let new_reply = reply
                        .map(|r| imports::new_response(&exporter, &importer, r, si.response_type));
                    let rtt = self
                        .fanout
                        .me
                        .as_ref()
                        .map(|c| c.activity.rtt())
                        .unwrap_or_default();
                    let (m, hl) = imports::with_request_info(msg, header_len, &importer.name, rtt);
                    let result = exporter.sublist.matches(&to);
                    let n = self.fan_out(&exporter, &result, &to, new_reply.as_ref(), hl, &m, None);
                    if n == 0
                        && let Some(r) = &new_reply
                    {
                        imports::drop_response(&exporter, r);
                    }
                    n
                }
                _ => 0,
            },
            ImportTarget::Responses(exporter) => {
                match exporter
                    .upgrade()
                    .and_then(|e| imports::take_response(&e, subject))
                {
                    Some((importer, to)) => {
                        let result = importer.sublist.matches(&to);
                        self.fan_out(&importer, &result, &to, None, header_len, msg, None)
                    }
                    None => 0,
                }
            }
        };
        self.depth -= 1;
        n > 0
    }
}

/// Adds `route` to a message's routes, with `queue` to serve there.
fn route_target(routes: &mut RouteTargets, route: &Arc<ClientShared>, queue: Option<&Bytes>) {
    let i = match routes.iter().position(|(r, _)| Arc::ptr_eq(r, route)) {
        Some(i) => i,
        None => {
            routes.push((route.clone(), Vec::new()));
            routes.len() - 1
        }
    };
    if let Some(q) = queue
        && !routes[i].1.contains(q)
    {
        routes[i].1.push(q.clone());
    }
}

impl Fanout {
    fn touch(&mut self, target: &Arc<ClientShared>, bytes: u64) {
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
    fn send_routed(
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
    fn deliver(
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
    fn deliver_client(
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

    fn is_me(&self, target: &Arc<ClientShared>) -> bool {
        self.me.as_ref().is_some_and(|m| Arc::ptr_eq(target, m))
    }

    /// Hands `msg` to an internal subscription's callback. False when it was not delivered.
    fn deliver_internal(
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
    fn no_responders_reply(&mut self, account: &Account, subject: &[u8], reply: &Bytes) {
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
