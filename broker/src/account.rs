//! Accounts: each one is its own subject space (a sublist). `$G` always exists; configured
//! accounts (`accounts {}`) and runtime ones ([`crate::server::Server::register_account`])
//! live in the server's registry. Exports and imports are declared here as config values.

use std::sync::Arc;

use crate::sublist::Sublist;
use crate::subscription::Subscription;

/// Name of the account clients join when no account is configured (`DEFAULT_GLOBAL_ACCOUNT`).
pub const GLOBAL_ACCOUNT: &str = "$G";

/// How a service export answers (`response_type`), nats-server's `ServiceRespType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// One response per request (the default).
    #[default]
    Singleton,
    /// Any number of responses until the requestor goes away.
    Stream,
    /// A response in several messages.
    Chunked,
}

impl ResponseType {
    /// The name nats-server shows (`Singleton`, `Streamed`, `Chunked`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Singleton => "Singleton",
            ResponseType::Stream => "Streamed",
            ResponseType::Chunked => "Chunked",
        }
    }
}

/// One export: a stream (messages flow to importers) or a service (requests flow in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub subject: String,
    /// `Some` for a service export, with its response type.
    pub service: Option<ResponseType>,
    /// The accounts allowed to import; empty means public.
    pub accounts: Vec<String>,
    /// `account_token_position`: the subject token that must equal the importer's name.
    pub token_position: u32,
}

/// One import: a stream or a service of another account, mapped into this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The exporting account.
    pub account: String,
    /// The subject in the exporter's space.
    pub subject: String,
    /// Service import: the local subject requests are published on (default: `subject`).
    /// Stream import: the local subject messages appear on (`to`), if any.
    pub to: Option<String>,
    /// Stream import: a prefix put in front of the exporter's subject.
    pub prefix: Option<String>,
    /// True for a service import.
    pub service: bool,
    /// Service import `share`: pass the requestor's latency data (accepted, not used).
    pub share: bool,
}

/// One account: a name and the subscriptions of its connections.
pub struct Account {
    pub name: String,
    pub sublist: Sublist<Subscription>,
}

impl Account {
    pub fn new(name: &str, sublist_cache: bool) -> Arc<Self> {
        Arc::new(Account {
            name: name.to_string(),
            sublist: Sublist::new(sublist_cache),
        })
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("name", &self.name).finish()
    }
}
