//! The incremental client-protocol parser: bytes at the front of a `BytesMut` in, `ClientOp`s out.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use super::args::{is_pub_sep, is_sub_sep, parse_size, split};
use super::{ClientOp, ParseError, ParserLimits};

mod fast;

pub use fast::PubFrame;

/// Ops that carry an argument line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgOp {
    Pub,
    HPub,
    HMsg,
    Sub,
    Unsub,
    Connect,
    Info,
    Err,
}

/// Ops whose line is ignored after the name, up to and including the next `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineOp {
    Ping,
    Pong,
    Ok,
}

/// What follows an op name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// At least one space or tab, then the arguments.
    Sep(ArgOp),
    /// Optional spaces or tabs, then the arguments (`CONNECT`, `INFO`).
    Args(ArgOp),
    /// Anything up to `\n`.
    Line(LineOp),
}

/// An op name and what follows it.
type OpName = (&'static [u8], After);

/// The op names a client may send that start with `first` (case-insensitive). `R`, `A`, `L`,
/// `M` and everything else start no client op (routes and leafnodes have their own parser).
fn op_names(first: u8) -> &'static [OpName] {
    match first.to_ascii_uppercase() {
        b'P' => &[
            (b"PUB", After::Sep(ArgOp::Pub)),
            (b"PING", After::Line(LineOp::Ping)),
            (b"PONG", After::Line(LineOp::Pong)),
        ],
        b'H' => &[
            (b"HPUB", After::Sep(ArgOp::HPub)),
            (b"HMSG", After::Sep(ArgOp::HMsg)),
        ],
        b'S' => &[(b"SUB", After::Sep(ArgOp::Sub))],
        b'U' => &[(b"UNSUB", After::Sep(ArgOp::Unsub))],
        b'C' => &[(b"CONNECT", After::Args(ArgOp::Connect))],
        b'I' => &[(b"INFO", After::Args(ArgOp::Info))],
        b'+' => &[(b"+OK", After::Line(LineOp::Ok))],
        b'-' => &[(b"-ERR", After::Sep(ArgOp::Err))],
        _ => &[],
    }
}

/// Matches an op name at the front of `buf`: `Ok(Some((len, after)))` when complete,
/// `Ok(None)` when `buf` is a proper prefix of a name, an error at the first byte that no name
/// allows. No name is a prefix of another, so the first complete match is the only one.
fn match_op_name(buf: &[u8]) -> Result<Option<(usize, After)>, ParseError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let names = op_names(first);
    // Longest prefix any name shares with `buf` (all share the first byte).
    let mut longest = 0;
    for &(name, after) in names {
        let same = name
            .iter()
            .zip(buf)
            .take_while(|(n, b)| n.eq_ignore_ascii_case(b))
            .count();
        if same == name.len() {
            return Ok(Some((same, after)));
        }
        if same == buf.len() {
            return Ok(None);
        }
        longest = longest.max(same);
    }
    let byte = buf.get(longest).copied().unwrap_or(first);
    let context = if longest == 0 {
        "at start of operation"
    } else {
        "in operation name"
    };
    Err(ParseError::UnknownOp { context, byte })
}

/// A message whose control line is parsed and whose payload is awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    kind: PendingKind,
    /// Payload bytes (HPUB: headers + payload) before the closing `\r\n`.
    size: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PendingKind {
    Pub {
        subject: Bytes,
        reply: Option<Bytes>,
    },
    HPub {
        subject: Bytes,
        reply: Option<Bytes>,
        header_len: usize,
    },
    HMsg,
}

impl Pending {
    fn into_op(self, data: Bytes) -> ClientOp {
        match self.kind {
            PendingKind::Pub { subject, reply } => ClientOp::Pub {
                subject,
                reply,
                payload: data,
            },
            PendingKind::HPub {
                subject,
                reply,
                header_len,
            } => ClientOp::HPub {
                subject,
                reply,
                header_len,
                message: data,
            },
            PendingKind::HMsg => ClientOp::HMsg,
        }
    }
}

