//! Parser workload: PUB (16 B, with reply, 16 KiB), HPUB and mixed buffers, parsed whole and
//! in 1000-byte reads.

use anyhow::ensure;
use bytes::BytesMut;
use rnats_broker::proto::{Parser, ParserLimits};

/// Times each buffer is parsed.
const ROUNDS: usize = 10;

fn buffers() -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut pubs = |n: usize, line: &str, payload: &[u8]| {
        let mut b = Vec::new();
        for _ in 0..n {
            b.extend_from_slice(line.as_bytes());
            b.extend_from_slice(payload);
            b.extend_from_slice(b"\r\n");
        }
        out.push((b, n));
    };
    pubs(2000, "PUB bench.subject 16\r\n", &[b'x'; 16]);
    pubs(
        1000,
        "PUB bench.subject _INBOX.0123456789.1 16\r\n",
        &[b'x'; 16],
    );
    pubs(100, "PUB bench.subject 16384\r\n", &[b'x'; 16384]);
    let hdr = b"NATS/1.0\r\nNats-Msg-Id: 0123456789\r\n\r\n";
    let mut hmsg = hdr.to_vec();
    hmsg.extend_from_slice(&[b'y'; 16]);
    pubs(
        1000,
        &format!("HPUB bench.headers {} {}\r\n", hdr.len(), hmsg.len()),
        &hmsg,
    );
    let mut mixed = Vec::new();
    for i in 0..200 {
        mixed.extend_from_slice(format!("SUB bench.{i}.* q 1{i}\r\n").as_bytes());
        mixed.extend_from_slice(format!("PUB bench.{i}.x 4\r\nabcd\r\n").as_bytes());
        mixed.extend_from_slice(b"PING\r\n");
        mixed.extend_from_slice(format!("UNSUB 1{i} 5\r\n").as_bytes());
    }
    out.push((mixed, 800));
    out
}

/// Parses `data` arriving in `read`-byte pieces; returns the number of ops.
fn parse(data: &[u8], read: usize) -> anyhow::Result<usize> {
    let mut parser = Parser::new(ParserLimits::default());
    parser.set_headers_allowed(true);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut ops = 0;
    for piece in data.chunks(read) {
        buf.extend_from_slice(piece);
        while let Some(op) = parser.parse(&mut buf)? {
            std::hint::black_box(&op);
            ops += 1;
        }
    }
    Ok(ops)
}

pub fn run() -> anyhow::Result<String> {
    let bufs = buffers();
    let mut total = 0;
    for _ in 0..ROUNDS {
        for (data, want) in &bufs {
            for read in [data.len(), 1000] {
                let got = parse(data, read)?;
                ensure!(got == *want, "parsed {got} ops, expected {want}");
                total += got;
            }
        }
    }
    Ok(format!("{total} ops parsed"))
}
