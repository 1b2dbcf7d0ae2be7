//! Cross-account routing: subject maps for imports, the routes a configured import installs
//! (stream routes in the exporter, service-import subscriptions in the importer), and the
//! reply mapping of service imports (`_R_.<prefix>.<random>` in the exporter, mapped back to
//! the requestor's reply), as nats-server does it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use crate::account::{Account, ResponseType, is_subset_match};
use crate::options::AccountConfig;
use crate::subject::{subject_is_literal, subject_matches};
use crate::subscription::{Subscription, Target};

/// How long a pending service-import response is kept (nats-server's
/// `DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD`).
pub const RESPONSE_THRESHOLD: Duration = Duration::from_secs(120);
/// Pending responses past which expired ones are swept on the next request (bounds memory
/// when responders never answer).
const SWEEP_AT: usize = 1024;
/// Header carrying the requestor's account into the exporting account (`ClientInfoHdr`).
pub const REQUEST_INFO_HEADER: &str = "Nats-Request-Info";
/// Reply prefix of service-import responses (`replyPrefix`).
const REPLY_PREFIX: &str = "_R_.";
/// Random characters in a response prefix and in a reply token: `_R_.xxxxxx.yyyyyy`, as
/// nats-server's `baseServerLen`/`replyLen` make them (base 62).
const PREFIX_LEN: usize = 6;
const TOKEN_LEN: usize = 6;
const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// One destination token of a subject map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// The n-th single-token wildcard of the source (0-based).
    Capture(usize),
    /// The tokens the source's `>` matched.
    Tail,
}

/// Maps subjects matching a source pattern to a destination (`to`, `prefix`, service `to`):
/// `*` in the destination (or `$N`) takes the source's N-th `*` token, `>` takes its tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectMap {
    /// The subject stays as published.
    Identity,
    /// Every match becomes this one subject.
    Literal(Bytes),
    Tokens {
        /// Positions of the source's `*` tokens.
        captures: Vec<usize>,
        /// Position of the source's `>`, if any.
        tail: Option<usize>,
        parts: Vec<Part>,
    },
}

impl SubjectMap {
    pub fn new(src: &str, dst: &str) -> SubjectMap {
        if src == dst {
            return SubjectMap::Identity;
        }
        if subject_is_literal(dst.as_bytes()) && !dst.contains('$') {
            return SubjectMap::Literal(Bytes::copy_from_slice(dst.as_bytes()));
        }
        let mut captures = Vec::new();
        let mut tail = None;
        for (i, t) in src.split('.').enumerate() {
            match t {
                "*" => captures.push(i),
                ">" => tail = Some(i),
                _ => {}
            }
        }
        let mut next = 0;
        let parts = dst
            .split('.')
            .map(|t| match t {
                "*" => {
                    next += 1;
                    Part::Capture(next - 1)
                }
                ">" => Part::Tail,
                _ => match t.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) if n >= 1 => Part::Capture(n - 1),
                    _ => Part::Literal(t.to_string()),
                },
            })
            .collect();
        SubjectMap::Tokens {
            captures,
            tail,
            parts,
        }
    }

    /// The destination subject for `subject` (which matches the source pattern).
    pub fn apply(&self, subject: &Bytes) -> Bytes {
        match self {
            SubjectMap::Identity => subject.clone(),
            SubjectMap::Literal(s) => s.clone(),
            SubjectMap::Tokens {
                captures,
                tail,
                parts,
            } => {
                let tokens: Vec<&[u8]> = subject.split(|b| *b == b'.').collect();
                let mut out = BytesMut::with_capacity(subject.len() + 16);
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.put_u8(b'.');
                    }
                    match p {
                        Part::Literal(l) => out.put_slice(l.as_bytes()),
                        Part::Capture(n) => {
                            let t = captures.get(*n).and_then(|&pos| tokens.get(pos));
                            out.put_slice(t.copied().unwrap_or(b"*"));
                        }
                        Part::Tail => match tail.and_then(|pos| tokens.get(pos..)) {
                            Some(rest) if !rest.is_empty() => out.put_slice(&rest.join(&b'.')),
                            _ => out.put_slice(b">"),
                        },
                    }
                }
                out.freeze()
            }
        }
    }
}

/// A stream another account imports from this one: what the exporter checks on publish.
#[derive(Clone)]
pub struct StreamRoute {
    pub importer: Weak<Account>,
    /// The exported subject pattern the import covers (exporter's space).
    pub from: Bytes,
    /// Exporter subject → importer subject.
    pub map: SubjectMap,
}

impl StreamRoute {
    pub fn matches(&self, subject: &[u8]) -> bool {
        subject_matches(&self.from, subject)
    }
}

