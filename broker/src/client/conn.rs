//! The reader task of a client connection: reads, parses, and applies each op.

mod logging;
mod operator;
pub(crate) use operator::permissions_from_jwt;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::connect::{ConnectOptions, MAX_CLIENT_PROTOCOL};
use super::delivery::Publisher;
use super::pub_perm_cache::PubPermCache;
use super::{ClientShared, CloseReason, trace};
use crate::account::Account;
use crate::auth;
use crate::permissions::Permissions;
use crate::proto::{ClientOp, Parser, ParserLimits, PubFrame};
use crate::server::Server;
use crate::subject;
use crate::subscription::Subscription;

/// First read-buffer size; small so idle connections stay cheap (nats-server starts at 512).
const READ_BUF_START: usize = 4 * 1024;
/// The read buffer grows up to this size while reads keep filling it.
const READ_BUF_MAX: usize = 64 * 1024;
/// Interval of the first PING to a client (`firstClientPingInterval`), when shorter than
/// `ping_interval`, plus up to 20% jitter as nats-server adds.
const FIRST_CLIENT_PING: Duration = Duration::from_secs(2);

/// How long an RTT measurement stays fresh (`DEFAULT_RTT_MEASUREMENT_INTERVAL`).
const RTT_MEASUREMENT_INTERVAL: Duration = Duration::from_secs(3600);

/// Reply prefixes a client may not publish with (service imports, JetStream acks, gateways).
const RESERVED_REPLY_PREFIXES: [&[u8]; 3] = [b"_R_.", b"$JS.ACK.", b"_GR_."];

/// The reader's private state for one connection.
pub(super) struct Conn {
    server: Arc<Server>,
    shared: Arc<ClientShared>,
    parser: Parser,
    opts: ConnectOptions,
    connected: bool,
    first_pong_sent: bool,
    auth_required: bool,
    perms: Option<Arc<Permissions>>,
    /// Publish decisions for `perms`.
    pub_perms: PubPermCache,
    /// The `perms_generation` of the shared state that `perms` was copied at.
    perms_gen: u64,
    /// The server's options generation the parser limits were taken from.
    options_gen: u64,
    pings_out: u32,
    /// Last time the client sent messages, subscriptions or a PING (`lastIn`).
    last_in: Instant,
    /// Whether this read batch carried messages or subscriptions.
    activity: bool,
    /// PUBs of this read batch need more than the fast path: the account maps subjects, or
    /// tracing is on (looked at once per read, as nats-server looks at mappings).
    special_pub: bool,
    /// When the last RTT-measuring PING went out; none yet means the next timer must PING.
    rtt_start: Option<Instant>,
    /// CONNECT restarts the ping timer with the short first interval, as nats-server does.
    rearm_ping: bool,
    publisher: Publisher,
    /// The account the connection is bound to (chosen at CONNECT by the user's account).
    account: Arc<Account>,
    /// Messages and bytes received in the current read batch, not yet added to the counters.
    in_msgs: u64,
    in_bytes: u64,
    /// Subscription limit set by a user or account JWT (None: the server's).
    max_subs: Option<usize>,
    /// Payload limit set by a user or account JWT (None: the server's).
    max_payload: Option<usize>,
    /// When a user JWT (or its time-of-day window) expires, or (true) its account JWT.
    expires_at: Option<(tokio::time::Instant, bool)>,
}

impl Conn {
    pub(super) fn new(server: Arc<Server>, shared: Arc<ClientShared>) -> Self {
        let o = server.options();
        let mut parser = Parser::new(ParserLimits {
            max_control_line: o.max_control_line,
            max_payload: o.max_payload,
        });
        let auth = server.auth();
        let auth_required = auth.auth_required();
        let options_gen = server.options_generation();
        parser.set_require_connect(auth_required && auth.no_auth_user.is_none());
        Conn {
            publisher: Publisher::new(shared.clone()),
            account: shared.account(),
            in_msgs: 0,
            in_bytes: 0,
            server,
            shared,
            parser,
            opts: ConnectOptions::default(),
            connected: false,
            first_pong_sent: false,
            auth_required,
            perms: None,
            pub_perms: PubPermCache::default(),
            perms_gen: 0,
            options_gen,
            pings_out: 0,
            last_in: Instant::now(),
            activity: false,
            special_pub: false,
            rtt_start: None,
            rearm_ping: false,
            max_subs: None,
            max_payload: None,
            expires_at: None,
        }
    }

