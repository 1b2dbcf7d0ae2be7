//! Per-connection outbound queue: byte-bounded, shared payloads, drained by the writer task.
//!
//! Producers (the reader tasks of publishing connections) append frames; small frames are
//! coalesced into one contiguous buffer, large payloads are queued as shared `Bytes` (no copy).
//! The writer takes everything queued in one go and writes it with vectored writes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Payloads at least this long are queued by reference instead of copied: below it a copy is
/// cheaper than an extra iovec and keeps the publisher's read buffer from being pinned.
const SHARE_PAYLOAD_MIN: usize = 2048;

/// Capacity of a fresh coalescing buffer; sized for a read batch of small messages.
const COALESCE_CHUNK: usize = 32 * 1024;

/// Result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueue {
    Queued,
    /// Queued, and the connection's pending bytes are past the stall threshold (75% of
    /// `max_pending`): its producers should wait for it to drain.
    Stalling,
    /// The connection's pending bytes passed `max_pending`: it must be closed as a slow consumer.
    SlowConsumer,
    /// The connection is closing; the frame was dropped.
    Closed,
}

/// How the connection is being closed, as seen by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseMode {
    Open,
    /// Write what is queued (e.g. a final `-ERR`), then close.
    Flush,
    /// Close now, dropping what is queued (slow consumer, write deadline, shutdown).
    Abort,
}

struct State {
    chunks: VecDeque<Bytes>,
    cur: BytesMut,
    /// Bytes queued and not yet written.
    pending: usize,
    mode: CloseMode,
}

/// The outbound side of one connection.
pub struct Outbound {
    state: Mutex<State>,
    wake: Notify,
    /// Signalled after every write, for producers stalled on this connection.
    drained: Notify,
    max_pending: AtomicUsize,
}

impl Outbound {
    pub fn new(max_pending: usize) -> Self {
        Outbound {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                cur: BytesMut::new(),
                pending: 0,
                mode: CloseMode::Open,
            }),
            wake: Notify::new(),
            drained: Notify::new(),
            max_pending: AtomicUsize::new(max_pending),
        }
    }

    pub fn set_max_pending(&self, max: usize) {
        self.max_pending.store(max, Ordering::Relaxed);
    }

    pub fn max_pending(&self) -> usize {
        self.max_pending.load(Ordering::Relaxed)
    }

    /// Bytes queued and not yet written to the socket.
    pub fn pending(&self) -> usize {
        self.state.lock().pending
    }

    /// Queues a protocol line (INFO, PONG, +OK, -ERR...). Control traffic is never refused for
    /// size: it is small and the client is the one who asked for it.
    pub fn push_proto(&self, line: &[u8]) -> Enqueue {
        let mut st = self.state.lock();
        if st.mode != CloseMode::Open {
            return Enqueue::Closed;
        }
        append(&mut st.cur, line);
        st.pending += line.len();
        Enqueue::Queued
    }

    /// Queues one message: `head` (the MSG/HMSG line with its CRLF), `body`, then CRLF.
    pub fn push_msg(&self, head: &[u8], body: &Bytes) -> Enqueue {
        let total = head.len() + body.len() + 2;
        let max = self.max_pending.load(Ordering::Relaxed);
        let mut st = self.state.lock();
        if st.mode != CloseMode::Open {
            return Enqueue::Closed;
        }
        if st.pending + total > max {
            return Enqueue::SlowConsumer;
        }
        let st = &mut *st;
        if body.len() >= SHARE_PAYLOAD_MIN {
            append_chunked(st, head);
            let small = st.cur.split().freeze();
            st.chunks.push_back(small);
            st.chunks.push_back(body.clone());
            append_chunked(st, b"\r\n");
        } else {
            // Head, payload and CRLF go into one chunk: the frame is never split across two.
            let len = head.len() + body.len() + 2;
            if st.cur.capacity() - st.cur.len() < len {
                next_chunk(st, len);
            }
            st.cur.extend_from_slice(head);
            st.cur.extend_from_slice(body);
            st.cur.extend_from_slice(b"\r\n");
        }
        st.pending += total;
        // One lock per delivery: the stall check is answered here, not by a second call.
        if st.pending > max / 4 * 3 {
            Enqueue::Stalling
        } else {
            Enqueue::Queued
        }
    }

    /// Wakes the writer (call once per read batch per target, after queuing).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until the writer has been woken.
    pub async fn wait(&self) {
        self.wake.notified().await;
    }

    /// Moves everything queued into `out`; returns the close mode seen at the same instant.
    pub fn take(&self, out: &mut Vec<Bytes>) -> CloseMode {
        let mut st = self.state.lock();
        if st.mode == CloseMode::Abort {
            return CloseMode::Abort;
        }
        out.extend(st.chunks.drain(..));
        if !st.cur.is_empty() {
            out.push(st.cur.split().freeze());
        }
        st.mode
    }

    /// Records that `n` queued bytes reached the socket.
    pub fn written(&self, n: usize) {
        {
            let mut st = self.state.lock();
            st.pending = st.pending.saturating_sub(n);
        }
        self.drained.notify_waiters();
    }

    /// True when producers should slow down: pending is past the stall threshold.
    pub fn should_stall(&self) -> bool {
        let max = self.max_pending.load(Ordering::Relaxed);
        let st = self.state.lock();
        st.mode == CloseMode::Open && st.pending > max / 4 * 3
    }

    /// Waits (bounded by the caller) until the writer has written something.
    pub async fn wait_drained(&self) {
        self.drained.notified().await;
    }

    /// Starts closing. Returns false if the connection was already closing.
    pub fn close(&self, mode: CloseMode) -> bool {
        let first = {
            let mut st = self.state.lock();
            let first = st.mode == CloseMode::Open;
            if mode == CloseMode::Abort || first {
                st.mode = mode;
            }
            if mode == CloseMode::Abort {
                st.chunks.clear();
                st.cur = BytesMut::new();
            }
            first
        };
        self.wake.notify_one();
        first
    }

    pub fn is_closing(&self) -> bool {
        self.state.lock().mode != CloseMode::Open
    }
}

