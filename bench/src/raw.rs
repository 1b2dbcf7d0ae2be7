//! Raw-socket publishers and subscribers for the throughput workloads.
//!
//! A publisher writes pre-built `PUB` frames in 64 KiB chunks, then PING, and counts the
//! run as done at PONG (the server has read every message). A subscriber counts `MSG`
//! frames and skips their payloads. Neither allocates per message.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Barrier;

use crate::proto::{self, Frame, FrameReader, Stream};
use crate::throughput::{PubJob, PubResult, SubResult, SubState};

/// Bytes of frames written per `write_all`.
const CHUNK: usize = 64 * 1024;
/// How often a waiting subscriber re-checks whether it should stop.
const POLL: Duration = Duration::from_millis(50);

/// A connected raw publisher.
pub struct Publisher {
    stream: Stream,
    reader: FrameReader,
}

impl Publisher {
    pub async fn connect(server: &str) -> anyhow::Result<Self> {
        let (stream, reader) = proto::connect(proto::host_port(server)).await?;
        Ok(Self { stream, reader })
    }

    /// Waits at `barrier`, publishes `job`, then PING/PONG.
    pub async fn run(mut self, job: PubJob, barrier: Arc<Barrier>) -> anyhow::Result<PubResult> {
        let mut frame = format!("PUB {} {}\r\n", job.subject, job.size).into_bytes();
        frame.resize(frame.len() + job.size, b'x');
        frame.extend_from_slice(b"\r\n");
        let per_chunk = (CHUNK / frame.len()).max(1);
        let chunk = frame.repeat(per_chunk);

        barrier.wait().await;
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < job.count {
            if job.deadline.is_some_and(|d| start.elapsed() >= d) {
                break;
            }
            let n = (job.count - sent).min(per_chunk as u64) as usize;
            self.stream.write_all(&chunk[..n * frame.len()]).await?;
            sent += n as u64;
        }
        self.stream.write_all(b"PING\r\n").await?;
        self.reader.wait_pong(&mut self.stream).await?;
        Ok(PubResult {
            sent,
            elapsed: start.elapsed(),
        })
    }
}

/// A connected raw subscriber.
pub struct Subscriber {
    stream: Stream,
    reader: FrameReader,
}

impl Subscriber {
    /// Connects, subscribes (sid `index + 1`) and waits for PONG, so the subscription is in
    /// place before anything is published.
    pub async fn connect(
        server: &str,
        subject: &str,
        queue: Option<&str>,
        index: usize,
    ) -> anyhow::Result<Self> {
        let (mut stream, mut reader) = proto::connect(proto::host_port(server)).await?;
        let sub = match queue {
            Some(q) => format!("SUB {subject} {q} {}\r\nPING\r\n", index + 1),
            None => format!("SUB {subject} {}\r\nPING\r\n", index + 1),
        };
        stream.write_all(sub.as_bytes()).await?;
        reader.wait_pong(&mut stream).await?;
        Ok(Self { stream, reader })
    }

    /// Counts messages until [`SubState::should_stop`].
    pub async fn run(mut self, state: Arc<SubState>) -> anyhow::Result<SubResult> {
        let mut received = 0u64;
        let mut last = None;
        loop {
            let mut got = 0u64;
            let mut ping = false;
            while let Some(frame) = self.reader.next_frame()? {
                match frame {
                    Frame::Msg { .. } => got += 1,
                    Frame::Ping => ping = true,
                    Frame::Err(e) => bail!("server error: {}", String::from_utf8_lossy(e)),
                    Frame::Pong | Frame::Other => {}
                }
            }
            if got > 0 {
                received += got;
                last = Some(Instant::now());
                state.total.fetch_add(got, Ordering::Relaxed);
            }
            if ping {
                self.stream.write_all(b"PONG\r\n").await?;
            }
            if state.should_stop(last) {
                break;
            }
            match tokio::time::timeout(POLL, self.reader.fill(&mut self.stream)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
        Ok(SubResult { received, last })
    }
}
