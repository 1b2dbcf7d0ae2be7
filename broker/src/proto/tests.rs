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

// ---- valid frames ----

#[test]
fn pub_frames() {
    ok(
        DEFAULT,
        b"PUB foo 5\r\nhello\r\n",
        vec![publ(b"foo", None, b"hello")],
    );
    ok(
        DEFAULT,
        b"PUB foo bar 5\r\nhello\r\n",
        vec![publ(b"foo", Some(b"bar"), b"hello")],
    );
    ok(DEFAULT, b"PUB foo 0\r\n\r\n", vec![publ(b"foo", None, b"")]);
    ok(
        DEFAULT,
        b"PUB foo 4\r\n\r\n\r\n\r\n",
        vec![publ(b"foo", None, b"\r\n\r\n")],
    );
    ok(
        DEFAULT,
        b"PUB foo 05\r\nhello\r\n",
        vec![publ(b"foo", None, b"hello")],
    );
    ok(
        DEFAULT,
        b"PUB foo 000000005\r\nhello\r\n",
        vec![publ(b"foo", None, b"hello")],
    );
}

#[test]
fn hpub_frames() {
    let msg = b"NATS/1.0\r\n\r\nhi";
    ok(
        HEADERS,
        b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        vec![hpub(b"foo", None, 12, msg)],
    );
    ok(
        HEADERS,
        b"HPUB foo _INBOX.1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        vec![hpub(b"foo", Some(b"_INBOX.1"), 12, msg)],
    );
    ok(
        HEADERS,
        b"HPUB foo 0 0\r\n\r\n",
        vec![hpub(b"foo", None, 0, b"")],
    );
    ok(
        HEADERS,
        b"hpub foo r 2 4\r\nabcd\r\n",
        vec![hpub(b"foo", Some(b"r"), 2, b"abcd")],
    );
    // Headers switched on by CONNECT in the same stream.
    ok(
        DEFAULT,
        b"CONNECT {\"headers\":true}\r\nHPUB foo 2 2\r\nab\r\n",
        vec![
            ClientOp::Connect(b(b"{\"headers\":true}")),
            hpub(b"foo", None, 2, b"ab"),
        ],
    );
}

#[test]
fn sub_unsub_frames() {
    ok(DEFAULT, b"SUB foo 1\r\n", vec![sub(b"foo", None, b"1")]);
    ok(
        DEFAULT,
        b"SUB foo q 1\r\n",
        vec![sub(b"foo", Some(b"q"), b"1")],
    );
    ok(DEFAULT, b"SUB foo 1 \r\n", vec![sub(b"foo", None, b"1")]);
    ok(DEFAULT, b"UNSUB 1\r\n", vec![unsub(b"1", None)]);
    ok(DEFAULT, b"UNSUB 1 5\r\n", vec![unsub(b"1", Some(5))]);
    ok(DEFAULT, b"UNSUB 1 0\r\n", vec![unsub(b"1", Some(0))]);
    // An invalid max is ignored by the reference (it becomes -1: remove now).
    ok(DEFAULT, b"UNSUB 1 x\r\n", vec![unsub(b"1", None)]);
    ok(DEFAULT, b"UNSUB 1 1234567890\r\n", vec![unsub(b"1", None)]);
}

