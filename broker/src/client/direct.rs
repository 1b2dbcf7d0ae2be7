//! Direct writes for plain TCP clients: after a read batch, the publisher's reader writes a
//! receiver's queued output to its socket itself, without blocking, as nats-server's
//! `flushClients` does, instead of waking the receiver's writer task (which on a 2-worker
//! runtime wakes the other thread and moves the data across cores). What the socket does not
//! take at once is left, in order, to the writer task, which waits for the socket under the
//! write deadline.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::tcp::OwnedWriteHalf;

use super::ClientShared;
use super::outbound::{CloseMode, Outbound};
use super::writer::{consume, io_slices, write_succeeded};

/// The write half of a plain TCP client, shared by its writer task and by readers that
/// deliver to it.
pub struct DirectWriter {
    sock: OwnedWriteHalf,
    /// Output taken from the queue and not yet written, oldest first. Holding the lock is the
    /// right to write, so two writers never interleave; it is held only around non-blocking
    /// writes, never across an await.
    left: Mutex<Vec<Bytes>>,
}

/// What a flush achieved.
#[derive(Debug)]
pub enum Flush {
    /// Everything queued was written; `closing` when the connection is flushing to close.
    Done {
        closing: bool,
    },
    /// The socket is full: the rest waits for it to become writable.
    Blocked,
    /// Another writer holds the socket (only from `try_flush`).
    Busy,
    /// The connection is closing without flushing.
    Aborted,
    Failed(std::io::Error),
}

impl DirectWriter {
    pub fn new(sock: OwnedWriteHalf) -> Self {
        DirectWriter {
            sock,
            left: Mutex::new(Vec::new()),
        }
    }

    /// From a reader: writes what the socket takes now, unless someone else is writing.
    pub fn try_flush(&self, ob: &Outbound) -> Flush {
        match self.left.try_lock() {
            Some(mut left) => self.flush_locked(&mut left, ob),
            None => Flush::Busy,
        }
    }

    /// From the writer task: waits for the right to write, then writes what the socket takes.
    fn flush(&self, ob: &Outbound) -> Flush {
        let mut left = self.left.lock();
        self.flush_locked(&mut left, ob)
    }

    fn flush_locked(&self, left: &mut Vec<Bytes>, ob: &Outbound) -> Flush {
        let closing = match ob.take(left) {
            CloseMode::Abort => {
                left.clear();
                return Flush::Aborted;
            }
            CloseMode::Flush => true,
            CloseMode::Open => false,
        };
        let mut start = 0;
        let result = loop {
            if start == left.len() {
                break Flush::Done { closing };
            }
            match self.sock.try_write_vectored(&io_slices(left, start)) {
                Ok(0) => break Flush::Failed(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    ob.written(n);
                    start = consume(left, start, n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Flush::Blocked,
                Err(e) => break Flush::Failed(e),
            }
        };
        left.drain(..start);
        result
    }
}

/// Delivers a reader's batch to `target`: written now when the socket takes it, otherwise
/// (or for TLS clients, routes and internal connections) its writer task is woken.
/// True when the writer had to be woken.
pub fn flush_or_wake(target: &ClientShared) -> bool {
    if let Some(direct) = target.direct()
        && let Flush::Done { closing: false } = direct.try_flush(&target.outbound)
    {
        return false;
    }
    target.outbound.wake();
    true
}

/// The writer task of a plain TCP client: writes what readers left behind, waits for the
/// socket when it is full (a slow consumer past the write deadline is closed), and shuts
/// the write side down when the connection closes.
pub async fn run(shared: Arc<ClientShared>, direct: Arc<DirectWriter>, deadline: Duration) {
    loop {
        match direct.flush(&shared.outbound) {
            Flush::Done { closing: true } | Flush::Aborted => break,
            Flush::Done { closing: false } | Flush::Busy => {
                tokio::select! {
                    _ = shared.outbound.wait() => {}
                    _ = shared.abort.cancelled() => break,
                }
            }
            Flush::Blocked => {
                tokio::select! {
                    r = tokio::time::timeout(deadline, direct.sock.writable()) => {
                        if !write_succeeded(&shared, r) {
                            break;
                        }
                    }
                    _ = shared.abort.cancelled() => break,
                }
            }
            Flush::Failed(err) => {
                write_succeeded(&shared, Ok(Err(err)));
                break;
            }
        }
    }
    // Readers stop writing here; the write half shuts down when the last of them lets go.
    shared.clear_direct();
}
