//! Running one case against one server and recording the transcript.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ev {
    /// What the harness wrote (identical on both sides; shown for context).
    Sent(Vec<u8>),
    Recv(Vec<u8>),
    Closed,
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Event {
    /// 1-based step number; `steps.len() + 1` is the final drain.
    pub(super) step: usize,
    pub(super) conn: String,
    pub(super) ev: Ev,
}

pub(super) struct Conn {
    pub(super) name: String,
    pub(super) stream: TcpStream,
    /// Bytes read past the end of the previous step's condition; they belong to the next
    /// reading step, so that how the server's writes are segmented never matters.
    pub(super) pending: Vec<u8>,
    pub(super) closed: bool,
    pub(super) stuck: bool,
}

#[derive(Clone, Copy)]
pub(super) enum ReadUntil<'a> {
    /// The `n`-th `PONG\r\n` counted from the start of this step's bytes.
    Pongs(usize),
    /// The end of the first line.
    LineEnd,
    /// The first occurrence of these bytes.
    Contains(&'a [u8]),
    Eof,
}

/// Reads into `buf` until the condition, EOF/reset (`Some(Closed)`) or the deadline
/// (`Some(Timeout)`); `None` when the condition was met.
pub(super) fn read_until(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    until: ReadUntil,
    within: Duration,
) -> Option<Ev> {
    let deadline = Instant::now() + within;
    let met = |buf: &[u8]| match until {
        ReadUntil::Pongs(n) => count(buf, b"PONG\r\n") >= n,
        ReadUntil::LineEnd => buf.contains(&b'\n'),
        ReadUntil::Contains(want) => find_nth(buf, want, 1).is_some(),
        ReadUntil::Eof => false,
    };
    let mut chunk = [0u8; 65536];
    loop {
        if met(buf) {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Some(Ev::Timeout);
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Some(Ev::Closed);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Some(Ev::Closed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(Ev::Closed),
        }
    }
}

/// Reads whatever is already available without waiting; true on EOF or reset.
pub(super) fn drain_now(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut chunk = [0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return e.kind() != ErrorKind::WouldBlock,
        }
    }
}

pub(super) fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// PING lines in `data` (the server treats any line starting with `PING`, any case, as one).
pub(super) fn ping_lines(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case(b"PING"))
        .count()
}

/// Runs `case` against the server `bin` and returns its (unmasked) transcript.
pub(super) fn run_case(case: &Case, bin: &Path, tag: &str) -> Result<Vec<Event>, String> {
    let mut server = Server::start(bin, case.config.as_deref(), tag)?;
    let mut conns: Vec<Conn> = Vec::new();
    let mut events = Vec::new();
    for (idx, step) in case.steps.iter().enumerate() {
        let n = idx + 1;
        if let Step::Sleep(d) = step {
            std::thread::sleep(*d);
            continue;
        }
        let name = step.conn().unwrap_or_default();
        if let Step::Connect(_) = step {
            let stream = match server.first.take() {
                Some(s) => s,
                None => TcpStream::connect(("127.0.0.1", server.port))
                    .map_err(|e| format!("step {n}: connect {name}: {e}"))?,
            };
            let _ = stream.set_nodelay(true);
            conns.push(Conn {
                name: name.to_string(),
                stream,
                pending: Vec::new(),
                closed: false,
                stuck: false,
            });
        }
        let Some(conn) = conns.iter_mut().rev().find(|c| c.name == name) else {
            return Err(format!("step {n}: no connection {name}"));
        };
        let mut push = |ev: Ev| {
            events.push(Event {
                step: n,
                conn: name.to_string(),
                ev,
            })
        };
        if let Step::Send(_, data) | Step::SendRaw(_, data) = step {
            push(Ev::Sent(data.clone()));
        }
        if conn.closed || conn.stuck {
            continue;
        }
        let mut buf = std::mem::take(&mut conn.pending);
        let outcome = match step {
            Step::Connect(_) => {
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::LineEnd,
                    STEP_DEADLINE,
                );
                if r.is_none() {
                    let end = buf
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(buf.len(), |p| p + 1);
                    conn.pending = buf.split_off(end);
                }
                r
            }
            Step::Send(_, data) => {
                let mut out = data.clone();
                out.extend_from_slice(b"PING\r\nPING\r\n");
                let _ = conn.stream.write_all(&out);
                let want = ping_lines(data) + 2;
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::Pongs(want),
                    STEP_DEADLINE,
                );
                if r.is_none() {
                    // Keep what follows the hidden PING's PONG for the next step, and drop
                    // that PONG.
                    if let Some(pos) = find_nth(&buf, b"PONG\r\n", want) {
                        conn.pending = buf.split_off(pos + 6);
                        buf.truncate(pos);
                    }
                }
                r
            }
            Step::SendRaw(_, data) => {
                // Nothing is read here: bytes already read stay for the next reading step.
                conn.pending = std::mem::take(&mut buf);
                let _ = conn.stream.write_all(data);
                std::thread::sleep(RAW_PAUSE);
                None
            }
            Step::Expect(_, want) => {
                let r = read_until(
                    &mut conn.stream,
                    &mut buf,
                    ReadUntil::Contains(want),
                    CLOSE_DEADLINE,
                );
                if r.is_none()
                    && let Some(pos) = find_nth(&buf, want, 1)
                {
                    conn.pending = buf.split_off(pos + want.len());
                }
                r
            }
            Step::ExpectClose(_, d) => read_until(&mut conn.stream, &mut buf, ReadUntil::Eof, *d),
            Step::Close(_) => {
                buf.clear();
                let _ = conn.stream.shutdown(Shutdown::Both);
                conn.closed = true;
                None
            }
            Step::Sleep(_) => None,
        };
        if !buf.is_empty() {
            push(Ev::Recv(buf));
        }
        match outcome {
            Some(Ev::Closed) => {
                conn.closed = true;
                push(Ev::Closed);
            }
            Some(Ev::Timeout) => {
                conn.stuck = true;
                push(Ev::Timeout);
            }
            _ => {}
        }
    }
    // Final drain: after one quiet period, whatever has arrived on each open connection.
    let end = case.steps.len() + 1;
    std::thread::sleep(END_DRAIN);
    for conn in conns.iter_mut().filter(|c| !c.closed && !c.stuck) {
        let mut buf = std::mem::take(&mut conn.pending);
        let closed = drain_now(&mut conn.stream, &mut buf);
        if !buf.is_empty() {
            events.push(Event {
                step: end,
                conn: conn.name.clone(),
                ev: Ev::Recv(buf),
            });
        }
        if closed {
            events.push(Event {
                step: end,
                conn: conn.name.clone(),
                ev: Ev::Closed,
            });
        }
    }
    drop(server);
    Ok(events)
}

pub(super) fn find_nth(hay: &[u8], needle: &[u8], n: usize) -> Option<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .nth(n - 1)
        .map(|(i, _)| i)
}
