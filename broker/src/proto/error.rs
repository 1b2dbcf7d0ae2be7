//! Parse errors and the `-ERR` text nats-server sends for each before closing.

use bytes::Bytes;

/// `-ERR` text for a byte that no client op can start or continue with, and for a payload not
/// followed by `\r\n` (`parser.go`, `parseErr`).
pub const ERR_UNKNOWN_OP: &str = "Unknown Protocol Operation";
/// `-ERR` text when authentication is required and the first op is not `CONNECT`
/// (`client.go`, `authViolation`); the handler sends the same text for bad credentials.
pub const ERR_AUTHORIZATION_VIOLATION: &str = "Authorization Violation";
/// `-ERR` text for a control line longer than `max_control_line` (`ErrMaxControlLine`; the
/// reference prints only this base text, not its context).
pub const ERR_MAX_CONTROL_LINE: &str = "maximum control line exceeded";
/// `-ERR` text for a PUB/HPUB size above `max_payload` (`client.go`, `maxPayloadViolation`).
pub const ERR_MAX_PAYLOAD: &str = "Maximum Payload Violation";

/// Why the parser gave up. Every parse error closes the connection; some first send
/// `-ERR '<text>'`, see [`ParseError::client_error_text`]. The values depend only on the bytes
/// received, never on how they were split into reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A byte that no client op allows at this point.
    #[error("unknown protocol operation: unexpected byte {byte:#04x} {context}")]
    UnknownOp {
        /// Where the byte was found.
        context: &'static str,
        /// The offending byte.
        byte: u8,
    },
    /// Authentication is required and the connection's first op does not start with `C`.
    #[error("authorization violation: first operation is not CONNECT")]
    AuthorizationRequired,
    /// The argument part of a control line is longer than `max_control_line`.
    #[error("maximum control line exceeded (max_control_line {max})")]
    MaxControlLine {
        /// The limit in force.
        max: usize,
    },
    /// PUB size or HPUB total size above `max_payload`.
    #[error("maximum payload exceeded: {size} vs {max}")]
    MaxPayload {
        /// The announced size.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// HPUB from a connection that did not send `CONNECT {"headers":true}`.
    #[error("message headers not supported")]
    HeadersNotSupported,
    /// PUB/HPUB/SUB/UNSUB with the wrong number of arguments.
    #[error("{op} parse error: wrong number of arguments: {arg:?}")]
    ArgCount {
        /// The op name.
        op: &'static str,
        /// The argument part of the control line.
        arg: Bytes,
    },
    /// PUB size or HPUB total size that is not 1 to 9 decimal digits.
    #[error("{op} parse error: bad or missing size: {arg:?}")]
    BadSize {
        /// The op name.
        op: &'static str,
        /// The argument part of the control line.
        arg: Bytes,
    },
    /// HPUB header size that is not 1 to 9 decimal digits.
    #[error("HPUB parse error: bad or missing header size: {arg:?}")]
    BadHeaderSize {
        /// The argument part of the control line.
        arg: Bytes,
    },
    /// HPUB header size larger than its total size.
    #[error("HPUB parse error: header size {hdr} larger than total size {total}")]
    HeaderTooLarge {
        /// The announced header size.
        hdr: usize,
        /// The announced total size.
        total: usize,
    },
}

impl ParseError {
    /// What nats-server sends before closing: `Some(text)` means send `-ERR '<text>'\r\n` and
    /// close; `None` means close without a word (the reference only logs these).
    pub fn client_error_text(&self) -> Option<&'static str> {
        match self {
            Self::UnknownOp { .. } => Some(ERR_UNKNOWN_OP),
            Self::AuthorizationRequired => Some(ERR_AUTHORIZATION_VIOLATION),
            Self::MaxControlLine { .. } => Some(ERR_MAX_CONTROL_LINE),
            Self::MaxPayload { .. } => Some(ERR_MAX_PAYLOAD),
            Self::HeadersNotSupported
            | Self::ArgCount { .. }
            | Self::BadSize { .. }
            | Self::BadHeaderSize { .. }
            | Self::HeaderTooLarge { .. } => None,
        }
    }
}
