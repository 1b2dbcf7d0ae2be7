//! The operations a client can send, as produced by the parser.

use bytes::Bytes;

/// One complete client operation. Every `Bytes` is a slice of the connection's read buffer
/// (no copy); holding one keeps that buffer's allocation alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    /// `CONNECT <json>`: the JSON text, with JSON whitespace trimmed from both ends. It is not
    /// validated here; nats-server closes the connection without `-ERR` when it does not
    /// unmarshal.
    Connect(Bytes),
    /// `PUB <subject> [reply] <#bytes>` and its payload (without the trailing `\r\n`).
    Pub {
        /// The subject as sent (not validated; pedantic checks belong to the handler).
        subject: Bytes,
        /// The reply subject, if given.
        reply: Option<Bytes>,
        /// The payload, exactly `#bytes` long.
        payload: Bytes,
    },
    /// `HPUB <subject> [reply] <#hdr> <#total>` and its message (without the trailing `\r\n`).
    HPub {
        /// The subject as sent.
        subject: Bytes,
        /// The reply subject, if given.
        reply: Option<Bytes>,
        /// Length of the header block at the front of `message` (`<= message.len()`).
        header_len: usize,
        /// Headers followed by payload, exactly `#total` bytes.
        message: Bytes,
    },
    /// `SUB <subject> [queue] <sid>` (arguments not validated).
    Sub {
        /// The subject as sent.
        subject: Bytes,
        /// The queue group, if given.
        queue: Option<Bytes>,
        /// The client's subscription id.
        sid: Bytes,
    },
    /// `UNSUB <sid> [max_msgs]`.
    Unsub {
        /// The client's subscription id.
        sid: Bytes,
        /// `Some(n)` when `max_msgs` is a valid size (1 to 9 decimal digits), `None` when it is
        /// absent or invalid. nats-server treats an invalid `max_msgs` like an absent one (it
        /// becomes -1) and removes the subscription at once unless `n > 0` and `n` is above
        /// the number of messages already delivered, so `Some(0)` also means "remove now".
        max: Option<u64>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `INFO <json>`, JSON whitespace trimmed. nats-server ignores it from a client when it
    /// unmarshals into its `Info` struct and closes the connection (no `-ERR`) when it does not.
    Info(Bytes),
    /// `+OK`. Ignored.
    Ok,
    /// `-ERR <text>` (text as sent, JSON whitespace trimmed). nats-server logs
    /// `Client Error <text>` and closes the connection without sending anything.
    Err(Bytes),
    /// `HMSG <anything>` followed by `\r\n`. A client is not supposed to send this server-to-client
    /// op, but nats-server accepts it: it ignores the arguments, reads an empty payload and runs
    /// the publish path with an empty subject and no reply, skipping the pedantic subject check.
    /// Nothing is delivered; with `verbose` the client gets `+OK`.
    HMsg,
}
