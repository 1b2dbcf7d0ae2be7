//! Parser tests for valid frames, and the reference's quirks in how it reads them.

use super::*;

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