/// Appends to the coalescing buffer, starting a fresh chunk when the current one is full, so a
/// buffer the writer already took is never grown (its memory is shared with the writer).
fn append(cur: &mut BytesMut, data: &[u8]) {
    if cur.capacity() - cur.len() < data.len() {
        cur.reserve(data.len().max(COALESCE_CHUNK));
    }
    cur.extend_from_slice(data);
}

/// Appends to the coalescing buffer of a message queue (see `next_chunk`).
fn append_chunked(st: &mut State, data: &[u8]) {
    if st.cur.capacity() - st.cur.len() < data.len() {
        next_chunk(st, data.len());
    }
    st.cur.extend_from_slice(data);
}

/// Queues the full coalescing buffer as a chunk and starts a fresh one of at least `len`
/// bytes. Growing the buffer in place instead copied everything queued so far on every
/// doubling (a third of the bytes copied per 1 KiB message in a 64 KiB read batch).
fn next_chunk(st: &mut State, len: usize) {
    if !st.cur.is_empty() {
        let full = st.cur.split().freeze();
        st.chunks.push_back(full);
    }
    st.cur.reserve(len.max(COALESCE_CHUNK));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_coalesce_and_large_are_shared() {
        let ob = Outbound::new(1 << 20);
        assert_eq!(
            ob.push_msg(b"MSG a 1 2\r\n", &Bytes::from_static(b"hi")),
            Enqueue::Queued
        );
        let big = Bytes::from(vec![b'x'; SHARE_PAYLOAD_MIN]);
        assert_eq!(ob.push_msg(b"MSG a 1 2048\r\n", &big), Enqueue::Queued);
        let mut out = Vec::new();
        assert_eq!(ob.take(&mut out), CloseMode::Open);
        let all: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        let mut want = b"MSG a 1 2\r\nhi\r\nMSG a 1 2048\r\n".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n");
        assert_eq!(all, want);
        assert!(
            out.iter().any(|b| b.as_ptr() == big.as_ptr()),
            "large payload is shared"
        );
        assert_eq!(ob.pending(), want.len());
        ob.written(want.len());
        assert_eq!(ob.pending(), 0);
    }

    #[test]
    fn over_max_pending_is_slow_consumer() {
        let ob = Outbound::new(100);
        let body = Bytes::from(vec![b'x'; 60]);
        assert_eq!(ob.push_msg(b"MSG a 1 60\r\n", &body), Enqueue::Queued);
        assert_eq!(ob.push_msg(b"MSG a 1 60\r\n", &body), Enqueue::SlowConsumer);
    }

    #[test]
    fn abort_drops_queue_and_flush_keeps_it() {
        let ob = Outbound::new(1000);
        ob.push_proto(b"-ERR 'x'\r\n");
        assert!(ob.close(CloseMode::Flush));
        let mut out = Vec::new();
        assert_eq!(ob.take(&mut out), CloseMode::Flush);
        assert_eq!(out.len(), 1);
        assert_eq!(ob.push_proto(b"PONG\r\n"), Enqueue::Closed);
        assert!(!ob.close(CloseMode::Abort));
        out.clear();
        assert_eq!(ob.take(&mut out), CloseMode::Abort);
        assert!(out.is_empty());
    }
}
