//! Protocol tracing of client connections (`-V`, `trace: true`), in nats-server's words:
//! `<<- [PUB foo 5]` for what a client sent, `<<- MSG_PAYLOAD: ["hello"]` for its payload,
//! `->> [MSG foo 1 5]` for what it was sent, `<-> [DELSUB 1]` for subscriptions dropped at
//! close. Off, it costs one relaxed load per operation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::config::gofmt::quote_bytes;
use crate::proto::ClientOp;

static ON: AtomicBool = AtomicBool::new(false);
/// `max_traced_msg_len`: payloads longer than this are cut in traces; 0 = whole.
static MAX_LEN: AtomicUsize = AtomicUsize::new(0);

/// Whether client protocol traces are logged.
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Turns tracing on or off (logging options, on start and reload).
pub fn configure(on: bool, max_traced_msg_len: usize) {
    ON.store(on, Ordering::Relaxed);
    MAX_LEN.store(max_traced_msg_len, Ordering::Relaxed);
}

/// An operation the client sent: `<<- [OP args]` (nats-server's `traceInOp`).
pub fn op_in(label: &str, op: &str, args: Option<&str>) {
    tracing::trace!("{label} - <<- {}", bracket(op, args));
}

/// An operation sent to the client: `->> [OP args]` (`traceOutOp`).
pub fn op_out(label: &str, op: &str, args: Option<&str>) {
    tracing::trace!("{label} - ->> {}", bracket(op, args));
}

/// A message delivered to a client: its `MSG`/`HMSG` line (`head`, with its CRLF) and body.
#[cold]
pub fn delivery(label: &str, head: &[u8], body: &[u8]) {
    let line = String::from_utf8_lossy(head.strip_suffix(b"\r\n").unwrap_or(head));
    op_out(label, "", Some(&line));
    payload(label, "->>", body);
}

/// A subscription dropped when the connection closed: `<-> [DELSUB sid]`.
pub fn delsub(label: &str, sid: &[u8]) {
    tracing::trace!(
        "{label} - <-> {}",
        bracket("DELSUB", Some(&String::from_utf8_lossy(sid)))
    );
}

/// A payload the client sent (`<<-`) or was sent (`->>`): nats-server's `traceMsg`.
pub fn payload(label: &str, dir: &str, payload: &[u8]) {
    let max = MAX_LEN.load(Ordering::Relaxed);
    if max > 0 && payload.len() > max {
        let quoted = quote_bytes(&payload[..max]);
        // The first `max` bytes, quoted, and `...` inside the quotes.
        let inner = &quoted[1..quoted.len() - 1];
        tracing::trace!("{label} - {dir} MSG_PAYLOAD: [\"{inner}...\"]");
    } else {
        tracing::trace!("{label} - {dir} MSG_PAYLOAD: [{}]", quote_bytes(payload));
    }
}

/// An operation the parser returned, as nats-server traces it when it reads one (the payload
/// of PUB and HPUB follows as `MSG_PAYLOAD`).
pub fn client_op(label: &str, op: &ClientOp) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let join = |parts: &[Option<String>]| {
        parts
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    match op {
        ClientOp::Pub {
            subject,
            reply,
            payload: body,
        } => {
            let args = join(&[
                Some(text(subject)),
                reply.as_deref().map(text),
                Some(body.len().to_string()),
            ]);
            op_in(label, "PUB", Some(&args));
            payload(label, "<<-", body);
        }
        ClientOp::HPub {
            subject,
            reply,
            header_len,
            message,
        } => {
            let args = join(&[
                Some(text(subject)),
                reply.as_deref().map(text),
                Some(header_len.to_string()),
                Some(message.len().to_string()),
            ]);
            op_in(label, "HPUB", Some(&args));
            payload(label, "<<-", message);
        }
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => {
            let args = join(&[
                Some(text(subject)),
                queue.as_deref().map(text),
                Some(text(sid)),
            ]);
            op_in(label, "SUB", Some(&args));
        }
        ClientOp::Unsub { sid, max } => {
            let args = join(&[Some(text(sid)), max.map(|m| m.to_string())]);
            op_in(label, "UNSUB", Some(&args));
        }
        ClientOp::Ping => op_in(label, "PING", None),
        ClientOp::Pong => op_in(label, "PONG", None),
        ClientOp::Connect(json) => op_in(label, "CONNECT", Some(&redact_connect(json))),
        ClientOp::HMsg | ClientOp::Ok | ClientOp::Info(_) | ClientOp::Err(_) => {}
    }
}

/// A PUB taken by the parser's fast path (subject, reply and payload as they arrived).
pub fn fast_pub(label: &str, subject: &[u8], reply: Option<&[u8]>, body: &[u8]) {
    let mut args = String::from_utf8_lossy(subject).into_owned();
    if let Some(r) = reply {
        args.push(' ');
        args.push_str(&String::from_utf8_lossy(r));
    }
    args.push(' ');
    args.push_str(&body.len().to_string());
    op_in(label, "PUB", Some(&args));
    payload(label, "<<-", body);
}

/// Go's `fmt` of `[]any{op, args}`: `[OP args]`, `[OP]` without arguments.
fn bracket(op: &str, args: Option<&str>) -> String {
    match args {
        Some(a) if op.is_empty() => format!("[{a}]"),
        Some(a) => format!("[{op} {a}]"),
        None => format!("[{op}]"),
    }
}

/// CONNECT as traced: the values of `pass` and `auth_token` replaced by `[REDACTED]`
/// (nats-server's `removeSecretsFromTrace`).
pub fn redact_connect(json: &[u8]) -> String {
    let text = String::from_utf8_lossy(json).into_owned();
    let text = redact(&text, "pass");
    redact(&text, "auth_token")
}

/// Replaces the first `"key":"value"`'s value (nats-server's `removeSecretFromTrace`).
fn redact(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let Some(at) = text.find(&needle) else {
        return text.to_string();
    };
    let after = at + needle.len();
    let rest = &text[after..];
    let Some(colon) = rest.find(':') else {
        return text.to_string();
    };
    if !rest[..colon].trim().is_empty() {
        return text.to_string();
    }
    let value = &rest[colon + 1..];
    let Some(open) = value.find('"') else {
        return text.to_string();
    };
    if !value[..open].trim().is_empty() {
        return text.to_string();
    }
    let body = &value[open + 1..];
    let mut end = None;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = Some(i);
                break;
            }
            _ => escaped = false,
        }
    }
    let Some(end) = end else {
        return text.to_string();
    };
    let start = after + colon + 1 + open + 1;
    format!("{}[REDACTED]{}", &text[..start], &text[start + end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let c = br#"{"verbose":false,"user":"u","pass":"se\"cret","auth_token":"t"}"#;
        assert_eq!(
            redact_connect(c),
            r#"{"verbose":false,"user":"u","pass":"[REDACTED]","auth_token":"[REDACTED]"}"#
        );
        assert_eq!(redact_connect(br#"{"user":"u"}"#), r#"{"user":"u"}"#);
    }

    #[test]
    fn brackets_as_go_prints_a_slice() {
        assert_eq!(bracket("PUB", Some("foo 5")), "[PUB foo 5]");
        assert_eq!(bracket("PING", None), "[PING]");
        assert_eq!(bracket("", Some("MSG foo 1 5")), "[MSG foo 1 5]");
    }
}
