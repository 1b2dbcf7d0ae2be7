//! The writer task of a TLS client or a route: drains the outbound queue with vectored writes
//! under a write deadline, and closes the socket's write side when the connection closes.
//! (Plain TCP clients are written to directly by readers: `direct.rs`.)

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::AsyncWrite;
use tokio::io::AsyncWriteExt;

use super::outbound::CloseMode;
use super::{ClientShared, CloseReason};

/// Most iovecs handed to one `writev` (nats-server's `nbMaxVectorSize`; Linux allows 1024).
const MAX_IOVECS: usize = 1024;

/// Runs until the connection closes. `deadline` bounds each batch of writes.
pub async fn run<W: AsyncWrite + Unpin>(shared: Arc<ClientShared>, mut wr: W, deadline: Duration) {
    let mut bufs: Vec<Bytes> = Vec::with_capacity(16);
    loop {
        bufs.clear();
        let mode = shared.outbound.take(&mut bufs);
        if mode == CloseMode::Abort {
            break;
        }
        if bufs.is_empty() {
            if mode == CloseMode::Flush {
                break;
            }
            tokio::select! {
                _ = shared.outbound.wait() => {}
                _ = shared.abort.cancelled() => break,
            }
            continue;
        }
        let total: usize = bufs.iter().map(Bytes::len).sum();
        let res = tokio::select! {
            r = tokio::time::timeout(deadline, write_all(&mut wr, &mut bufs)) => r,
            _ = shared.abort.cancelled() => break,
        };
        if !write_succeeded(&shared, res) {
            break;
        }
        shared.outbound.written(total);
        shared.note_flushed();
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), wr.shutdown()).await;
}

/// The outcome of a write bounded by the write deadline: true when it succeeded; otherwise
/// the connection is closed (a write error, or a slow consumer past the deadline).
pub(super) fn write_succeeded(
    shared: &ClientShared,
    res: Result<std::io::Result<()>, tokio::time::error::Elapsed>,
) -> bool {
    match res {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::debug!(cid = shared.cid, %err, "write error");
            shared.close(CloseReason::WriteError);
            false
        }
        Err(_) => {
            shared.close(CloseReason::SlowConsumerWriteDeadline);
            false
        }
    }
}

/// Writes every buffer fully, `MAX_IOVECS` at a time.
async fn write_all<W: AsyncWrite + Unpin>(wr: &mut W, bufs: &mut [Bytes]) -> std::io::Result<()> {
    let mut start = 0;
    while start < bufs.len() {
        let n = wr.write_vectored(&io_slices(bufs, start)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        start = consume(bufs, start, n);
    }
    // A TLS session may hold encrypted records back until flushed; a TCP flush is a no-op.
    wr.flush().await
}

/// One `writev`'s worth of `bufs[start..]`: at most `MAX_IOVECS` slices.
pub(super) fn io_slices(bufs: &[Bytes], start: usize) -> Vec<IoSlice<'_>> {
    let end = (start + MAX_IOVECS).min(bufs.len());
    bufs[start..end].iter().map(|b| IoSlice::new(b)).collect()
}

/// After a write of `n` bytes from `bufs[start..]`: trims a partly written buffer and returns
/// the index of the first buffer with bytes left (empty buffers skipped).
pub(super) fn consume(bufs: &mut [Bytes], mut start: usize, n: usize) -> usize {
    let mut left = n;
    while left > 0 && start < bufs.len() {
        let len = bufs[start].len();
        if left >= len {
            left -= len;
            start += 1;
        } else {
            bufs[start].advance(left);
            left = 0;
        }
    }
    while start < bufs.len() && bufs[start].is_empty() {
        start += 1;
    }
    start
}
