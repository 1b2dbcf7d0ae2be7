//! Fuzz target for the client-protocol parser: no input may panic it, and the ops and error it
//! produces must not depend on how the byte stream is split into reads.
//!
//! Input layout: byte 0 selects the settings (bit 0: headers allowed, bit 1: CONNECT
//! required, bits 2-3: a limits preset), byte 1 seeds the pseudo-random split points, the rest
//! is the byte stream. `broker/tests/parser_corpus.rs` replays the corpus with the same layout.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rnats_broker::proto::{ClientOp, ParseError, Parser, ParserLimits};

/// Limits presets: the defaults, and small ones so that limit paths are reached often.
const LIMITS: [ParserLimits; 4] = [
    ParserLimits {
        max_control_line: 4096,
        max_payload: 1024 * 1024,
    },
    ParserLimits {
        max_control_line: 16,
        max_payload: 16,
    },
    ParserLimits {
        max_control_line: 64,
        max_payload: 1024,
    },
    ParserLimits {
        max_control_line: 4096,
        max_payload: 0,
    },
];

type Outcome = (Vec<ClientOp>, Option<ParseError>);

/// Feeds `chunks` in order like a read loop, acting on CONNECT as the handler would.
fn run(flags: u8, chunks: &[&[u8]]) -> Outcome {
    let limits = LIMITS[usize::from(flags >> 2) & 3];
    let mut parser = Parser::new(limits);
    parser.set_headers_allowed(flags & 1 != 0);
    parser.set_require_connect(flags & 2 != 0);
    let mut buf = BytesMut::new();
    let mut ops = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => {
                    check_op(&op, limits);
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
                Err(err) => return (ops, Some(err)),
            }
        }
    }
    (ops, None)
}

/// Invariants every op must satisfy.
fn check_op(op: &ClientOp, limits: ParserLimits) {
    match op {
        ClientOp::Pub {
            subject, payload, ..
        } => {
            assert!(!subject.is_empty());
            assert!(payload.len() <= limits.max_payload);
        }
        ClientOp::HPub {
            subject,
            header_len,
            message,
            ..
        } => {
            assert!(!subject.is_empty());
            assert!(*header_len <= message.len());
            assert!(message.len() <= limits.max_payload);
        }
        ClientOp::Sub { subject, sid, .. } => assert!(!subject.is_empty() && !sid.is_empty()),
        ClientOp::Unsub { sid, .. } => assert!(!sid.is_empty()),
        _ => {}
    }
}

/// xorshift64*: deterministic split points from the input's seed byte.
fn chunk_sizes(seed: u8, len: usize) -> Vec<usize> {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ (u64::from(seed) << 32) ^ len as u64;
    let max = 1 + usize::from(seed % 64);
    let mut sizes = Vec::new();
    let mut total = 0;
    while total < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let n = 1 + (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % max;
        sizes.push(n);
        total += n;
    }
    sizes
}

fn split_by<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = data;
    for &n in sizes {
        let (a, b) = rest.split_at(n.min(rest.len()));
        chunks.push(a);
        rest = b;
    }
    chunks.push(rest);
    chunks
}

fuzz_target!(|input: &[u8]| {
    let [flags, seed, data @ ..] = input else {
        return;
    };
    let whole = run(*flags, &[data]);

    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(run(*flags, &bytes), whole, "byte by byte");

    let random = split_by(data, &chunk_sizes(*seed, data.len()));
    assert_eq!(run(*flags, &random), whole, "random chunks");

    // Split just before and just after every line end.
    let mut at_lines = Vec::new();
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            at_lines.push(&data[start..i]);
            at_lines.push(&data[i..=i]);
            start = i + 1;
        }
    }
    at_lines.push(&data[start..]);
    assert_eq!(run(*flags, &at_lines), whole, "split at line ends");

    let half = data.len() / 2;
    assert_eq!(
        run(*flags, &[&data[..half], &data[half..]]),
        whole,
        "halves"
    );
});
