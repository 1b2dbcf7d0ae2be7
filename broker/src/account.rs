//! Accounts: each one is its own subject space (a sublist); only `$G` exists until the security issue.

use std::sync::Arc;

use crate::sublist::Sublist;
use crate::subscription::Subscription;

/// Name of the account clients join when no account is configured (`DEFAULT_GLOBAL_ACCOUNT`).
pub const GLOBAL_ACCOUNT: &str = "$G";

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
