//! Parser tests for every error: which ops came before it, the error, and its `-ERR` text.

use super::*;

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
