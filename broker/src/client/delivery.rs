//! Fan-out of one published message: sublist match (through a per-connection cache), plain
//! subscriptions, queue-group pick, routes, stream and service imports, no-responders, and the
//! deferred flush of every touched connection with its counters added once per read batch.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::ClientShared;
use super::fanout::{Fanout, RouteTargets};
use crate::account::Account;
use crate::imports::{self, ImportTarget};
use crate::server::Server;
use crate::sublist::MatchResult;
use crate::subscription::{Subscription, Target};

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
    /// subject seen before touches no shared lock. The keys are copies (a slice of the read
    /// buffer would keep that buffer alive) hashed with foldhash: SipHash took a fifth of the
    /// publish-only path's instructions, and the map is per connection and bounded.
    l1: HashMap<Box<[u8]>, Arc<MatchResult<Subscription>>, foldhash::fast::RandomState>,
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
                trace: super::trace::enabled(),
            },
            no_responders: false,
            l1: HashMap::default(),
            l1_generation: u64::MAX,
            l1_account: 0,
            out_msgs: 0,
            out_bytes: 0,
            depth: 0,
            home_out: (0, 0),
        }
    }

    /// Takes up the tracing setting (once per read batch).
    pub fn refresh_trace(&mut self) {
        self.fanout.trace = super::trace::enabled();
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
            super::direct::flush_or_wake(me);
        }
        let mut woke_others = false;
        if !f.touched.is_empty() {
            // Delivery is activity of the receiving connection (`/connz` `last_activity`).
            let now = crate::monitor::activity::Activity::now();
            for (t, msgs, bytes) in f.touched.drain(..) {
                t.stats.out_msgs.fetch_add(msgs, Ordering::Relaxed);
                t.stats.out_bytes.fetch_add(bytes, Ordering::Relaxed);
                t.activity.touch_at(now);
                let woke = super::direct::flush_or_wake(&t);
                woke_others |= woke && !f.me.as_ref().is_some_and(|me| Arc::ptr_eq(&t, me));
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

    /// The subscriptions matching `subject` when the message goes anywhere: `None` when
    /// nothing matches, no stream import may take it and no no-responders status is owed
    /// (`has_reply`), so the caller need not even cut the message out of its read buffer.
    pub fn interest(
        &mut self,
        account: &Account,
        subject: &[u8],
        has_reply: bool,
    ) -> Option<Arc<MatchResult<Subscription>>> {
        let wanted = |r: &MatchResult<Subscription>| {
            !r.is_empty() || (has_reply && self.no_responders) || account.stream_routes().is_some()
        };
        // Read the generation before matching: a concurrent change then invalidates the entry.
        let generation = account.sublist.generation();
        let account_id = account as *const Account as usize;
        if generation != self.l1_generation || account_id != self.l1_account {
            self.l1.clear();
            self.l1_generation = generation;
            self.l1_account = account_id;
        } else if let Some(result) = self.l1.get(subject) {
            // One hash and no reference count for a subject seen before with nobody on it.
            return wanted(result).then(|| result.clone());
        }
        let result = account.sublist.matches(subject);
        if self.l1.len() >= L1_MAX {
            self.l1.clear();
        }
        self.l1.insert(subject.into(), result.clone());
        wanted(&result).then_some(result)
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
        if let Some(result) = self.interest(account, subject, reply.is_some()) {
            self.publish_to(account, &result, subject, reply, header_len, msg);
        }
    }

    /// Delivers one message to every subscription of `result` (from [`Publisher::interest`]
    /// for `account` and `subject`).
    pub fn publish_to(
        &mut self,
        account: &Account,
        result: &MatchResult<Subscription>,
        subject: &Bytes,
        reply: Option<&Bytes>,
        header_len: usize,
        msg: &Bytes,
    ) {
        let delivered = self.fan_out(account, result, subject, reply, header_len, msg, None);
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
        let Some(result) = self.interest(account, subject, false) else {
            return;
        };
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
                    let mut to = si.map.apply(subject);
                    // The exporter's own mappings apply to what it is asked (cluster-scoped
                    // destinations are not told apart here: the default ones apply).
                    if exporter.has_mappings()
                        && let Some(mapped) = exporter.map_subject(&to, String::new)
                    {
                        to = Bytes::from(mapped);
                    }
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