/// Where the parser is in the byte stream. Bytes of finished states are consumed from the
/// buffer, so the front of the buffer is always the first byte the state has not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Before an op name (which is re-matched from the front until complete: at most 7 bytes).
    Start,
    /// After the name of an op that needs a space or tab next.
    Sep(ArgOp),
    /// Skipping spaces and tabs before the arguments.
    Spaces(ArgOp),
    /// In the arguments, which start at the front of the buffer. `scanned` bytes are known to
    /// hold no `\n` (the first byte is taken as is, whatever it is); `cr` says whether they hold
    /// a `\r` after the first byte.
    Args { op: ArgOp, scanned: usize, cr: bool },
    /// Discarding the rest of a PING/PONG/+OK line.
    SkipLine(LineOp),
    /// Control line done; waiting for the payload and its `\r\n`.
    Payload(Pending),
}

/// Token positions `(start, end)` in a checked control line.
type Token = (usize, usize);

/// A checked control line: where its tokens are and what its numbers say.
enum Plan {
    Pub {
        subject: Token,
        reply: Option<Token>,
        size: usize,
    },
    HPub {
        subject: Token,
        reply: Option<Token>,
        hdr: usize,
        total: usize,
    },
    HMsg,
    Sub {
        subject: Token,
        queue: Option<Token>,
        sid: Token,
    },
    Unsub {
        sid: Token,
        max: Option<u64>,
    },
    /// CONNECT, INFO, -ERR: the text without surrounding JSON whitespace.
    Text(Token),
}

/// What a complete control line leads to.
enum Line {
    Op(ClientOp),
    Payload(Pending),
}

/// Incremental, zero-copy parser for one client connection.
///
/// Feed it the connection's read buffer: [`Parser::parse`] takes one op from the front at a
/// time. Bytes it has consumed are gone from the buffer even when it returns `Ok(None)`
/// (incomplete), so keep the rest of the buffer and append the next read to it. The result
/// never depends on how the byte stream was split into reads.
#[derive(Debug)]
pub struct Parser {
    limits: ParserLimits,
    headers_allowed: bool,
    require_connect: bool,
    state: State,
}

impl Parser {
    /// A parser for a new connection: headers not allowed (as before CONNECT), CONNECT not
    /// required.
    pub fn new(limits: ParserLimits) -> Self {
        Self {
            limits,
            headers_allowed: false,
            require_connect: false,
            state: State::Start,
        }
    }

