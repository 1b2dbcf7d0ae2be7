//! Criterion micro-benchmarks of the client protocol parser on PUB/HPUB-heavy read buffers.
//!
//! Each case parses one buffer of back-to-back ops, as a connection's read loop would after
//! one large read. The buffer is copied into a fresh `BytesMut` per iteration (outside the
//! timed part). Run with `cargo bench -p rnats-broker --bench parser`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rnats_broker::proto::{ClientOp, Parser, ParserLimits};

/// Ops per buffer.
const OPS: usize = 1000;

/// `PUB <subject> [reply] <n>` with an `n`-byte payload, `OPS` times.
fn pub_buffer(subject: &str, reply: Option<&str>, size: usize) -> Vec<u8> {
    let payload = vec![b'x'; size];
    let mut buf = Vec::new();
    for _ in 0..OPS {
        buf.extend_from_slice(b"PUB ");
        buf.extend_from_slice(subject.as_bytes());
        if let Some(r) = reply {
            buf.push(b' ');
            buf.extend_from_slice(r.as_bytes());
        }
        buf.extend_from_slice(format!(" {size}\r\n").as_bytes());
        buf.extend_from_slice(&payload);
        buf.extend_from_slice(b"\r\n");
    }
    buf
}

/// `HPUB` with a small header block and a 16-byte payload, `OPS` times.
fn hpub_buffer() -> Vec<u8> {
    let headers = b"NATS/1.0\r\nNats-Msg-Id: 0123456789\r\nTrace: on\r\n\r\n";
    let payload = [b'y'; 16];
    let mut buf = Vec::new();
    for _ in 0..OPS {
        let total = headers.len() + payload.len();
        buf.extend_from_slice(
            format!("HPUB orders.eu.created {} {total}\r\n", headers.len()).as_bytes(),
        );
        buf.extend_from_slice(headers);
        buf.extend_from_slice(&payload);
        buf.extend_from_slice(b"\r\n");
    }
    buf
}

/// A mixed session: SUB, PUB with and without reply, PING/PONG, UNSUB.
fn mixed_buffer() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..OPS / 5 {
        buf.extend_from_slice(format!("SUB bench.{i}.* q{} {i}\r\n", i % 4).as_bytes());
        buf.extend_from_slice(format!("PUB bench.{i}.x 16\r\n0123456789abcdef\r\n").as_bytes());
        buf.extend_from_slice(
            format!("PUB bench.{i}.y _INBOX.abcdef.{i} 16\r\n0123456789abcdef\r\n").as_bytes(),
        );
        buf.extend_from_slice(b"PING\r\n");
        buf.extend_from_slice(format!("UNSUB {i} 10\r\n").as_bytes());
    }
    buf
}

/// Parses every op of `data`; returns how many there were.
fn parse_all(parser: &mut Parser, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(Some(op)) = parser.parse(buf) {
        if let ClientOp::Pub { payload, .. } = &op {
            black_box(payload.len());
        }
        black_box(&op);
        n += 1;
    }
    n
}

fn bench_parser(c: &mut Criterion) {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("pub_16B", pub_buffer("bench.subject", None, 16)),
        (
            "pub_reply_16B",
            pub_buffer("bench.subject", Some("_INBOX.0123456789abcdef.1"), 16),
        ),
        ("pub_1KiB", pub_buffer("bench.subject", None, 1024)),
        ("pub_16KiB", pub_buffer("bench.subject", None, 16 * 1024)),
        ("hpub_16B", hpub_buffer()),
        ("mixed", mixed_buffer()),
    ];
    let mut group = c.benchmark_group("parser");
    for (name, data) in &cases {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(*name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(&data[..]),
                |buf| {
                    let mut parser = Parser::new(ParserLimits::default());
                    parser.set_headers_allowed(true);
                    black_box(parse_all(&mut parser, buf))
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parser);
criterion_main!(benches);
