//! What a client connection logs besides errors: the label CONNECT extends with the client's
//! version, language, name, account and user (as nats-server's), and its protocol traces
//! (`-V`), kept out of line since tracing is rare.

use bytes::BytesMut;

use super::Conn;
use crate::client::trace;
use crate::proto::{ClientOp, PubFrame};

impl Conn {
    /// Adds to the connection's log label what nats-server adds once a CONNECT is accepted:
    /// `"v<version>:<lang>:<name>"` and `"<account>/<user>"` (each only when known).
    pub(super) fn set_log_tag(&self) {
        let o = &self.opts;
        let client = [
            (!o.version.is_empty()).then(|| format!("v{}", o.version)),
            (!o.lang.is_empty()).then(|| o.lang.clone()),
            (!o.name.is_empty()).then(|| o.name.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(":");
        let (user, name_tag) = {
            let meta = self.shared.meta.read();
            let user = if !o.nkey.is_empty() {
                format!("nkey:{}", o.nkey)
            } else if !o.user.is_empty() {
                format!("user:{}", o.user)
            } else if !o.jwt.is_empty() {
                format!("jwt:{}", meta.user)
            } else if !o.auth_token.is_empty() {
                "token".to_string()
            } else {
                String::new()
            };
            (user, meta.name_tag.clone())
        };
        let account = if name_tag.is_empty() {
            self.account.name.clone()
        } else {
            format!("{}/{name_tag}", self.account.name)
        };
        let auth = if user.is_empty() {
            String::new()
        } else {
            format!("{account}/{user}")
        };
        let quote = crate::config::gofmt::quote;
        let tag = match (client.is_empty(), auth.is_empty()) {
            (false, false) => format!("{} - {}", quote(&client), quote(&auth)),
            (false, true) => quote(&client),
            (true, false) => quote(&auth),
            (true, true) => return,
        };
        self.shared.set_log_tag(tag);
    }

    #[cold]
    pub(super) fn trace_op(&self, op: &ClientOp) {
        trace::client_op(&self.shared.label(), op);
    }

    /// Traces a PUB of the fast path (out of line: tracing is rare).
    #[cold]
    pub(super) fn trace_frame(&self, buf: &BytesMut, frame: &PubFrame) {
        trace::fast_pub(
            &self.shared.label(),
            PubFrame::get(buf, frame.subject),
            frame.reply.map(|r| PubFrame::get(buf, r)),
            PubFrame::get(buf, frame.payload),
        );
    }
}