/// What an import subscription does with a message.
pub enum ImportTarget {
    /// A service import in the importer: requests go on into the exporter.
    Service(ServiceImport),
    /// The exporter's `_R_.<prefix>.>` subscription: responses go back to the requestors.
    Responses(Weak<Account>),
}

/// One service import, as installed in the importing account.
pub struct ServiceImport {
    pub importer: Weak<Account>,
    pub exporter: Weak<Account>,
    /// Importer subject → exporter subject.
    pub map: SubjectMap,
    pub response_type: ResponseType,
}

/// A response owed to a requestor in another account.
struct Pending {
    importer: Weak<Account>,
    reply: Bytes,
    response_type: ResponseType,
    at: Instant,
}

/// The exporter side of service imports: the reply prefix, its subscription, and the replies
/// waiting for an answer.
#[derive(Default)]
pub struct Responses {
    prefix: Option<String>,
    pending: HashMap<Bytes, Pending>,
}

fn random_token(len: usize) -> String {
    (0..len)
        .map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char)
        .collect()
}

/// Sets up the response mapping for one request that crosses from `importer` into
/// `exporter`: returns the `_R_` reply to publish with in the exporter.
pub fn new_response(
    exporter: &Arc<Account>,
    importer: &Arc<Account>,
    reply: &Bytes,
    response_type: ResponseType,
) -> Bytes {
    let mut r = exporter.responses.lock();
    let prefix = match &r.prefix {
        Some(p) => p.clone(),
        None => {
            let p = format!("{REPLY_PREFIX}{}.", random_token(PREFIX_LEN));
            let sub = Arc::new(Subscription::with_target(
                Target::Import(Arc::new(ImportTarget::Responses(Arc::downgrade(exporter)))),
                Bytes::from(format!("{p}>")),
                None,
                Bytes::from_static(b"_R_"),
            ));
            let subject = sub.subject.clone();
            if exporter.sublist.insert(&subject, None, sub.clone()).is_ok() {
                // Peers must route the responses back here (nats-server announces the
                // `_R_` wildcard before the request leaves).
                exporter.interest_changed(&sub, 1);
            }
            r.prefix = Some(p.clone());
            p
        }
    };
    if r.pending.len() >= SWEEP_AT {
        r.pending.retain(|_, p| p.at.elapsed() < RESPONSE_THRESHOLD);
    }
    let new_reply = Bytes::from(format!("{prefix}{}", random_token(TOKEN_LEN)));
    r.pending.insert(
        new_reply.clone(),
        Pending {
            importer: Arc::downgrade(importer),
            reply: reply.clone(),
            response_type,
            at: Instant::now(),
        },
    );
    new_reply
}

/// Forgets a response mapping (the request reached nobody).
pub fn drop_response(exporter: &Account, reply: &Bytes) {
    exporter.responses.lock().pending.remove(reply);
}

/// Where a response published on `subject` in `exporter` goes: the requestor's account and
/// reply. A singleton's mapping is used up; streamed and chunked ones stay until they expire.
pub fn take_response(exporter: &Account, subject: &[u8]) -> Option<(Arc<Account>, Bytes)> {
    let mut r = exporter.responses.lock();
    let p = r.pending.get_mut(subject)?;
    if p.at.elapsed() >= RESPONSE_THRESHOLD {
        r.pending.remove(subject);
        return None;
    }
    let out = (p.importer.upgrade()?, p.reply.clone());
    if p.response_type == ResponseType::Singleton {
        r.pending.remove(subject);
    } else {
        p.at = Instant::now();
    }
    Some(out)
}

/// Pending responses of an exporter (for monitoring).
pub fn pending_responses(exporter: &Account) -> usize {
    exporter.responses.lock().pending.len()
}

/// Adds `Nats-Request-Info: {"acc":"<importer>","rtt":<ns>}` to a request entering the
/// exporter (the reference's `setHeader(ClientInfoHdr, ...)` with the requestor's account and
/// measured RTT, omitted when unknown): a message without headers gets a header block, an
/// existing value is replaced. Returns the new message and header length.
pub fn with_request_info(
    msg: &Bytes,
    header_len: usize,
    account: &str,
    rtt: Duration,
) -> (Bytes, usize) {
    let acc = serde_json::Value::from(account).to_string();
    let value = match rtt.as_nanos() {
        0 => format!("{{\"acc\":{acc}}}"),
        ns => format!("{{\"acc\":{acc},\"rtt\":{ns}}}"),
    };
    let line = format!("{REQUEST_INFO_HEADER}: {value}\r\n");
    let mut out = BytesMut::with_capacity(msg.len() + line.len() + 16);
    if header_len == 0 || header_len > msg.len() {
        out.put_slice(b"NATS/1.0\r\n");
        out.put_slice(line.as_bytes());
        out.put_slice(b"\r\n");
        let hl = out.len();
        out.put_slice(msg);
        return (out.freeze(), hl);
    }
    let head = &msg[..header_len];
    // Keep every line but an old request-info one and the blank line that ends the block.
    let body = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    for (i, l) in body.split(|b| *b == b'\n').enumerate() {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let lower = l.to_ascii_lowercase();
        if i > 0 && lower.starts_with(b"nats-request-info:") {
            continue;
        }
        out.put_slice(l);
        out.put_slice(b"\r\n");
    }
    out.put_slice(line.as_bytes());
    out.put_slice(b"\r\n");
    let hl = out.len();
    out.put_slice(&msg[header_len..]);
    (out.freeze(), hl)
}

