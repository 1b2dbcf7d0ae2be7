//! The route protocol parser (sans-IO): INFO, CONNECT, PING/PONG, +OK/-ERR, RS+/RS-, LS+/LS-,
//! RMSG/HMSG/LMSG, as nats-server 2.15 sends them between servers. "Incomplete" is `Ok(None)`.
//! Also how an op reads in the trace log.

use bytes::{Buf, Bytes, BytesMut};

/// Longest route control line accepted. Routed messages list every queue group the peer must
/// serve, so lines run longer than a client's (nats-server's 4 KiB applies to clients).
pub const MAX_ROUTE_CONTROL_LINE: usize = 64 * 1024;
/// Largest routed message accepted. Peers enforce their clients' `max_payload` (at most
/// 64 MiB in nats-server), so a bigger size is a broken stream, not a message.
pub const MAX_ROUTE_PAYLOAD: usize = 64 * 1024 * 1024;

/// One operation received from a peer server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOp {
    Info(Bytes),
    Connect(Bytes),
    Ping,
    Pong,
    Ok,
    Err(Bytes),
    /// `RS+ <acc> <subject> [<queue> <weight>]` (and `LS+ <origin> ...`).
    Sub {
        account: Bytes,
        subject: Bytes,
        queue: Option<(Bytes, u32)>,
    },
    /// `RS- <acc> <subject> [<queue>]` (and `LS- ...`).
    Unsub {
        account: Bytes,
        subject: Bytes,
        queue: Option<Bytes>,
    },
    /// `RMSG`/`HMSG`/`LMSG`: a message for local subscribers.
    Msg {
        account: Bytes,
        subject: Bytes,
        reply: Option<Bytes>,
        queues: Vec<Bytes>,
        header_len: usize,
        message: Bytes,
    },
}

/// Why a route stream cannot be parsed; the connection is closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteParseError {
    #[error("maximum control line exceeded")]
    ControlLine,
    #[error("unknown route protocol operation: {0:?}")]
    Unknown(String),
    #[error("processRoutedMsgArgs Parse Error: {0:?}")]
    MsgArgs(String),
    #[error("processRemoteSub Parse Error: {0:?}")]
    SubArgs(String),
    #[error("route message payload not followed by CRLF")]
    Payload,
}

/// Parses one op from the front of `buf`; `Ok(None)` until a whole op is there.
pub fn parse(buf: &mut BytesMut) -> Result<Option<RouteOp>, RouteParseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > MAX_ROUTE_CONTROL_LINE {
            return Err(RouteParseError::ControlLine);
        }
        return Ok(None);
    };
    if nl > MAX_ROUTE_CONTROL_LINE {
        return Err(RouteParseError::ControlLine);
    }
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let line = &buf[..line_end];
    let (verb, rest) = match line.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&line[..i], trim(&line[i + 1..])),
        None => (line, &line[line.len()..]),
    };
    let verb = verb.to_ascii_uppercase();
    let op = match verb.as_slice() {
        b"PING" => RouteOp::Ping,
        b"PONG" => RouteOp::Pong,
        b"+OK" => RouteOp::Ok,
        b"-ERR" => RouteOp::Err(Bytes::copy_from_slice(rest)),
        b"INFO" => RouteOp::Info(Bytes::copy_from_slice(rest)),
        b"CONNECT" => RouteOp::Connect(Bytes::copy_from_slice(rest)),
        b"RS+" | b"LS+" => sub_args(rest, verb[0] == b'L')?,
        b"RS-" | b"LS-" => unsub_args(rest, verb[0] == b'L')?,
        b"RMSG" | b"HMSG" | b"LMSG" => {
            // Token ranges within the line: the message is then cut out of the buffer once
            // and every field is a slice of it (no copy, one allocation for the ranges).
            let rest_at = rest.as_ptr() as usize - buf.as_ptr() as usize;
            let args = msg_args(rest, rest_at, verb[0] != b'R', verb[0] == b'L')?;
            if args.size > MAX_ROUTE_PAYLOAD {
                return Err(RouteParseError::Payload);
            }
            let need = nl + 1 + args.size + 2;
            if buf.len() < need {
                buf.reserve(need - buf.len());
                return Ok(None);
            }
            if &buf[need - 2..need] != b"\r\n" {
                return Err(RouteParseError::Payload);
            }
            let whole = buf.split_to(need).freeze();
            let at = |(a, b): (usize, usize)| whole.slice(a..b);
            return Ok(Some(RouteOp::Msg {
                account: at(args.account),
                subject: at(args.subject),
                reply: args.reply.map(at),
                queues: args.queues.into_iter().map(at).collect(),
                header_len: args.header_len,
                message: whole.slice(nl + 1..nl + 1 + args.size),
            }));
        }
        _ => {
            return Err(RouteParseError::Unknown(
                String::from_utf8_lossy(&verb).into_owned(),
            ));
        }
    };
    buf.advance(nl + 1);
    Ok(Some(op))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