    /// Changes the limits (config reload). They apply to checks made from now on; a message
    /// whose control line was already accepted is read whole.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> ParserLimits {
        self.limits
    }

    /// Allows HPUB (after `CONNECT {"headers":true}` on a server with headers). When not
    /// allowed, an HPUB control line fails with [`ParseError::HeadersNotSupported`] at its `\n`.
    pub fn set_headers_allowed(&mut self, yes: bool) {
        self.headers_allowed = yes;
    }

    /// While set, an op that does not start with `C`/`c` fails with
    /// [`ParseError::AuthorizationRequired`] as soon as its first byte arrives. Set it for a
    /// connection that must authenticate; clear it once CONNECT has been accepted.
    pub fn set_require_connect(&mut self, yes: bool) {
        self.require_connect = yes;
    }

    /// When a message's control line has been parsed and its payload is awaited: how many
    /// bytes the buffer must hold (payload and `\r\n`) for it to complete. Lets the reader
    /// reserve the space once.
    pub fn payload_needed(&self) -> Option<usize> {
        match &self.state {
            State::Payload(p) => Some(p.size.saturating_add(2)),
            _ => None,
        }
    }

    /// Parses one op from the front of `buf`, consuming its bytes. `Ok(None)` means more bytes
    /// are needed (not an error). After an error the connection must be closed; the parser is
    /// reset and nothing it returns afterwards is meaningful.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let result = self.step(buf);
        if result.is_err() {
            self.state = State::Start;
        }
        result
    }

    #[inline]
    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        loop {
            match std::mem::replace(&mut self.state, State::Start) {
                State::Start => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    if self.require_connect && !first.eq_ignore_ascii_case(&b'c') {
                        return Err(ParseError::AuthorizationRequired);
                    }
                    let Some((len, after)) = match_op_name(buf)? else {
                        return Ok(None);
                    };
                    buf.advance(len);
                    self.state = match after {
                        After::Sep(op) => State::Sep(op),
                        After::Args(op) => State::Spaces(op),
                        After::Line(op) => State::SkipLine(op),
                    };
                }
                State::Sep(op) => match buf.first() {
                    None => {
                        self.state = State::Sep(op);
                        return Ok(None);
                    }
                    Some(b' ' | b'\t') => {
                        buf.advance(1);
                        self.state = State::Spaces(op);
                    }
                    Some(&byte) => {
                        return Err(ParseError::UnknownOp {
                            context: "after operation name",
                            byte,
                        });
                    }
                },
                State::Spaces(op) => {
                    let blanks = buf.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                    buf.advance(blanks);
                    if buf.is_empty() {
                        self.state = State::Spaces(op);
                        return Ok(None);
                    }
                    self.state = State::Args {
                        op,
                        scanned: 1,
                        cr: false,
                    };
                }
                State::Args { op, scanned, cr } => {
                    let from = scanned.min(buf.len());
                    let rest = buf.get(from..).unwrap_or_default();
                    let Some(nl) = memchr(b'\n', rest).map(|i| from + i) else {
                        let cr = cr || memchr(b'\r', rest).is_some();
                        if buf.len().saturating_sub(usize::from(cr)) > self.limits.max_control_line
                        {
                            return Err(self.max_control_line());
                        }
                        self.state = State::Args {
                            op,
                            scanned: buf.len(),
                            cr,
                        };
                        return Ok(None);
                    };
                    let before_nl = buf.get(from..nl).unwrap_or_default();
                    let cr = cr || memchr(b'\r', before_nl).is_some();
                    // The reference drops the last byte before `\n` when the line holds a `\r`
                    // (normally the `\r` of `\r\n`).
                    let end = nl.saturating_sub(usize::from(cr));
                    if end > self.limits.max_control_line {
                        return Err(self.max_control_line());
                    }
                    match self.finish_line(op, buf, end, nl + 1)? {
                        Line::Op(op) => return Ok(Some(op)),
                        Line::Payload(pending) => return self.payload(pending, buf),
                    }
                }
                State::SkipLine(op) => match memchr(b'\n', buf) {
                    None => {
                        buf.clear();
                        self.state = State::SkipLine(op);
                        return Ok(None);
                    }
                    Some(nl) => {
                        buf.advance(nl + 1);
                        return Ok(Some(match op {
                            LineOp::Ping => ClientOp::Ping,
                            LineOp::Pong => ClientOp::Pong,
                            LineOp::Ok => ClientOp::Ok,
                        }));
                    }
                },
                State::Payload(pending) => return self.payload(pending, buf),
            }
        }
    }

    /// Completes a message whose control line is done, or keeps waiting for its payload. The
    /// bytes after the payload are checked as soon as they arrive.
    #[inline]
    fn payload(
        &mut self,
        pending: Pending,
        buf: &mut BytesMut,
    ) -> Result<Option<ClientOp>, ParseError> {
        let size = pending.size;
        if let Some(&byte) = buf.get(size)
            && byte != b'\r'
        {
            return Err(ParseError::UnknownOp {
                context: "after payload",
                byte,
            });
        }
        if let Some(&byte) = buf.get(size.saturating_add(1))
            && byte != b'\n'
        {
            return Err(ParseError::UnknownOp {
                context: "after payload",
                byte,
            });
        }
        if buf.len() < size.saturating_add(2) {
            self.state = State::Payload(pending);
            return Ok(None);
        }
        let data = buf.split_to(size).freeze();
        buf.advance(2);
        Ok(Some(pending.into_op(data)))
    }

    fn max_control_line(&self) -> ParseError {
        ParseError::MaxControlLine {
            max: self.limits.max_control_line,
        }
    }

    /// Interprets a complete control line at the front of `buf`: the arguments are
    /// `buf[..end]`, the line (through its `\n`) is `buf[..line_len]`. Consumes the line and
    /// cuts the tokens out of the buffer without copying.
    fn finish_line(
        &self,
        op: ArgOp,
        buf: &mut BytesMut,
        end: usize,
        line_len: usize,
    ) -> Result<Line, ParseError> {
        let plan = self.plan(op, buf.get(..end).unwrap_or_default())?;
        let mut cut = Cutter {
            buf,
            pos: 0,
            line_len,
        };
        let line = match plan {
            Plan::Pub {
                subject,
                reply,
                size,
            } => Line::Payload(Pending {
                kind: PendingKind::Pub {
                    subject: cut.take(subject),
                    reply: cut.opt(reply),
                },
                size,
            }),
            Plan::HPub {
                subject,
                reply,
                hdr,
                total,
            } => Line::Payload(Pending {
                kind: PendingKind::HPub {
                    subject: cut.take(subject),
                    reply: cut.opt(reply),
                    header_len: hdr,
                },
                size: total,
            }),
            Plan::HMsg => Line::Payload(Pending {
                kind: PendingKind::HMsg,
                size: 0,
            }),
            Plan::Sub {
                subject,
                queue,
                sid,
            } => Line::Op(ClientOp::Sub {
                subject: cut.take(subject),
                queue: cut.opt(queue),
                sid: cut.take(sid),
            }),
            Plan::Unsub { sid, max } => Line::Op(ClientOp::Unsub {
                sid: cut.take(sid),
                max,
            }),
            Plan::Text(text) => {
                let text = cut.take(text);
                Line::Op(match op {
                    ArgOp::Connect => ClientOp::Connect(text),
                    ArgOp::Info => ClientOp::Info(text),
                    _ => ClientOp::Err(text),
                })
            }
        };
        cut.finish();
        Ok(line)
    }

    /// Checks the arguments of a complete control line and locates its tokens.
    fn plan(&self, op: ArgOp, arg: &[u8]) -> Result<Plan, ParseError> {
        // Only for error values: the arguments, copied.
        let copy = || Bytes::copy_from_slice(arg);
        match op {
            ArgOp::Pub => self.plan_pub(arg),
            ArgOp::HPub => {
                if !self.headers_allowed {
                    return Err(ParseError::HeadersNotSupported);
                }
                let t = split::<4>(arg, is_pub_sep);
                let (subject, reply, hdr, total) = match (t.count, t.ranges) {
                    (3, [s, h, n, _]) => (s, None, h, n),
                    (4, [s, r, h, n]) => (s, Some(r), h, n),
                    _ => {
                        return Err(ParseError::ArgCount {
                            op: "HPUB",
                            arg: copy(),
                        });
                    }
                };
                let hdr = parse_size(range(arg, hdr))
                    .ok_or_else(|| ParseError::BadHeaderSize { arg: copy() })?;
                let total = parse_size(range(arg, total)).ok_or_else(|| ParseError::BadSize {
                    op: "HPUB",
                    arg: copy(),
                })?;
                if hdr > total {
                    return Err(ParseError::HeaderTooLarge { hdr, total });
                }
                self.check_payload(total)?;
                Ok(Plan::HPub {
                    subject,
                    reply,
                    hdr,
                    total,
                })
            }
            // The reference does not look at HMSG arguments from a client and reads the size
            // left over from the previous message, which is always 0 by then.
            ArgOp::HMsg => Ok(Plan::HMsg),
            ArgOp::Sub => {
                let t = split::<3>(arg, is_sub_sep);
                match (t.count, t.ranges) {
                    (2, [subject, sid, _]) => Ok(Plan::Sub {
                        subject,
                        queue: None,
                        sid,
                    }),
                    (3, [subject, q, sid]) => Ok(Plan::Sub {
                        subject,
                        queue: Some(q),
                        sid,
                    }),
                    _ => Err(ParseError::ArgCount {
                        op: "SUB",
                        arg: copy(),
                    }),
                }
            }
            ArgOp::Unsub => {
                let t = split::<2>(arg, is_sub_sep);
                let (sid, max) = match (t.count, t.ranges) {
                    (1, [i, _]) => (i, None),
                    (2, [i, m]) => (i, Some(m)),
                    _ => {
                        return Err(ParseError::ArgCount {
                            op: "UNSUB",
                            arg: copy(),
                        });
                    }
                };
                let max = max
                    .and_then(|m| parse_size(range(arg, m)))
                    .and_then(|m| u64::try_from(m).ok());
                Ok(Plan::Unsub { sid, max })
            }
            ArgOp::Connect | ArgOp::Info | ArgOp::Err => Ok(Plan::Text(trim_json_ws(arg))),
        }
    }

    /// The arguments of a PUB line (also the fast path's, `fast.rs`): always inlined, so the
    /// general path keeps `plan` inlined too.
    #[inline(always)]
    fn plan_pub(&self, arg: &[u8]) -> Result<Plan, ParseError> {
        // Only for error values: the arguments, copied.
        let copy = || Bytes::copy_from_slice(arg);
        let t = split::<3>(arg, is_pub_sep);
        let (subject, reply, size) = match (t.count, t.ranges) {
            (2, [s, n, _]) => (s, None, n),
            (3, [s, r, n]) => (s, Some(r), n),
            _ => {
                return Err(ParseError::ArgCount {
                    op: "PUB",
                    arg: copy(),
                });
            }
        };
        let size = parse_size(range(arg, size)).ok_or_else(|| ParseError::BadSize {
            op: "PUB",
            arg: copy(),
        })?;
        self.check_payload(size)?;
        Ok(Plan::Pub {
            subject,
            reply,
            size,
        })
    }

    fn check_payload(&self, size: usize) -> Result<(), ParseError> {
        if size > self.limits.max_payload {
            return Err(ParseError::MaxPayload {
                size,
                max: self.limits.max_payload,
            });
        }
        Ok(())
    }
}

