//! The fast path for the commonest frame: a complete `PUB <subject> [reply] <size>\r\n`,
//! payload and `\r\n` at the front of the buffer, located in one pass and cut out only when
//! someone receives it. Anything unusual (lower case, extra blanks, a line or payload not
//! complete yet, any error) is left to the general state machine, which gives the same ops
//! and errors for the same bytes.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use super::{Parser, Plan, State, Token};

/// Where the parts of a complete `PUB` frame are, as offsets from the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubFrame {
    pub subject: Token,
    pub reply: Option<Token>,
    pub payload: Token,
    /// The whole frame: control line, payload and its `\r\n`.
    pub len: usize,
}

/// `PUB ` and the first argument byte, the least a frame can start with.
const PREFIX: usize = 4;

impl Parser {
    /// A complete `PUB` frame at the front of `buf`, without consuming anything; `None` when
    /// the general parser must look at these bytes ([`Parser::parse`]). When `Some`, the
    /// general parser would return exactly this message and consume `len` bytes.
    #[inline]
    pub fn complete_pub(&self, buf: &[u8]) -> Option<PubFrame> {
        if !matches!(self.state, State::Start) || self.require_connect {
            return None;
        }
        let line = buf.strip_prefix(b"PUB ")?;
        // Blanks before the arguments, and a line end right after the op name, are the
        // general parser's business (it measures the control line from the first argument
        // byte, and takes that byte as is, whatever it is).
        if matches!(line.first()?, b' ' | b'\t') {
            return None;
        }
        let nl = 1 + memchr(b'\n', line.get(1..)?)?;
        // The usual `\r\n`: the `\r` is dropped. A line without it (or with a `\r` elsewhere
        // only) goes the general way.
        if line.get(nl - 1) != Some(&b'\r') || nl < 2 {
            return None;
        }
        let end = nl - 1;
        if end > self.limits.max_control_line {
            return None;
        }
        let Ok(Plan::Pub {
            subject,
            reply,
            size,
        }) = self.plan_pub(line.get(..end)?)
        else {
            return None;
        };
        let start = PREFIX + nl + 1;
        let after = start.checked_add(size)?;
        if buf.get(after..after.checked_add(2)?)? != b"\r\n" {
            return None;
        }
        let shift = |(s, e): Token| (s + PREFIX, e + PREFIX);
        Some(PubFrame {
            subject: shift(subject),
            reply: reply.map(shift),
            payload: (start, after),
            len: after + 2,
        })
    }
}

impl PubFrame {
    /// Cuts the frame out of the front of `buf` (which it was located in): subject, reply and
    /// payload as reference-counted slices, no copy.
    pub fn split(self, buf: &mut BytesMut) -> (Bytes, Option<Bytes>, Bytes) {
        let mut pos = 0;
        let mut take = |buf: &mut BytesMut, (start, end): Token| {
            buf.advance(start - pos);
            pos = end;
            buf.split_to(end - start).freeze()
        };
        let subject = take(buf, self.subject);
        let reply = self.reply.map(|r| take(buf, r));
        let payload = take(buf, self.payload);
        buf.advance(2);
        (subject, reply, payload)
    }

    /// The bytes of `token` in the buffer the frame was located in.
    pub fn get(buf: &[u8], (start, end): Token) -> &[u8] {
        buf.get(start..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::super::{ClientOp, Parser, ParserLimits};

    /// Whatever the fast path takes, the general parser reads the same way: the same message
    /// and the same bytes consumed.
    fn same_as_general(parser: &Parser, input: &[u8]) -> bool {
        let Some(frame) = parser.complete_pub(input) else {
            return false;
        };
        let mut fast = BytesMut::from(input);
        let (subject, reply, payload) = frame.split(&mut fast);
        let mut general = BytesMut::from(input);
        let mut reference = Parser::new(parser.limits());
        let op = reference.parse(&mut general);
        assert_eq!(
            op,
            Ok(Some(ClientOp::Pub {
                subject,
                reply,
                payload
            })),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            fast,
            general,
            "rest of {:?}",
            String::from_utf8_lossy(input)
        );
        true
    }

    #[test]
    fn common_frames_take_the_fast_path() {
        let p = Parser::new(ParserLimits::default());
        for input in [
            &b"PUB foo 5\r\nhello\r\n"[..],
            b"PUB foo 5\r\nhello\r\nPUB bar 0\r\n\r\n",
            b"PUB foo.bar _INBOX.x 0\r\n\r\nPING\r\n",
            b"PUB foo  bar\t 3\r\nabc\r\n",
            b"PUB foo 03\r\nabc\r\n",
        ] {
            assert!(
                same_as_general(&p, input),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        for input in [
            &b"pub foo 5\r\nhello\r\n"[..],
            b"PUB  foo 5\r\nhello\r\n",
            b"PUB\tfoo 5\r\nhello\r\n",
            b"PUB foo 5\nhello\r\n",
            b"PUB foo 5\r\nhello",
            b"PUB foo 5\r\nhello\r",
            b"PUB foo 5\r\nhelloX\n",
            b"PUB foo 5",
            b"PUB foo\r\n",
            b"PUB foo bar baz 1\r\nx\r\n",
            b"PUB foo x\r\nx\r\n",
            b"PUB foo 2000000\r\n",
            b"HPUB foo 0 0\r\n\r\n",
        ] {
            assert!(
                !same_as_general(&p, input),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut authenticating = Parser::new(ParserLimits::default());
        authenticating.set_require_connect(true);
        assert!(authenticating.complete_pub(b"PUB foo 0\r\n\r\n").is_none());
        let short = Parser::new(ParserLimits {
            max_control_line: 8,
            max_payload: 4,
        });
        assert!(same_as_general(&short, b"PUB foo 4\r\nabcd\r\n"));
        assert!(!same_as_general(&short, b"PUB foo 5\r\nabcde\r\n"));
        assert!(!same_as_general(&short, b"PUB foo.bar 4\r\nabcd\r\n"));
    }

    /// Random frames: well formed ones, and the same with corner-case pieces inserted.
    #[test]
    fn random_frames_agree_with_the_general_parser() {
        const PIECES: [&[u8]; 14] = [
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b"foo",
            b"a.b",
            b"0",
            b"3",
            b"12",
            b"x",
            b"P",
            b"PUB ",
            b"PING\r\n",
        ];
        const SUBJECTS: [&[u8]; 4] = [b"foo", b"a.b.c", b"_INBOX.xyz", b"x"];
        let mut rng = fastrand::Rng::with_seed(5);
        let p = Parser::new(ParserLimits {
            max_control_line: 16,
            max_payload: 10,
        });
        let mut taken = 0;
        for _ in 0..50_000 {
            let size = rng.usize(0..12);
            let mut input = b"PUB ".to_vec();
            input.extend_from_slice(SUBJECTS[rng.usize(..SUBJECTS.len())]);
            input.push(b' ');
            if rng.bool() {
                input.extend_from_slice(SUBJECTS[rng.usize(..SUBJECTS.len())]);
                input.push(b' ');
            }
            input.extend_from_slice(size.to_string().as_bytes());
            input.extend_from_slice(b"\r\n");
            input.extend(std::iter::repeat_n(b'z', size));
            input.extend_from_slice(b"\r\n");
            for _ in 0..rng.usize(0..3) {
                let at = rng.usize(..=input.len());
                let piece = PIECES[rng.usize(..PIECES.len())];
                input.splice(at..at, piece.iter().copied());
            }
            if same_as_general(&p, &input) {
                taken += 1;
            }
        }
        assert!(taken > 5_000, "the fast path took only {taken} frames");
    }
}