#[test]
fn connect_info_and_small_ops() {
    ok(
        DEFAULT,
        b"CONNECT {\"verbose\":false}\r\n",
        vec![ClientOp::Connect(b(b"{\"verbose\":false}"))],
    );
    ok(DEFAULT, b"CONNECT{}\r\n", vec![ClientOp::Connect(b(b"{}"))]);
    ok(
        DEFAULT,
        b"CONNECT \t {} \r\n",
        vec![ClientOp::Connect(b(b"{}"))],
    );
    ok(DEFAULT, b"CONNECT\n{}\n", vec![ClientOp::Connect(b(b"{}"))]);
    // The reference hands "\r" to its JSON decoder, which fails: an empty text fails too.
    ok(DEFAULT, b"CONNECT\r\n", vec![ClientOp::Connect(b(b""))]);
    ok(DEFAULT, b"INFO {}\r\n", vec![ClientOp::Info(b(b"{}"))]);
    ok(DEFAULT, b"INFO{}\r\n", vec![ClientOp::Info(b(b"{}"))]);
    ok(DEFAULT, b"PING\r\n", vec![ClientOp::Ping]);
    ok(DEFAULT, b"PONG\r\n", vec![ClientOp::Pong]);
    ok(DEFAULT, b"+OK\r\n", vec![ClientOp::Ok]);
    ok(
        DEFAULT,
        b"-ERR 'oops'\r\n",
        vec![ClientOp::Err(b(b"'oops'"))],
    );
    ok(DEFAULT, b"-ERR\t\tx\n", vec![ClientOp::Err(b(b"x"))]);
    ok(DEFAULT, b"HMSG foo 1 2\r\n\r\n", vec![ClientOp::HMsg]);
    ok(DEFAULT, b"HMSG \n\r\n\r\n", vec![ClientOp::HMsg]);
}

#[test]
fn case_tabs_and_bare_newlines() {
    ok(
        DEFAULT,
        b"ping\r\nPiNg\npOnG\n+ok\n",
        vec![ClientOp::Ping; 2]
            .into_iter()
            .chain([ClientOp::Pong, ClientOp::Ok])
            .collect(),
    );
    ok(
        DEFAULT,
        b"pub foo 5\nhello\r\n",
        vec![publ(b"foo", None, b"hello")],
    );
    ok(
        DEFAULT,
        b"Pub\tfoo\t \tbar  5\nhello\r\n",
        vec![publ(b"foo", Some(b"bar"), b"hello")],
    );
    ok(DEFAULT, b"sub\tfoo\t\t1\r\n", vec![sub(b"foo", None, b"1")]);
    ok(
        DEFAULT,
        b"SUB  foo   q  1\n",
        vec![sub(b"foo", Some(b"q"), b"1")],
    );
    ok(DEFAULT, b"uNsUb\t7\t3\n", vec![unsub(b"7", Some(3))]);
    ok(DEFAULT, b"connect {}\n", vec![ClientOp::Connect(b(b"{}"))]);
    ok(DEFAULT, b"info\t{}\n", vec![ClientOp::Info(b(b"{}"))]);
    ok(
        HEADERS,
        b"HpUb\tfoo\t1\t1\nx\r\n",
        vec![hpub(b"foo", None, 1, b"x")],
    );
    ok(DEFAULT, b"-err x\n", vec![ClientOp::Err(b(b"x"))]);
}

#[test]
fn stream_of_every_frame() {
    let input: &[u8] = b"CONNECT {\"verbose\":false,\"headers\":true}\r\n\
        PING\r\nsub foo 1\r\nSUB bar q 2\r\nPUB foo 5\r\nhello\r\n\
        PUB foo _INBOX.x 3\r\nabc\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n\
        HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nUNSUB 1\r\nUNSUB 2 10\r\nPONG\r\n\
        INFO {}\r\n+OK\r\n-ERR 'x'\r\n";
    ok(
        DEFAULT,
        input,
        vec![
            ClientOp::Connect(b(b"{\"verbose\":false,\"headers\":true}")),
            ClientOp::Ping,
            sub(b"foo", None, b"1"),
            sub(b"bar", Some(b"q"), b"2"),
            publ(b"foo", None, b"hello"),
            publ(b"foo", Some(b"_INBOX.x"), b"abc"),
            hpub(b"foo", None, 12, b"NATS/1.0\r\n\r\nhi"),
            hpub(b"foo", Some(b"r"), 12, b"NATS/1.0\r\n\r\n"),
            unsub(b"1", None),
            unsub(b"2", Some(10)),
            ClientOp::Pong,
            ClientOp::Info(b(b"{}")),
            ClientOp::Ok,
            ClientOp::Err(b(b"'x'")),
        ],
    );
}

