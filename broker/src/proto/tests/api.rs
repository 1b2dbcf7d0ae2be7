//! Parser API properties: zero-copy payloads, consumption, scanning cost, error display.

use super::*;

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
