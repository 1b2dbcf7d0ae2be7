//! Client protocol (sans-IO): the parser that turns a connection's read buffer into `ClientOp`s.
//!
//! The behaviour is nats-server 2.15's byte for byte (`server/parser.go`, `client.go`):
//!
//! - op names are case-insensitive; `PUB`, `HPUB`, `SUB`, `UNSUB`, `HMSG` and `-ERR` need at
//!   least one space or tab after the name, `CONNECT` and `INFO` need none, and `PING`, `PONG`
//!   and `+OK` ignore everything up to the next `\n`;
//! - arguments are split on runs of space/tab (`SUB`/`UNSUB` also split on `\r`/`\n`);
//! - a control line ends at `\n`; if it contains a `\r` anywhere after its first argument
//!   byte, its last byte is dropped (the `c.drop` flag of the reference, which removes the
//!   usual `\r` of `\r\n`);
//! - a payload must be followed by exactly `\r\n`;
//! - `max_control_line` is enforced on partial lines too, `max_payload` on the control line;
//! - errors close the connection, some after an `-ERR` ([`ParseError::client_error_text`]).
//!
//! The parser never copies message data: subjects, reply subjects, sids and payloads are
//! reference-counted slices of the read buffer.

mod args;
mod error;
mod ops;
mod parse;
#[cfg(test)]
mod tests;

pub use error::{
    ERR_AUTHORIZATION_VIOLATION, ERR_MAX_CONTROL_LINE, ERR_MAX_PAYLOAD, ERR_UNKNOWN_OP, ParseError,
};
pub use ops::ClientOp;
pub use parse::{Parser, PubFrame};

/// nats-server's default `max_control_line` (`MAX_CONTROL_LINE_SIZE`, `const.go`): the longest
/// argument part of a control line (after the op name and its separator, without `\r\n`) a
/// client may send. 4 KiB fits any realistic subject + reply + sizes while bounding what a
/// peer can make us buffer before a frame is complete.
pub const DEFAULT_MAX_CONTROL_LINE: usize = 4096;

/// nats-server's default `max_payload` (`MAX_PAYLOAD_SIZE`, `const.go`): 1 MiB. It bounds the
/// bytes buffered for one message; PUB/HPUB announcing more are refused on the control line.
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// Limits the parser enforces; both can change at runtime (config reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Longest accepted argument part of a control line, in bytes. A line whose argument part
    /// is longer fails with [`ParseError::MaxControlLine`], even before its `\n` arrives.
    pub max_control_line: usize,
    /// Largest accepted PUB size / HPUB total size, in bytes (checked on the control line).
    pub max_payload: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        Self {
            max_control_line: DEFAULT_MAX_CONTROL_LINE,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}