#[test]
fn incomplete_input_is_not_an_error() {
    for input in [
        &b"P"[..],
        b"PU",
        b"PUB",
        b"PUB ",
        b"PUB foo 5",
        b"PUB foo 5\r",
        b"PUB foo 5\r\nhel",
        b"PUB foo 5\r\nhello",
        b"PUB foo 5\r\nhello\r",
        b"PING",
        b"PINGX",
        b"CONNECT",
        b"CONNECT {",
        b"HMSG x\r\n\r",
    ] {
        ok(DEFAULT, input, vec![]);
    }
}

// ---- the reference's quirks ----

#[test]
fn ping_pong_ok_ignore_the_rest_of_the_line() {
    ok(DEFAULT, b"PINGXYZ junk\r\n", vec![ClientOp::Ping]);
    ok(
        DEFAULT,
        b"PONGx\r\nPING \r\n",
        vec![ClientOp::Pong, ClientOp::Ping],
    );
    ok(
        DEFAULT,
        b"+OKPING\r\nPING\r\n",
        vec![ClientOp::Ok, ClientOp::Ping],
    );
    // Not bounded by max_control_line (the reference buffers nothing there, nor do we).
    let mut long = b"PING".to_vec();
    long.extend(std::iter::repeat_n(b'x', 10_000));
    long.extend_from_slice(b"\r\n");
    assert_eq!(run(DEFAULT, &[&long]).ops, vec![ClientOp::Ping]);
}

#[test]
fn blanks_before_arguments_are_unbounded() {
    let mut input = b"PUB".to_vec();
    input.extend(std::iter::repeat_n(b' ', 10_000));
    input.extend_from_slice(b"foo 0\r\n\r\n");
    let chunks: Vec<&[u8]> = input.chunks(7).collect();
    assert_eq!(run(DEFAULT, &chunks).ops, vec![publ(b"foo", None, b"")]);
    assert_eq!(run(DEFAULT, &[&input]).ops, vec![publ(b"foo", None, b"")]);
}

#[test]
fn first_argument_byte_is_taken_literally() {
    // After the blanks the reference starts the argument at the next byte without looking at
    // it, even if it is `\n`.
    ok(DEFAULT, b"SUB \nfoo 1\r\n", vec![sub(b"foo", None, b"1")]);
    ok(
        DEFAULT,
        b"PUB \nfoo 5\r\nhello\r\n",
        vec![publ(b"\nfoo", None, b"hello")],
    );
    fails(DEFAULT, b"SUB \r\n", vec![], arg_count("SUB", b"\r"), None);
    fails(DEFAULT, b"PUB \r\n", vec![], arg_count("PUB", b"\r"), None);
}