    /// Reads until the connection closes; `rd` is the socket or its TLS session.
    pub(super) async fn run<R: AsyncRead + Unpin>(&mut self, mut rd: R) {
        let o = self.server.options();
        let mut buf = BytesMut::with_capacity(READ_BUF_START);
        let mut want = READ_BUF_START;
        let ping = tokio::time::sleep(o.ping_interval);
        tokio::pin!(ping);
        let auth_deadline = tokio::time::sleep(o.effective_auth_timeout());
        tokio::pin!(auth_deadline);
        let auth_timer_on = self.auth_required;
        // Armed at CONNECT when a user JWT expires; far away until then.
        let expiry = tokio::time::sleep(Duration::from_secs(u32::MAX as u64));
        tokio::pin!(expiry);
        let mut expiry_armed = false;

        loop {
            if buf.capacity() - buf.len() < 512 {
                buf.reserve(want);
            }
            tokio::select! {
                biased;
                _ = self.shared.cancel.cancelled() => return,
                res = rd.read_buf(&mut buf) => match res {
                    Ok(0) => {
                        self.shared.close(CloseReason::ClientClosed);
                        return;
                    }
                    Ok(n) => {
                        self.refresh_limits();
                        if n >= want && want < READ_BUF_MAX {
                            want *= 2;
                        }
                        self.special_pub = self.account.has_mappings() || trace::enabled();
                        self.publisher.refresh_trace();
                        let open = self.process(&mut buf);
                        let woke_others = self.end_of_batch();
                        if !open {
                            return;
                        }
                        self.publisher.stall().await;
                        if woke_others {
                            // Let the woken writers run before reading on: tokio keeps the
                            // last woken task in a slot no other worker steals from, and a
                            // reader with data waiting only yields when its budget (128 reads)
                            // runs out, so writers otherwise wrote megabytes at a time.
                            tokio::task::yield_now().await;
                        }
                        if self.activity {
                            self.activity = false;
                            self.last_in = Instant::now();
                            self.shared.activity.touch();
                        }
                        if !expiry_armed && let Some((at, _)) = self.expires_at {
                            expiry_armed = true;
                            expiry.as_mut().reset(at);
                        }
                        if self.rearm_ping {
                            self.rearm_ping = false;
                            let first = first_ping_delay(self.server.options().ping_interval);
                            ping.as_mut().reset(tokio::time::Instant::now() + first);
                        }
                    }
                    Err(_) => {
                        self.shared.close(CloseReason::ReadError);
                        return;
                    }
                },
                _ = &mut auth_deadline, if auth_timer_on && !self.connected => {
                    self.send_err("Authentication Timeout");
                    tracing::error!("{} - Authentication Timeout", self.shared.label());
                    self.shared.close(CloseReason::AuthenticationTimeout);
                    return;
                }
                _ = &mut expiry, if expiry_armed => {
                    self.auth_expired();
                    return;
                }
                _ = &mut ping => {
                    if !self.ping_timer() {
                        return;
                    }
                    let next = self.server.options().ping_interval;
                    ping.as_mut().reset(tokio::time::Instant::now() + next);
                }
            }
        }
    }

    /// The ping timer fired: maybe PING, or close a stale connection. False = closed.
    fn ping_timer(&mut self) -> bool {
        let o = self.server.options();
        let need_rtt = self
            .rtt_start
            .is_none_or(|t| t.elapsed() > RTT_MEASUREMENT_INTERVAL);
        if self.last_in.elapsed() < o.ping_interval && !need_rtt {
            return true;
        }
        if self.pings_out + 1 > o.ping_max {
            self.send_err("Stale Connection");
            tracing::debug!(
                "{} - Stale Client Connection - Closing",
                self.shared.label()
            );
            self.shared.close(CloseReason::StaleConnection);
            return false;
        }
        self.pings_out += 1;
        if trace::enabled() {
            trace::op_out(&self.shared.label(), "PING", None);
        }
        self.rtt_start = Some(Instant::now());
        self.shared.activity.ping_sent();
        self.shared.outbound.push_proto(b"PING\r\n");
        self.shared.outbound.wake();
        true
    }

