//! A subscription: what the sublist stores and what a publish delivers to — a client
//! connection, an internal consumer of the server (service imports, `$SYS` handlers), or a
//! route standing for a peer server's interest (written as RMSG).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use bytes::Bytes;

use crate::client::ClientShared;
use crate::permissions::Permissions;

/// A message handed to an internal subscription.
pub struct InternalMsg<'a> {
    /// The subject as published (in the subscription's account).
    pub subject: &'a [u8],
    pub reply: Option<&'a Bytes>,
    /// Length of the header block at the start of `msg` (0: no headers).
    pub header_len: usize,
    /// Headers and payload.
    pub msg: &'a Bytes,
    /// The connection that published it, if a client did.
    pub from: Option<&'a Arc<ClientShared>>,
}

/// The callback of an internal subscription. It runs on the publisher's task, inside the
/// fan-out: it must not block; queue work elsewhere (a channel, a spawned task) if it must.
pub type InternalHandler = Arc<dyn Fn(&InternalMsg<'_>) + Send + Sync>;

/// Who receives what a subscription matches.
pub enum Target {
    /// A client connection: the message is queued to its socket.
    Client(Arc<ClientShared>),
    /// A server-side consumer: the callback is invoked inline.
    Internal(InternalHandler),
    /// Cross-account routing: a service import (requests forwarded into the exporter) or an
    /// exporter's response subscription (answers mapped back to the requestor).
    Import(Arc<crate::imports::ImportTarget>),
    /// A peer server's interest (`RS+`): RMSG/HMSG on this route connection, once per route
    /// and message, never for messages that came from a route (the one-hop rule).
    Route(Arc<ClientShared>),
}

/// One `SUB` of one connection, or one internal subscription.
pub struct Subscription {
    /// What receives the subscription's messages.
    pub target: Target,
    /// For a remote queue subscription: how many members the peer has (`RS+ ... <weight>`).
    weight: AtomicU32,
    pub subject: Bytes,
    pub queue: Option<Bytes>,
    pub sid: Bytes,
    /// Auto-unsubscribe after this many deliveries; 0 means never (`UNSUB <sid> <max>`).
    max: AtomicU64,
    /// Messages delivered so far (counts toward `max`).
    delivered: AtomicU64,
    /// Set once the subscription has been removed; a racing delivery then skips it.
    closed: AtomicBool,
    /// The owner's permissions when a wildcard subscription overlaps its subscribe deny list:
    /// each delivery is then checked against the deny list (nats-server's `mperms`).
    pub deny_filter: Option<Arc<Permissions>>,
}

/// What a delivery attempt says about the subscription's auto-unsubscribe limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryCount {
    /// Deliver; the subscription stays.
    Deliver,
    /// Deliver; this was the last message, remove the subscription now.
    DeliverLast,
    /// The limit was already reached (a concurrent delivery took the last slot): skip.
    Skip,
}

impl Subscription {
    pub fn new(
        client: Arc<ClientShared>,
        subject: Bytes,
        queue: Option<Bytes>,
        sid: Bytes,
    ) -> Self {
        Self::with_target(Target::Client(client), subject, queue, sid)
    }

    /// An internal subscription: `handler` gets every matching message. Insert it into an
    /// account's sublist (`account.sublist.insert(&sub.subject, sub.queue.as_deref(), sub)`);
    /// remove it the same way and call [`Subscription::close`].
    pub fn internal(
        handler: InternalHandler,
        subject: Bytes,
        queue: Option<Bytes>,
        sid: Bytes,
    ) -> Self {
        Self::with_target(Target::Internal(handler), subject, queue, sid)
    }

    /// A subscription delivering to `target`.
    pub fn with_target(target: Target, subject: Bytes, queue: Option<Bytes>, sid: Bytes) -> Self {
        Subscription {
            target,
            weight: AtomicU32::new(1),
            subject,
            queue,
            sid,
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            deny_filter: None,
        }
    }

    /// A peer's interest as announced over `route` (which receives the RMSGs).
    pub fn new_route(
        route: Arc<ClientShared>,
        subject: Bytes,
        queue: Option<Bytes>,
        weight: u32,
    ) -> Self {
        let s = Self::with_target(Target::Route(route), subject, queue, Bytes::new());
        s.set_weight(weight);
        s
    }

    pub fn is_route(&self) -> bool {
        matches!(self.target, Target::Route(_))
    }

    /// The queue weight of a remote queue subscription (1 for others).
    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// Updates a remote queue subscription's weight in place (a repeated `RS+`), as
    /// nats-server's `UpdateRemoteQSub` does: the sublist and its caches stay valid.
    pub fn set_weight(&self, w: u32) {
        self.weight.store(w.max(1), Ordering::Relaxed);
    }

    /// Sets the auto-unsubscribe limit. Returns true when it is already reached,
    /// which means the subscription must be removed at once (as nats-server does).
    pub fn set_max(&self, max: u64) -> bool {
        self.max.store(max, Ordering::Release);
        self.delivered.load(Ordering::Acquire) >= max
    }

    /// The client connection receiving this subscription's messages, if it is a client's.
    pub fn client(&self) -> Option<&Arc<ClientShared>> {
        match &self.target {
            Target::Client(c) => Some(c),
            Target::Internal(_) | Target::Import(_) | Target::Route(_) => None,
        }
    }

    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire)
    }

    /// Counts one delivery against the auto-unsubscribe limit.
    pub fn count_delivery(&self) -> DeliveryCount {
        let n = self.delivered.fetch_add(1, Ordering::AcqRel) + 1;
        let max = self.max.load(Ordering::Acquire);
        if max == 0 || n < max {
            DeliveryCount::Deliver
        } else if n == max {
            DeliveryCount::DeliverLast
        } else {
            DeliveryCount::Skip
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the subscription removed; returns false if it already was.
    pub fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }
}