#[test]
fn carriage_return_in_a_line_drops_its_last_byte() {
    // nats-server's `c.drop`: a `\r` anywhere in the arguments drops the byte before `\n`.
    fails(
        DEFAULT,
        b"SUB foo\r 1\n",
        vec![],
        arg_count("SUB", b"foo\r "),
        None,
    );
    ok(DEFAULT, b"SUB foo\r1\r\n", vec![sub(b"foo", None, b"1")]);
    ok(
        DEFAULT,
        b"SUB foo 1\r\rPING\r\n",
        vec![sub(b"foo", Some(b"1"), b"PING")],
    );
    ok(DEFAULT, b"UNSUB 1\r 2\n", vec![unsub(b"1", None)]);
    ok(DEFAULT, b"UNSUB 1 2\r\r\n", vec![unsub(b"1", Some(2))]);
    ok(
        DEFAULT,
        b"CONNECT {}\r}\n",
        vec![ClientOp::Connect(b(b"{}"))],
    );
    fails(
        DEFAULT,
        b"PUB foo 5\r\rhello\r\n",
        vec![],
        bad_size("PUB", b"foo 5\r\rhello"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB foo\r5x\nhello\r\n",
        vec![],
        arg_count("PUB", b"foo\r5"),
        None,
    );
}

// ---- errors ----

#[test]
fn unknown_operations() {
    let start = "at start of operation";
    let name = "in operation name";
    let after = "after operation name";
    fails(DEFAULT, b"XYZ\r\n", vec![], unknown(start, b'X'), UNKNOWN);
    fails(DEFAULT, b"\r\n", vec![], unknown(start, b'\r'), UNKNOWN);
    fails(DEFAULT, b"\n", vec![], unknown(start, b'\n'), UNKNOWN);
    fails(DEFAULT, b" PING\r\n", vec![], unknown(start, b' '), UNKNOWN);
    fails(
        DEFAULT,
        b"MSG foo 1 2\r\n",
        vec![],
        unknown(start, b'M'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"RS+ foo\r\n",
        vec![],
        unknown(start, b'R'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"A+ foo\r\n",
        vec![],
        unknown(start, b'A'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"LS+ foo\r\n",
        vec![],
        unknown(start, b'L'),
        UNKNOWN,
    );
    fails(DEFAULT, b"PIN\r\n", vec![], unknown(name, b'\r'), UNKNOWN);
    fails(DEFAULT, b"PO\r\n", vec![], unknown(name, b'\r'), UNKNOWN);
    fails(DEFAULT, b"+O\r\n", vec![], unknown(name, b'\r'), UNKNOWN);
    fails(DEFAULT, b"PUX", vec![], unknown(name, b'X'), UNKNOWN);
    fails(DEFAULT, b"HPUX\r\n", vec![], unknown(name, b'X'), UNKNOWN);
    fails(DEFAULT, b"CONNEX", vec![], unknown(name, b'X'), UNKNOWN);
    fails(DEFAULT, b"SUB\r\n", vec![], unknown(after, b'\r'), UNKNOWN);
    fails(
        DEFAULT,
        b"SUBfoo 1\r\n",
        vec![],
        unknown(after, b'f'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"UNSUB\r\n",
        vec![],
        unknown(after, b'\r'),
        UNKNOWN,
    );
    fails(DEFAULT, b"-ERR\r\n", vec![], unknown(after, b'\r'), UNKNOWN);
    fails(DEFAULT, b"HMSG\r\n", vec![], unknown(after, b'\r'), UNKNOWN);
    // The separator is checked before headers support.
    fails(DEFAULT, b"HPUB\r\n", vec![], unknown(after, b'\r'), UNKNOWN);
    // Ops before the error are still delivered.
    fails(
        DEFAULT,
        b"PING\r\nX",
        vec![ClientOp::Ping],
        unknown(start, b'X'),
        UNKNOWN,
    );
}

#[test]
fn payload_must_end_with_crlf() {
    let after = "after payload";
    fails(
        DEFAULT,
        b"PUB foo 5\r\nhelloXX",
        vec![],
        unknown(after, b'X'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"PUB foo 5\r\nhello\n",
        vec![],
        unknown(after, b'\n'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"PUB foo 5\r\nhello\rX",
        vec![],
        unknown(after, b'X'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"PUB foo 5\r\nhello\r\r\n",
        vec![],
        unknown(after, b'\r'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"PUB foo 3\r\nabc\r\nPUB foo 3\r\nabcd",
        vec![publ(b"foo", None, b"abc")],
        unknown(after, b'd'),
        UNKNOWN,
    );
    fails(
        HEADERS,
        b"HPUB foo 1 2\r\nabc\r\n",
        vec![],
        unknown(after, b'c'),
        UNKNOWN,
    );
    fails(
        DEFAULT,
        b"HMSG foo 1 2\r\nPING\r\n",
        vec![],
        unknown(after, b'P'),
        UNKNOWN,
    );
}

#[test]
fn bad_pub_arguments_close_silently() {
    fails(
        DEFAULT,
        b"PUB foo\r\n",
        vec![],
        arg_count("PUB", b"foo"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB a b c 1\r\n",
        vec![],
        arg_count("PUB", b"a b c 1"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB foo x\r\n",
        vec![],
        bad_size("PUB", b"foo x"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB foo -1\r\n",
        vec![],
        bad_size("PUB", b"foo -1"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB foo +5\r\n",
        vec![],
        bad_size("PUB", b"foo +5"),
        None,
    );
    fails(
        DEFAULT,
        b"PUB foo 1234567890\r\n",
        vec![],
        bad_size("PUB", b"foo 1234567890"),
        None,
    );
}

#[test]
fn bad_hpub_arguments_close_silently() {
    fails(
        HEADERS,
        b"HPUB foo 1\r\n",
        vec![],
        arg_count("HPUB", b"foo 1"),
        None,
    );
    fails(
        HEADERS,
        b"HPUB a b c 1 2\r\n",
        vec![],
        arg_count("HPUB", b"a b c 1 2"),
        None,
    );
    let bad_hdr = ParseError::BadHeaderSize { arg: b(b"foo x 4") };
    fails(HEADERS, b"HPUB foo x 4\r\n", vec![], bad_hdr, None);
    fails(
        HEADERS,
        b"HPUB foo 1 x\r\n",
        vec![],
        bad_size("HPUB", b"foo 1 x"),
        None,
    );
    let too_large = ParseError::HeaderTooLarge { hdr: 15, total: 14 };
    fails(HEADERS, b"HPUB foo 15 14\r\n", vec![], too_large, None);
    // hdr > total is reported before max_payload.
    let too_large = ParseError::HeaderTooLarge {
        hdr: 2_000_001,
        total: 2_000_000,
    };
    fails(
        HEADERS,
        b"HPUB foo 2000001 2000000\r\n",
        vec![],
        too_large,
        None,
    );
}

#[test]
fn bad_sub_unsub_arguments_close_silently() {
    fails(
        DEFAULT,
        b"SUB foo\r\n",
        vec![],
        arg_count("SUB", b"foo"),
        None,
    );
    fails(
        DEFAULT,
        b"SUB a b c d\r\n",
        vec![],
        arg_count("SUB", b"a b c d"),
        None,
    );
    fails(
        DEFAULT,
        b"UNSUB 1 2 3\r\n",
        vec![],
        arg_count("UNSUB", b"1 2 3"),
        None,
    );
    fails(
        DEFAULT,
        b"UNSUB \t\r\n",
        vec![],
        arg_count("UNSUB", b"\r"),
        None,
    );
}

#[test]
fn headers_not_allowed_closes_silently_at_end_of_line() {
    ok(DEFAULT, b"HPUB foo 12 14", vec![]);
    let err = ParseError::HeadersNotSupported;
    fails(
        DEFAULT,
        b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        vec![],
        err.clone(),
        None,
    );
    // Checked before the arguments.
    fails(DEFAULT, b"HPUB x\r\n", vec![], err.clone(), None);
    fails(
        DEFAULT,
        b"CONNECT {}\r\nhpub x\r\n",
        vec![ClientOp::Connect(b(b"{}"))],
        err,
        None,
    );
}

#[test]
fn max_payload() {
    let text = Some("Maximum Payload Violation");
    let max = DEFAULT_MAX_PAYLOAD;
    let err = |size| ParseError::MaxPayload { size, max };
    fails(
        DEFAULT,
        b"PUB foo 2000000\r\n",
        vec![],
        err(2_000_000),
        text,
    );
    fails(
        DEFAULT,
        b"PUB foo 999999999\r\n",
        vec![],
        err(999_999_999),
        text,
    );
    fails(
        HEADERS,
        b"HPUB foo 1 2000000\r\n",
        vec![],
        err(2_000_000),
        text,
    );
    fails(
        HEADERS,
        b"HPUB foo 2000000 2000000\r\n",
        vec![],
        err(2_000_000),
        text,
    );
    // Checked on the control line: the payload never has to arrive.
    let small = Cfg {
        limits: ParserLimits {
            max_payload: 5,
            ..DEFAULT.limits
        },
        ..HEADERS
    };
    ok(
        small,
        b"PUB foo 5\r\nhello\r\n",
        vec![publ(b"foo", None, b"hello")],
    );
    let err = ParseError::MaxPayload { size: 6, max: 5 };
    fails(small, b"PUB foo 6\r\n", vec![], err.clone(), text);
    fails(small, b"HPUB foo 2 6\r\n", vec![], err, text);
    ok(
        small,
        b"HPUB foo 2 5\r\nab123\r\n",
        vec![hpub(b"foo", None, 2, b"ab123")],
    );
}

#[test]
fn max_control_line() {
    let text = Some("maximum control line exceeded");
    let err = ParseError::MaxControlLine {
        max: DEFAULT_MAX_CONTROL_LINE,
    };
    // The limit counts the arguments: `PUB ` and `\r\n` are not part of it.
    let line = |n: usize, end: &[u8]| {
        let mut v = b"PUB ".to_vec();
        v.extend(std::iter::repeat_n(b'a', n));
        v.extend_from_slice(b" 0");
        v.extend_from_slice(end);
        v
    };
    let at_limit = line(DEFAULT_MAX_CONTROL_LINE - 2, b"\r\n\r\n");
    assert_eq!(run(DEFAULT, &[&at_limit]).err, None);
    assert_eq!(run(DEFAULT, &[&at_limit]).ops.len(), 1);
    let over = line(DEFAULT_MAX_CONTROL_LINE - 1, b"\r\n\r\n");
    assert_eq!(run(DEFAULT, &[&over]).err, Some(err.clone()));
    assert_eq!(err.client_error_text(), text);
    // A bare `\n` does not change the count.
    let at_limit = line(DEFAULT_MAX_CONTROL_LINE - 2, b"\n\r\n");
    assert_eq!(run(DEFAULT, &[&at_limit]).err, None);
    // A partial line errors as soon as it is too long, without waiting for its end.
    let partial = line(DEFAULT_MAX_CONTROL_LINE - 1, b"");
    assert_eq!(run(DEFAULT, &[&partial]).err, Some(err.clone()));
    let chunks: Vec<&[u8]> = partial.chunks(100).collect();
    assert_eq!(run(DEFAULT, &chunks).err, Some(err.clone()));

    // Small limit, every split: 8 bytes of arguments pass, 9 do not.
    let small = Cfg {
        limits: ParserLimits {
            max_control_line: 8,
            ..DEFAULT.limits
        },
        ..DEFAULT
    };
    let err = ParseError::MaxControlLine { max: 8 };
    ok(small, b"SUB foo 1234\r\n", vec![sub(b"foo", None, b"1234")]);
    ok(
        small,
        b"PUB foo 10\r\n0123456789\r\n",
        vec![publ(b"foo", None, b"0123456789")],
    );
    fails(small, b"SUB foo 12345\r\n", vec![], err.clone(), text);
    fails(small, b"SUB foo 12345", vec![], err.clone(), text);
    fails(small, b"CONNECT {\"a\":123}\r\n", vec![], err.clone(), text);
    fails(small, b"INFO {\"a\":123}", vec![], err.clone(), text);
    fails(small, b"-ERR 123456789", vec![], err.clone(), text);
    fails(small, b"HMSG 123456789", vec![], err.clone(), text);
    // Checked before headers support.
    fails(small, b"HPUB foo 12 14", vec![], err.clone(), text);
    // Leading blanks do not count, PING lines are not limited.
    ok(
        small,
        b"CONNECT          {\"a\":1}\r\n",
        vec![ClientOp::Connect(b(b"{\"a\":1}"))],
    );
    ok(small, b"PING 0123456789\r\n", vec![ClientOp::Ping]);
}

#[test]
fn require_connect() {
    let auth = Cfg {
        require_connect: true,
        ..DEFAULT
    };
    let text = Some("Authorization Violation");
    let err = ParseError::AuthorizationRequired;
    // Detected on the first byte of the first op.
    for input in [
        &b"P"[..],
        b"PING\r\n",
        b"X",
        b"\r\n",
        b"+OK\r\n",
        b"SUB foo 1\r\n",
        b"INFO {}\r\n",
    ] {
        fails(auth, input, vec![], err.clone(), text);
    }
    fails(
        auth,
        b"CX\r\n",
        vec![],
        unknown("in operation name", b'X'),
        UNKNOWN,
    );
    ok(
        auth,
        b"connect {\"user\":\"u\"}\r\nPING\r\n",
        vec![ClientOp::Connect(b(b"{\"user\":\"u\"}")), ClientOp::Ping],
    );
}

// ---- API properties ----

#[test]
fn zero_copy_and_consumption() {
    let mut parser = Parser::new(ParserLimits::default());
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"PUB foo bar 5\r\nhello\r\nSUB x 1\r\n");
    let base = buf.as_ptr() as usize;
    let within = |bytes: &Bytes| {
        let p = bytes.as_ptr() as usize;
        p >= base && p + bytes.len() <= base + 64
    };
    match parser.parse(&mut buf) {
        Ok(Some(ClientOp::Pub {
            subject,
            reply: Some(reply),
            payload,
        })) => {
            assert!(within(&subject) && within(&reply) && within(&payload));
            assert_eq!(&payload[..], b"hello");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(&buf[..], b"SUB x 1\r\n");
    match parser.parse(&mut buf) {
        Ok(Some(ClientOp::Sub { subject, sid, .. })) => assert!(within(&subject) && within(&sid)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(buf.is_empty());
    assert_eq!(parser.parse(&mut buf), Ok(None));
}

#[test]
fn control_line_is_consumed_before_the_payload_arrives() {
    let mut parser = Parser::new(ParserLimits::default());
    let mut buf = BytesMut::from(&b"PUB foo 5\r\nhel"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"hel");
    assert_eq!(parser.payload_needed(), Some(7));
    // A limit change does not affect a message already accepted.
    parser.set_limits(ParserLimits {
        max_control_line: 1,
        max_payload: 1,
    });
    assert_eq!(parser.limits().max_payload, 1);
    buf.extend_from_slice(b"lo\r\n");
    assert_eq!(
        parser.parse(&mut buf),
        Ok(Some(publ(b"foo", None, b"hello")))
    );
    assert_eq!(parser.payload_needed(), None);
    buf.extend_from_slice(b"PUB foo 2\r\n");
    assert_eq!(
        parser.parse(&mut buf),
        Err(ParseError::MaxControlLine { max: 1 })
    );
}

#[test]
fn partial_lines_are_scanned_once() {
    // Feeding a long line in pieces keeps the bytes in the buffer and finds the end once.
    let mut parser = Parser::new(ParserLimits::default());
    let mut buf = BytesMut::new();
    for _ in 0..100 {
        buf.extend_from_slice(b"SUB ");
        assert_eq!(parser.parse(&mut buf), Ok(None));
    }
    buf.extend_from_slice(b"x 1\r\n");
    // "SUB SUB ... SUB x 1": too many arguments, but only one line.
    assert!(matches!(
        parser.parse(&mut buf),
        Err(ParseError::ArgCount { op: "SUB", .. })
    ));
}

#[test]
fn errors_display() {
    let err = ParseError::ArgCount {
        op: "PUB",
        arg: b(b"foo"),
    };
    assert_eq!(
        err.to_string(),
        "PUB parse error: wrong number of arguments: b\"foo\""
    );
    assert_eq!(
        unknown("at start of operation", b'X').to_string(),
        "unknown protocol operation: unexpected byte 0x58 at start of operation"
    );
}