    /// Applies every complete op in `buf`. False = the connection is closing.
    fn process(&mut self, buf: &mut BytesMut) -> bool {
        loop {
            if let Some(frame) = self.parser.complete_pub(buf) {
                self.activity = true;
                self.publish_frame(buf, frame);
                continue;
            }
            match self.parser.parse(buf) {
                Ok(Some(op)) => {
                    if !self.handle(op) {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(err) => {
                    if let Some(text) = err.client_error_text() {
                        self.send_err(text);
                    }
                    let reason = match err.client_error_text() {
                        Some("Authorization Violation") => CloseReason::AuthenticationViolation,
                        Some("Maximum Payload Violation") => CloseReason::MaxPayloadExceeded,
                        Some("maximum control line exceeded") => {
                            CloseReason::MaxControlLineExceeded
                        }
                        _ => CloseReason::ProtocolViolation,
                    };
                    tracing::error!("{} - {}", self.shared.label(), err);
                    self.shared.close(reason);
                    return false;
                }
            }
        }
    }

    fn handle(&mut self, op: ClientOp) -> bool {
        if trace::enabled() {
            self.trace_op(&op);
        }
        match op {
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => {
                self.activity = true;
                self.publish(subject, reply, 0, payload);
                true
            }
            ClientOp::HPub {
                subject,
                reply,
                header_len,
                message,
            } => {
                self.activity = true;
                self.publish(subject, reply, header_len, message);
                true
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => {
                self.activity = true;
                self.subscribe(subject, queue, sid);
                true
            }
            ClientOp::Unsub { sid, max } => {
                self.unsubscribe(&sid, max);
                true
            }
            ClientOp::Ping => {
                self.ping();
                true
            }
            ClientOp::Pong => {
                self.pings_out = 0;
                self.shared.activity.pong_received();
                true
            }
            ClientOp::Connect(json) => self.connect(&json),
            ClientOp::HMsg => {
                // nats-server runs its publish path with an empty subject: counted, acknowledged
                // when verbose, delivered to nobody.
                self.activity = true;
                self.in_msgs += 1;
                self.send_ok();
                true
            }
            ClientOp::Ok => true,
            ClientOp::Info(json) => {
                // nats-server ignores a client's INFO when it unmarshals, else closes silently.
                let ok = matches!(
                    serde_json::from_slice::<serde_json::Value>(&json),
                    Ok(serde_json::Value::Object(_))
                );
                if !ok {
                    self.shared.close(CloseReason::ProtocolViolation);
                }
                ok
            }
            ClientOp::Err(text) => {
                // nats-server logs the client's error and closes without answering.
                tracing::error!(
                    "{} - Client Error {}",
                    self.shared.label(),
                    String::from_utf8_lossy(&text)
                );
                self.shared.close(CloseReason::ProtocolViolation);
                false
            }
        }
    }

    fn send_ok(&self) {
        if self.opts.verbose {
            if trace::enabled() {
                trace::op_out(&self.shared.label(), "OK", None);
            }
            self.shared.outbound.push_proto(b"+OK\r\n");
            self.publisher.mark_self();
        }
    }

    fn send_err(&self, text: &str) {
        if trace::enabled() {
            trace::op_out(&self.shared.label(), "-ERR", Some(text));
        }
        let line = format!("-ERR '{text}'\r\n");
        self.shared.outbound.push_proto(line.as_bytes());
        self.shared.outbound.wake();
    }

    fn ping(&mut self) {
        if trace::enabled() {
            trace::op_out(&self.shared.label(), "PONG", None);
        }
        self.shared.outbound.push_proto(b"PONG\r\n");
        self.publisher.mark_self();
        self.last_in = Instant::now();
        if self.connected && !self.first_pong_sent {
            self.first_pong_sent = true;
            if self.opts.protocol >= 1 {
                let account = self.shared.account();
                let info = self.jwt_info(&account.name).unwrap_or_else(|| {
                    self.server.client_info(
                        self.shared.cid,
                        &self.shared.addr.ip().to_string(),
                        Some(&account.name),
                        false,
                    )
                });
                self.shared.outbound.push_proto(&info);
                self.shared.set_async_info();
            }
        }
    }

    fn connect(&mut self, json: &[u8]) -> bool {
        let opts = match self.opts.merge_json(json) {
            Ok(o) => o,
            Err(err) => {
                tracing::error!("{} - {}", self.shared.label(), err);
                self.shared.close(CloseReason::ProtocolViolation);
                return false;
            }
        };
        self.opts = opts;
        self.shared.activity.connected(self.shared.start);
        {
            // What /connz shows, also for a connection that fails authentication next:
            // nats-server keeps the CONNECT fields and the raw credential (`getRawAuthUser`).
            let mut meta = self.shared.meta.write();
            meta.name = self.opts.name.clone();
            meta.lang = self.opts.lang.clone();
            meta.version = self.opts.version.clone();
            meta.user = if !self.opts.nkey.is_empty() {
                self.opts.nkey.clone()
            } else if !self.opts.user.is_empty() {
                self.opts.user.clone()
            } else if !self.opts.auth_token.is_empty() {
                "[REDACTED]".to_string()
            } else {
                String::new()
            };
        }
        self.connected = true;
        self.rearm_ping = true;
        let headers = self.opts.headers && !self.server.options().no_header_support;
        self.shared.set_headers(headers);
        self.parser.set_headers_allowed(headers);
        self.parser.set_require_connect(false);
        self.publisher
            .set_flags(self.opts.echo, self.opts.no_responders);

        let server_opts = self.server.options();
        if server_opts.operator_mode() {
            if !self.connect_jwt() {
                self.auth_error_event();
                return false;
            }
        } else {
            match auth::authenticate(&self.server.auth(), &self.opts, self.shared.transport()) {
                Some(identity) => {
                    let account = self.server.account_for(identity.account.as_deref());
                    if !Arc::ptr_eq(&account, &self.account) {
                        self.shared.set_account(account.clone());
                        self.account = account;
                    }
                    self.shared.set_permissions(identity.permissions);
                    self.shared.set_credentials(self.opts.clone());
                    self.refresh_permissions();
                    if !identity.user.is_empty() {
                        self.shared.meta.write().user = identity.user;
                    }
                }
                None => {
                    self.send_err("Authorization Violation");
                    tracing::error!(
                        "{} - authentication error{}",
                        self.shared.label(),
                        auth::log_suffix(&self.opts)
                    );
                    self.shared.close(CloseReason::AuthenticationViolation);
                    self.auth_error_event();
                    return false;
                }
            }
        }
        self.set_log_tag();
        if !self.opts.account.is_empty() || self.opts.new_account {
            self.send_err("Authorization Violation");
            self.shared.close(CloseReason::AuthenticationViolation);
            return false;
        }
        {
            let mut meta = self.shared.meta.write();
            meta.name = self.opts.name.clone();
            meta.lang = self.opts.lang.clone();
            meta.version = self.opts.version.clone();
        }
        if self.opts.protocol < 0 || self.opts.protocol > MAX_CLIENT_PROTOCOL {
            self.send_err("invalid client protocol");
            self.shared.close(CloseReason::BadClientProtocolVersion);
            return false;
        }
        if self.opts.no_responders && !headers {
            self.send_err("no responders requires headers support");
            self.shared.close(CloseReason::NoRespondersRequiresHeaders);
            return false;
        }
        if let Some(sys) = self.server.system() {
            sys.connect_event(&self.server, &self.shared);
        }
        self.special_pub = self.account.has_mappings() || trace::enabled();
        self.send_ok();
        true
    }

    /// `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` for a connection refused at CONNECT.
    fn auth_error_event(&self) {
        if self.shared.close_reason() == Some(CloseReason::AuthenticationViolation)
            && let Some(sys) = self.server.system()
        {
            sys.auth_error_event(&self.server, &self.shared);
        }
    }

    /// Takes the parser limits from the options again after a reload.
    fn refresh_limits(&mut self) {
        let generation = self.server.options_generation();
        if generation != self.options_gen {
            self.options_gen = generation;
            self.apply_parser_limits();
            self.refresh_jwt_limits();
        }
    }

    /// Copies the connection's permissions if a reload replaced them (one atomic load).
    fn refresh_permissions(&mut self) {
        let generation = self.shared.perms_generation();
        if generation != self.perms_gen {
            self.perms_gen = generation;
            self.perms = self.shared.permissions();
            self.pub_perms.clear();
        }
    }

    fn subscribe(&mut self, subject: Bytes, queue: Option<Bytes>, sid: Bytes) {
        self.refresh_permissions();
        if let Some(perms) = &self.perms
            && !perms.can_subscribe(&subject, queue.as_deref())
        {
            let text = match &queue {
                Some(q) => format!(
                    "Permissions Violation for Subscription to {:?} using queue {:?}",
                    String::from_utf8_lossy(&subject),
                    String::from_utf8_lossy(q)
                ),
                None => format!(
                    "Permissions Violation for Subscription to {:?}",
                    String::from_utf8_lossy(&subject)
                ),
            };
            self.send_err(&text);
            return;
        }
        let max_tokens = usize::from(self.server.options().max_sub_tokens);
        if max_tokens > 0 && subject.split(|b| *b == b'.').count() > max_tokens {
            let subject = String::from_utf8_lossy(&subject);
            self.send_err(&format!(
                "Permissions Violation for Subscription to {subject:?}, too many tokens"
            ));
            tracing::error!(
                "{} - Subscription Violation Too Many Tokens - Subject {subject:?}, SID {}",
                self.shared.label(),
                String::from_utf8_lossy(&sid)
            );
            return;
        }
        let server_max = self.server.options().max_subscriptions;
        // A JWT's limit (already the tighter of user, account and server) wins; the server's
        // 0 means unlimited.
        let limit = self.max_subs.or((server_max > 0).then_some(server_max));
        if let Some(max_subs) = limit
            && self.shared.num_subs() >= max_subs
        {
            self.send_err("maximum subscriptions exceeded");
            tracing::error!(
                "{} - Maximum Subscriptions Exceeded (max={})",
                self.shared.label(),
                max_subs
            );
            return;
        }
        let mut sub = Subscription::new(self.shared.clone(), subject, queue, sid);
        if let Some(perms) = &self.perms
            && perms.needs_delivery_check(&sub.subject)
        {
            sub.deny_filter = Some(perms.clone());
        }
        let sub = Arc::new(sub);
        if self.shared.add_sub(sub.clone()).is_none() {
            let account = self.shared.account();
            if account
                .sublist
                .insert(&sub.subject, sub.queue.as_deref(), sub.clone())
                .is_err()
            {
                self.shared.remove_sub(&sub);
                self.send_err("Invalid Subject");
                return;
            }
            self.server.routes.local_interest(&account, &sub, 1);
        }
        self.send_ok();
    }

    fn unsubscribe(&mut self, sid: &[u8], max: Option<u64>) {
        if let Some(sub) = self.shared.get_sub(sid) {
            match max {
                Some(max) if max > 0 => {
                    if sub.set_max(max) {
                        self.shared.remove_sub(&sub);
                    }
                }
                _ => self.shared.remove_sub(&sub),
            }
        }
        self.send_ok();
    }

    fn publish(&mut self, subject: Bytes, reply: Option<Bytes>, header_len: usize, msg: Bytes) {
        let subject = if self.account.has_mappings() {
            self.mapped(&subject).unwrap_or(subject)
        } else {
            subject
        };
        self.publish_as(subject, reply, header_len, msg);
    }

    /// Publishes to `subject` as it is (already mapped).
    fn publish_as(&mut self, subject: Bytes, reply: Option<Bytes>, header_len: usize, msg: Bytes) {
        // An empty subject: a weighted mapping that lists its source dropped this one (it is
        // still checked against the permissions, as nats-server does).
        if self.may_publish(&subject, reply.as_deref(), msg.len()) && !subject.is_empty() {
            self.publisher
                .publish(&self.account, &subject, reply.as_ref(), header_len, &msg);
        }
    }

    /// A complete PUB at the front of `buf` (the parser's fast path): checked and matched on
    /// the read buffer in place, and only cut out of it (three reference counts) when someone
    /// receives it. Publish-only traffic touches no shared counter per message.
    fn publish_frame(&mut self, buf: &mut BytesMut, frame: PubFrame) {
        if self.special_pub {
            if trace::enabled() {
                self.trace_frame(buf, &frame);
            }
            if let Some(mapped) = self.mapped(PubFrame::get(buf, frame.subject)) {
                let (_, reply, payload) = frame.split(buf);
                return self.publish_as(mapped, reply, 0, payload);
            }
        }
        let subject = PubFrame::get(buf, frame.subject);
        let reply = frame.reply.map(|r| PubFrame::get(buf, r));
        let size = frame.payload.1 - frame.payload.0;
        let result = if self.may_publish(subject, reply, size) {
            self.publisher
                .interest(&self.account, subject, reply.is_some())
        } else {
            None
        };
        match result {
            Some(result) => {
                let (subject, reply, payload) = frame.split(buf);
                self.publisher.publish_to(
                    &self.account,
                    &result,
                    &subject,
                    reply.as_ref(),
                    0,
                    &payload,
                );
            }
            None => buf.advance(frame.len),
        }
    }

    /// The subject a publish to `subject` is delivered as, when the account maps it
    /// (nats-server maps before checking permissions).
    #[cold]
    fn mapped(&self, subject: &[u8]) -> Option<Bytes> {
        if !self.account.has_mappings() {
            return None;
        }
        let mapped = self
            .account
            .map_subject(subject, || self.server.routes.cluster_name())?;
        Some(Bytes::from(mapped))
    }

    /// Counts a message in and checks that the client may publish it (`-ERR` when not);
    /// acknowledges it when verbose.
    fn may_publish(&mut self, subject: &[u8], reply: Option<&[u8]>, size: usize) -> bool {
        self.refresh_permissions();
        self.in_msgs += 1;
        self.in_bytes += size as u64;
        if self.opts.pedantic && !subject::is_valid_literal_subject(subject) {
            self.send_err("Invalid Publish Subject");
        }
        if subject.starts_with(b"_GR_.") {
            self.pub_violation(subject);
            return false;
        }
        if let Some(perms) = &self.perms
            && !self.pub_perms.can_publish(perms, subject)
            && !self.shared.response_allowed(subject, perms)
        {
            self.pub_violation(subject);
            return false;
        }
        if subject.starts_with(b"$NRG.") {
            self.pub_violation(subject);
            return false;
        }
        if let Some(r) = reply
            && is_reserved_reply(r)
        {
            let text = format!(
                "Permissions Violation for Publish with Reply of {:?}",
                String::from_utf8_lossy(r)
            );
            self.send_err(&text);
            return false;
        }
        self.send_ok();
        true
    }

    /// After a read batch: wake every connection written to and add the batch's counters
    /// (shared counters are touched once per batch, not once per message).
    /// True when another connection's writer was woken.
    fn end_of_batch(&mut self) -> bool {
        let woke_others = self.publisher.flush_targets(&self.server);
        if self.in_msgs > 0 {
            let (msgs, bytes) = (self.in_msgs, self.in_bytes);
            self.shared.stats.in_msgs.fetch_add(msgs, Ordering::Relaxed);
            self.shared
                .stats
                .in_bytes
                .fetch_add(bytes, Ordering::Relaxed);
            self.account.stats.add_in(msgs, bytes);
            self.server.stats.in_msgs.fetch_add(msgs, Ordering::Relaxed);
            self.server
                .stats
                .in_bytes
                .fetch_add(bytes, Ordering::Relaxed);
            self.in_msgs = 0;
            self.in_bytes = 0;
        }
        woke_others
    }

    fn pub_violation(&self, subject: &[u8]) {
        let text = format!(
            "Permissions Violation for Publish to {:?}",
            String::from_utf8_lossy(subject)
        );
        self.send_err(&text);
        tracing::error!(
            "{} - Publish Violation - Subject {:?}",
            self.shared.label(),
            String::from_utf8_lossy(subject)
        );
    }
}

fn is_reserved_reply(reply: &[u8]) -> bool {
    RESERVED_REPLY_PREFIXES
        .iter()
        .any(|p| reply.len() >= p.len() && reply.starts_with(p))
        && !(reply.len() == 8 && reply == b"$JS.ACK.")
        && !(reply.len() == 5 && reply == b"_GR_.")
}

/// First ping: `min(ping_interval, 2s)` plus up to 20% jitter, as nats-server does.
fn first_ping_delay(interval: Duration) -> Duration {
    let base = interval.min(FIRST_CLIENT_PING);
    let jitter_max = (base.as_nanos() / 5) as u64;
    let jitter = if jitter_max > 0 {
        fastrand::u64(0..jitter_max)
    } else {
        0
    };
    base + Duration::from_nanos(jitter)
}
