//! Replays the fuzz corpus (`fuzz/corpus/parser/`) on stable: every input must parse without
//! panicking and give the same ops and error whole and split at many points. Input layout as in
//! `fuzz/fuzz_targets/parser.rs`: settings byte, seed byte, byte stream.

use std::path::Path;

use bytes::BytesMut;
use rnats_broker::proto::{ClientOp, ParseError, Parser, ParserLimits};

/// The fuzz target's limits presets, selected by bits 2-3 of the settings byte.
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

/// Inputs up to this size are also split in two at every byte boundary; longer ones at a
/// stride, to keep the replay quick.
const EVERY_SPLIT_MAX: usize = 2048;

type Outcome = (Vec<ClientOp>, Option<ParseError>);

fn run(flags: u8, chunks: &[&[u8]]) -> Outcome {
    let mut parser = Parser::new(LIMITS[usize::from(flags >> 2) & 3]);
    parser.set_headers_allowed(flags & 1 != 0);
    parser.set_require_connect(flags & 2 != 0);
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
                Err(err) => return (ops, Some(err)),
            }
        }
    }
    (ops, None)
}

fn replay(name: &str, input: &[u8]) {
    let [flags, seed, data @ ..] = input else {
        return;
    };
    let whole = run(*flags, &[data]);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(run(*flags, &bytes), whole, "{name}: byte by byte");
    let stride = data.len().div_ceil(EVERY_SPLIT_MAX).max(1);
    for k in (0..=data.len()).step_by(stride) {
        let (a, b) = data.split_at(k);
        assert_eq!(run(*flags, &[a, b]), whole, "{name}: split at {k}");
    }
    for size in [2, 3, 7, 64, usize::from(*seed) + 1] {
        let chunks: Vec<&[u8]> = data.chunks(size).collect();
        assert_eq!(run(*flags, &chunks), whole, "{name}: chunks of {size}");
    }
}

#[test]
fn corpus_replays_identically_whole_and_split() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parser");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "empty corpus at {}", dir.display());
    for path in &entries {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        replay(name, &input);
    }
}
