//! Parser tests: every frame type split at every byte boundary, every error with its `-ERR` text,
//! and the reference's quirks (each checked against nats-server 2.15.1 on a raw socket).

use bytes::{Bytes, BytesMut};

use super::{
    ClientOp, DEFAULT_MAX_CONTROL_LINE, DEFAULT_MAX_PAYLOAD, ParseError, Parser, ParserLimits,
};

/// Parser settings for one run.
#[derive(Debug, Clone, Copy)]
struct Cfg {
    limits: ParserLimits,
    headers: bool,
    require_connect: bool,
}

const DEFAULT: Cfg = Cfg {
    limits: ParserLimits {
        max_control_line: DEFAULT_MAX_CONTROL_LINE,
        max_payload: DEFAULT_MAX_PAYLOAD,
    },
    headers: false,
    require_connect: false,
};

const HEADERS: Cfg = Cfg {
    headers: true,
    ..DEFAULT
};

/// What a byte stream parses into: the ops, then the error that ended it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    ops: Vec<ClientOp>,
    err: Option<ParseError>,
}

/// Feeds `chunks` one after the other, draining ops after each, like a read loop. After a
/// CONNECT it does what the handler would: stop requiring CONNECT, allow headers if asked.
fn run(cfg: Cfg, chunks: &[&[u8]]) -> Outcome {
    let mut parser = Parser::new(cfg.limits);
    parser.set_headers_allowed(cfg.headers);
    parser.set_require_connect(cfg.require_connect);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => {
                    if let ClientOp::Connect(json) = &op {
                        parser.set_require_connect(false);
                        let needle = b"\"headers\":true";
                        if json.windows(needle.len()).any(|w| w == needle) {
                            parser.set_headers_allowed(true);
                        }
                    }
                    ops.push(op);
                }
                Ok(None) => break,
                Err(err) => {
                    return Outcome {
                        ops,
                        err: Some(err),
                    };
                }
            }
        }
    }
    Outcome { ops, err: None }
}

/// Parses `input` whole, then split in two at every boundary, then byte by byte; all runs must
/// agree. Returns the outcome.
fn run_all_splits(cfg: Cfg, input: &[u8]) -> Outcome {
    let whole = run(cfg, &[input]);
    for k in 0..=input.len() {
        let (a, b) = input.split_at(k);
        assert_eq!(run(cfg, &[a, b]), whole, "split at {k} of {input:?}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(cfg, &bytes), whole, "byte by byte: {input:?}");
    whole
}

fn ok(cfg: Cfg, input: &[u8], expected: Vec<ClientOp>) {
    let out = run_all_splits(cfg, input);
    assert_eq!(
        out,
        Outcome {
            ops: expected,
            err: None
        },
        "input {input:?}"
    );
}

fn fails(cfg: Cfg, input: &[u8], ops: Vec<ClientOp>, err: ParseError, text: Option<&str>) {
    let out = run_all_splits(cfg, input);
    assert_eq!(
        out,
        Outcome {
            ops,
            err: Some(err.clone())
        },
        "input {input:?}"
    );
    assert_eq!(err.client_error_text(), text, "{err}");
}

fn b(s: &[u8]) -> Bytes {
    Bytes::copy_from_slice(s)
}

fn publ(subject: &[u8], reply: Option<&[u8]>, payload: &[u8]) -> ClientOp {
    ClientOp::Pub {
        subject: b(subject),
        reply: reply.map(b),
        payload: b(payload),
    }
}

fn hpub(subject: &[u8], reply: Option<&[u8]>, header_len: usize, message: &[u8]) -> ClientOp {
    ClientOp::HPub {
        subject: b(subject),
        reply: reply.map(b),
        header_len,
        message: b(message),
    }
}

fn sub(subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> ClientOp {
    ClientOp::Sub {
        subject: b(subject),
        queue: queue.map(b),
        sid: b(sid),
    }
}

fn unsub(sid: &[u8], max: Option<u64>) -> ClientOp {
    ClientOp::Unsub { sid: b(sid), max }
}

fn unknown(context: &'static str, byte: u8) -> ParseError {
    ParseError::UnknownOp { context, byte }
}

fn arg_count(op: &'static str, arg: &[u8]) -> ParseError {
    ParseError::ArgCount { op, arg: b(arg) }
}

fn bad_size(op: &'static str, arg: &[u8]) -> ParseError {
    ParseError::BadSize { op, arg: b(arg) }
}

const UNKNOWN: Option<&str> = Some("Unknown Protocol Operation");

mod api;
mod errors;
mod frames;
