//! A minimal raw NATS client protocol: the connect handshake, and a frame reader that counts
//! `MSG`/`HMSG` frames without copying their payloads.
//!
//! Used where a full client library would be the bottleneck: the throughput data path, the
//! connection storm and the idle connections.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};

use crate::transport;
pub use crate::transport::Stream;

/// How long a handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Read buffer size of a [`FrameReader`].
const READ_BUF: usize = 256 * 1024;

/// `host:port` from a `nats://host:port` URL (or a bare `host:port`).
pub fn host_port(url: &str) -> &str {
    let s = url.strip_prefix("nats://").unwrap_or(url);
    s.split(',').next().unwrap_or(s).trim_end_matches('/')
}

/// Opens a connection: reads INFO, sends CONNECT (no verbose, no pedantic, headers off;
/// TLS and credentials as configured in [`transport`]) and PING, waits for PONG. Nagle is off.
pub async fn connect(addr: &str) -> anyhow::Result<(Stream, FrameReader)> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let (mut stream, _) = transport::open(addr).await?;
        let mut reader = FrameReader::new();
        stream.write_all(&transport::connect_line()).await?;
        reader.wait_pong(&mut stream).await?;
        Ok((stream, reader))
    })
    .await
    .context("handshake timed out")?
}

/// One server-to-client frame. `Msg` is returned as soon as its control line is complete;
/// its payload is skipped by the following calls.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `MSG`/`HMSG`; the reply subject if there is one.
    Msg {
        reply: Option<&'a [u8]>,
    },
    Ping,
    Pong,
    /// `-ERR` with its text.
    Err(&'a [u8]),
    /// INFO, +OK and anything else.
    Other,
}

/// Splits a byte stream into frames. Payload bytes are skipped, never buffered whole, so
/// messages of any size pass through a fixed buffer.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Payload (and `\r\n`) bytes of the last `Msg` still to skip.
    skip: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    pub fn new() -> Self {
        Self {
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
            skip: 0,
        }
    }

    /// Reads more bytes. Returns 0 at end of stream.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> anyhow::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start == 0 {
                bail!("control line longer than {} bytes", self.buf.len());
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = r.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The next complete frame in the buffer, or `None` if more bytes are needed.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>> {
        if self.skip > 0 {
            let n = self.skip.min(self.end - self.start);
            self.skip -= n;
            self.start += n;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        let avail = &self.buf[self.start..self.end];
        let Some(nl) = memchr::memchr(b'\n', avail) else {
            return Ok(None);
        };
        let line_start = self.start;
        self.start += nl + 1;
        let mut line = &self.buf[line_start..line_start + nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let frame = if line.starts_with(b"MSG ") || line.starts_with(b"HMSG ") {
            let headers = line[0] == b'H';
            let mut args = line
                .split(|b| *b == b' ' || *b == b'\t')
                .filter(|a| !a.is_empty());
            args.next();
            let parts: [Option<&[u8]>; 5] = std::array::from_fn(|_| args.next());
            // MSG subj sid [reply] size; HMSG subj sid [reply] hdr total.
            let (reply, size) = match (headers, parts) {
                (false, [_, _, Some(s), None, _]) => (None, s),
                (false, [_, _, Some(r), Some(s), None]) => (Some(r), s),
                (true, [_, _, Some(_), Some(s), None]) => (None, s),
                (true, [_, _, Some(r), Some(_), Some(s)]) => (Some(r), s),
                _ => bail!("bad MSG line: {}", String::from_utf8_lossy(line)),
            };
            let size: usize = std::str::from_utf8(size)
                .ok()
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("bad MSG size: {}", String::from_utf8_lossy(line)))?;
            self.skip = size + 2;
            Frame::Msg { reply }
        } else if line.eq_ignore_ascii_case(b"PING") {
            Frame::Ping
        } else if line.eq_ignore_ascii_case(b"PONG") {
            Frame::Pong
        } else if line.starts_with(b"-ERR") {
            Frame::Err(&line[4..])
        } else {
            Frame::Other
        };
        Ok(Some(frame))
    }

    /// Reads until PONG, answering PINGs; fails on `-ERR` or end of stream.
    pub async fn wait_pong(&mut self, stream: &mut Stream) -> anyhow::Result<()> {
        loop {
            let mut ping = false;
            while let Some(frame) = self.next_frame()? {
                match frame {
                    Frame::Pong => return Ok(()),
                    Frame::Ping => ping = true,
                    Frame::Err(e) => bail!("server error: {}", String::from_utf8_lossy(e)),
                    Frame::Msg { .. } | Frame::Other => {}
                }
            }
            if ping {
                stream.write_all(b"PONG\r\n").await?;
            }
            if self.fill(stream).await? == 0 {
                bail!("connection closed by the server");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(reader: &mut FrameReader, data: &[u8]) -> Vec<String> {
        reader.buf[reader.end..reader.end + data.len()].copy_from_slice(data);
        reader.end += data.len();
        let mut out = Vec::new();
        while let Ok(Some(f)) = reader.next_frame() {
            out.push(format!("{f:?}"));
        }
        out
    }

    #[test]
    fn splits_messages_across_reads() {
        let mut r = FrameReader::new();
        let got = frames(&mut r, b"INFO {}\r\nMSG a 1 5\r\nhel");
        assert_eq!(got, ["Other", "Msg { reply: None }"]);
        let got = frames(
            &mut r,
            b"lo\r\nMSG a 1 _INBOX.x 0\r\n\r\nHMSG a 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
        );
        assert_eq!(
            got,
            [
                "Msg { reply: Some([95, 73, 78, 66, 79, 88, 46, 120]) }",
                "Msg { reply: Some([114]) }",
                "Ping"
            ]
        );
    }

    #[test]
    fn host_port_strips_scheme() {
        assert_eq!(host_port("nats://127.0.0.1:4222"), "127.0.0.1:4222");
        assert_eq!(host_port("127.0.0.1:4222"), "127.0.0.1:4222");
    }
}