fn split(rest: &[u8]) -> Vec<Bytes> {
    rest.split(|b| *b == b' ' || *b == b'\t')
        .filter(|a| !a.is_empty())
        .map(Bytes::copy_from_slice)
        .collect()
}

fn lossy(rest: &[u8]) -> String {
    String::from_utf8_lossy(rest).into_owned()
}

fn sub_args(rest: &[u8], leaf: bool) -> Result<RouteOp, RouteParseError> {
    let mut args = split(rest);
    if leaf && !args.is_empty() {
        args.remove(0);
    }
    let bad = || RouteParseError::SubArgs(lossy(rest));
    match args.len() {
        2 => Ok(RouteOp::Sub {
            account: args[0].clone(),
            subject: args[1].clone(),
            queue: None,
        }),
        3 | 4 => {
            let weight = match args.get(3) {
                Some(w) => std::str::from_utf8(w)
                    .ok()
                    .and_then(|w| w.parse::<u32>().ok())
                    .ok_or_else(bad)?,
                None => 1,
            };
            Ok(RouteOp::Sub {
                account: args[0].clone(),
                subject: args[1].clone(),
                queue: Some((args[2].clone(), weight)),
            })
        }
        _ => Err(bad()),
    }
}

fn unsub_args(rest: &[u8], leaf: bool) -> Result<RouteOp, RouteParseError> {
    let mut args = split(rest);
    if leaf && !args.is_empty() {
        args.remove(0);
    }
    match args.len() {
        2 | 3 => Ok(RouteOp::Unsub {
            account: args[0].clone(),
            subject: args[1].clone(),
            queue: args.get(2).cloned(),
        }),
        _ => Err(RouteParseError::SubArgs(lossy(rest))),
    }
}

/// Where each field of a routed message's line is (byte ranges in the buffer).
struct MsgArgs {
    account: (usize, usize),
    subject: (usize, usize),
    reply: Option<(usize, usize)>,
    queues: Vec<(usize, usize)>,
    header_len: usize,
    size: usize,
}