/// The response type of the export `subject` is imported through (exact, then subset).
fn export_response_type(exporter: &AccountConfig, subject: &str) -> ResponseType {
    let services = exporter.exports.iter().filter(|e| e.service.is_some());
    services
        .clone()
        .find(|e| e.subject == subject)
        .or_else(|| {
            services
                .clone()
                .find(|e| is_subset_match(subject, &e.subject))
        })
        .and_then(|e| e.service)
        .unwrap_or_default()
}

/// Installs the configured imports: drops the configured accounts' previous routes and import
/// subscriptions, then adds stream routes to exporters and service-import subscriptions to
/// importers. `lookup` finds an account by name.
pub fn install(configs: &[AccountConfig], accounts: &[Arc<Account>]) {
    // Only configured accounts: routes of accounts made at runtime (JWT) are not ours.
    for a in accounts {
        if configs.iter().any(|c| c.name == a.name) {
            a.clear_imports();
        }
    }
    let find = |name: &str| accounts.iter().find(|a| a.name == name);
    let config = |name: &str| configs.iter().find(|c| c.name == name);
    for c in configs {
        let Some(importer) = find(&c.name) else {
            continue;
        };
        for im in &c.imports {
            let Some(exporter) = find(&im.account) else {
                continue;
            };
            if im.service {
                let local = im.local_subject();
                let rt = config(&im.account)
                    .map(|e| export_response_type(e, &im.subject))
                    .unwrap_or_default();
                let target = ImportTarget::Service(ServiceImport {
                    importer: Arc::downgrade(importer),
                    exporter: Arc::downgrade(exporter),
                    map: SubjectMap::new(local, &im.subject),
                    response_type: rt,
                });
                importer.add_import_sub(Subscription::with_target(
                    Target::Import(Arc::new(target)),
                    Bytes::copy_from_slice(local.as_bytes()),
                    None,
                    Bytes::from(format!("_SI_.{}", im.account)),
                ));
            } else {
                let dest = im.stream_destination();
                exporter.add_stream_route(StreamRoute {
                    importer: Arc::downgrade(importer),
                    from: Bytes::copy_from_slice(im.subject.as_bytes()),
                    map: SubjectMap::new(&im.subject, &dest),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(src: &str, dst: &str, subject: &str) -> String {
        let b = SubjectMap::new(src, dst).apply(&Bytes::copy_from_slice(subject.as_bytes()));
        String::from_utf8(b.to_vec()).expect("utf8")
    }

    #[test]
    fn subject_maps() {
        assert_eq!(map("x.>", "x.>", "x.a.b"), "x.a.b");
        assert_eq!(map("x.>", "p.x.>", "x.a.b"), "p.x.a.b");
        assert_eq!(map("x.*", "y.*", "x.a"), "y.a");
        assert_eq!(map("x.*.*", "y.$2.$1", "x.a.b"), "y.b.a");
        assert_eq!(map("svc", "local.svc", "svc"), "local.svc");
        assert_eq!(map("local.*", "svc.*", "local.q"), "svc.q");
    }

    #[test]
    fn request_info_header() {
        let (m, hl) = with_request_info(&Bytes::from_static(b"hi"), 0, "B", Duration::ZERO);
        assert_eq!(
            &m[..],
            b"NATS/1.0\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\nhi".as_slice()
        );
        assert_eq!(&m[hl..], b"hi");
        let orig = Bytes::from_static(b"NATS/1.0\r\nA: 1\r\nNats-Request-Info: x\r\n\r\nbody");
        let (m, hl) = with_request_info(&orig, orig.len() - 4, "B", Duration::from_nanos(7));
        assert_eq!(
            &m[..hl],
            b"NATS/1.0\r\nA: 1\r\nNats-Request-Info: {\"acc\":\"B\",\"rtt\":7}\r\n\r\n".as_slice()
        );
        assert_eq!(&m[hl..], b"body");
    }
}