/// The bytes of one token.
fn range(arg: &[u8], (start, end): Token) -> &[u8] {
    arg.get(start..end).unwrap_or_default()
}

/// The range of `arg` without leading and trailing JSON whitespace (space, tab, `\r`, `\n`),
/// which JSON decoders skip anyway.
fn trim_json_ws(arg: &[u8]) -> Token {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = arg.iter().position(|b| !is_ws(b)).unwrap_or(arg.len());
    let end = arg.iter().rposition(|b| !is_ws(b)).map_or(start, |i| i + 1);
    (start, end.max(start))
}

/// Cuts tokens (in ascending order) out of a control line at the front of a buffer, then
/// drops the rest of the line. Each token costs one reference count, no copy.
struct Cutter<'a> {
    buf: &'a mut BytesMut,
    /// Line offset of the front of `buf`.
    pos: usize,
    /// Length of the line, `\n` included.
    line_len: usize,
}

impl Cutter<'_> {
    fn take(&mut self, (start, end): Token) -> Bytes {
        let skip = start.saturating_sub(self.pos).min(self.buf.len());
        self.buf.advance(skip);
        let len = end.saturating_sub(start).min(self.buf.len());
        self.pos = start.saturating_add(len);
        self.buf.split_to(len).freeze()
    }

    fn opt(&mut self, token: Option<Token>) -> Option<Bytes> {
        token.map(|t| self.take(t))
    }

    fn finish(self) {
        let rest = self.line_len.saturating_sub(self.pos).min(self.buf.len());
        self.buf.advance(rest);
    }
}