fn number(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 12 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `acc subj [reply] [hdr] size`, `acc subj + reply q... [hdr] size`, `acc subj | q... [hdr] size`.
/// `at` is the offset of `rest` in the buffer.
fn msg_args(rest: &[u8], at: usize, headers: bool, leaf: bool) -> Result<MsgArgs, RouteParseError> {
    let mut args: Vec<(usize, usize)> = Vec::with_capacity(8);
    let mut i = 0;
    while i < rest.len() {
        while i < rest.len() && (rest[i] == b' ' || rest[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < rest.len() && rest[i] != b' ' && rest[i] != b'\t' {
            i += 1;
        }
        if i > start {
            args.push((start, i));
        }
    }
    if leaf && !args.is_empty() {
        args.remove(0);
    }
    let bad = || RouteParseError::MsgArgs(lossy(rest));
    let tok = |r: (usize, usize)| &rest[r.0..r.1];
    let sizes = if headers { 2 } else { 1 };
    if args.len() < 2 + sizes {
        return Err(bad());
    }
    let size = number(tok(args[args.len() - 1])).ok_or_else(bad)?;
    let header_len = if headers {
        number(tok(args[args.len() - 2])).ok_or_else(bad)?
    } else {
        0
    };
    if header_len > size {
        return Err(bad());
    }
    let abs = |r: (usize, usize)| (r.0 + at, r.1 + at);
    let middle = &args[2..args.len() - sizes];
    let (reply, queues) = match middle.first().map(|r| tok(*r)) {
        None => (None, Vec::new()),
        Some(b"+") if middle.len() >= 2 => (
            Some(abs(middle[1])),
            middle[2..].iter().map(|r| abs(*r)).collect(),
        ),
        Some(b"|") => (None, middle[1..].iter().map(|r| abs(*r)).collect()),
        Some(_) if middle.len() == 1 => (Some(abs(middle[0])), Vec::new()),
        Some(_) => return Err(bad()),
    };
    Ok(MsgArgs {
        account: abs(args[0]),
        subject: abs(args[1]),
        reply,
        queues,
        header_len,
        size,
    })
}

/// An op as the trace log shows it (`[RS+ $G foo]`, `[RMSG $G foo | q 5]`).
pub(super) fn describe(op: &RouteOp) -> String {
    let l = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    match op {
        RouteOp::Info(j) => format!("[INFO {}]", l(j)),
        RouteOp::Connect(_) => "[CONNECT ...]".to_string(),
        RouteOp::Ping => "[PING]".to_string(),
        RouteOp::Pong => "[PONG]".to_string(),
        RouteOp::Ok => "[OK]".to_string(),
        RouteOp::Err(t) => format!("[-ERR {}]", l(t)),
        RouteOp::Sub {
            account,
            subject,
            queue,
        } => match queue {
            Some((q, w)) => format!("[RS+ {} {} {} {w}]", l(account), l(subject), l(q)),
            None => format!("[RS+ {} {}]", l(account), l(subject)),
        },
        RouteOp::Unsub {
            account,
            subject,
            queue,
        } => match queue {
            Some(q) => format!("[RS- {} {} {}]", l(account), l(subject), l(q)),
            None => format!("[RS- {} {}]", l(account), l(subject)),
        },
        RouteOp::Msg {
            account,
            subject,
            reply,
            queues,
            message,
            ..
        } => {
            let q: Vec<String> = queues.iter().map(l).collect();
            format!(
                "[RMSG {} {} {} {:?} {}]",
                l(account),
                l(subject),
                reply.as_ref().map(l).unwrap_or_default(),
                q,
                message.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<RouteOp> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(op) = parse(&mut buf).expect("parse") {
            out.push(op);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        out
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn interest() {
        let ops =
            all(b"RS+ $G foo\r\nRS+ $G w g 3\r\nRS- $G w g\r\nRS- $G foo\r\nLS+ c1 $G bar\r\n");
        assert_eq!(
            ops[1],
            RouteOp::Sub {
                account: b("$G"),
                subject: b("w"),
                queue: Some((b("g"), 3))
            }
        );
        assert_eq!(
            ops[2],
            RouteOp::Unsub {
                account: b("$G"),
                subject: b("w"),
                queue: Some(b("g"))
            }
        );
        assert_eq!(
            ops[4],
            RouteOp::Sub {
                account: b("$G"),
                subject: b("bar"),
                queue: None
            }
        );
    }

    #[test]
    fn messages_in_every_form() {
        let ops = all(
            b"RMSG $G baz 3\r\nabc\r\nRMSG $G qq + r grp 1\r\nx\r\nRMSG $G q | g1 g2 2\r\nhi\r\n\
              RMSG $G s r 0\r\n\r\nHMSG $G hh 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n",
        );
        assert_eq!(ops.len(), 5);
        let RouteOp::Msg {
            reply,
            queues,
            message,
            ..
        } = &ops[1]
        else {
            panic!("{:?}", ops[1])
        };
        assert_eq!(reply.as_ref(), Some(&b("r")));
        assert_eq!(queues, &vec![b("grp")]);
        assert_eq!(message, &b("x"));
        let RouteOp::Msg { reply, queues, .. } = &ops[2] else {
            panic!()
        };
        assert_eq!((reply, queues.len()), (&None, 2));
        let RouteOp::Msg { reply, .. } = &ops[3] else {
            panic!()
        };
        assert_eq!(reply.as_ref(), Some(&b("r")));
        let RouteOp::Msg {
            header_len,
            message,
            ..
        } = &ops[4]
        else {
            panic!()
        };
        assert_eq!((*header_len, message.len()), (18, 20));
    }

    #[test]
    fn every_split_point() {
        let input: &[u8] = b"INFO {\"server_id\":\"X\"}\r\nRS+ $G a.b\r\nRMSG $G a.b + _INBOX.1 q 5\r\nhello\r\nPING\r\n";
        let whole = all(input);
        for cut in 0..input.len() {
            let mut buf = BytesMut::from(&input[..cut]);
            let mut got = Vec::new();
            while let Some(op) = parse(&mut buf).expect("parse") {
                got.push(op);
            }
            buf.extend_from_slice(&input[cut..]);
            while let Some(op) = parse(&mut buf).expect("parse") {
                got.push(op);
            }
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            &b"RMSG $G\r\n"[..],
            b"RMSG $G a x\r\n",
            b"HMSG $G a 5 3\r\n",
            b"RS+ $G\r\n",
            b"RS+ $G a q w\r\n",
            b"BOGUS\r\n",
            b"RMSG $G a 1\r\nxyz",
        ] {
            let mut buf = BytesMut::from(bad);
            assert!(parse(&mut buf).is_err(), "{bad:?}");
        }
        let mut long = BytesMut::from(&vec![b'A'; MAX_ROUTE_CONTROL_LINE + 2][..]);
        assert_eq!(parse(&mut long), Err(RouteParseError::ControlLine));
    }
}
