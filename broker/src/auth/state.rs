//! The authorization state in force as one value: who may connect (token, single user, users,
//! nkey users, `no_auth_user`, certificate mapping), with which permissions, into which
//! accounts, and the accounts' exports and imports. The server holds it as an `Arc` and
//! replaces it whole ([`crate::server::Server::set_auth`]): on SIGHUP today, from the
//! cluster's replicated log later.

use crate::options::{AccountConfig, NkeyUser, Options, User};

/// Everything that decides who may connect, as what, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthState {
    /// Single user (`authorization { user, password }`).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Token (`authorization { token }`).
    pub token: Option<String>,
    /// Users with passwords, each bound to an account (`None`: `$G`).
    pub users: Vec<User>,
    /// Nkey users.
    pub nkeys: Vec<NkeyUser>,
    pub no_auth_user: Option<String>,
    /// TLS `verify_and_map`: users are found by their client certificate.
    pub verify_and_map: bool,
    /// Configured accounts with their exports and imports.
    pub accounts: Vec<AccountConfig>,
    /// Trusted operators are configured: clients authenticate with user JWTs.
    pub operator_mode: bool,
    /// The global account's subject mappings (top-level `mappings {}`).
    pub global_mappings: crate::mapping::Mappings,
}

impl AuthState {
    /// The state a configuration describes.
    pub fn from_options(o: &Options) -> AuthState {
        AuthState {
            username: o.username.clone(),
            password: o.password.clone(),
            token: o.authorization.clone(),
            users: o.users.clone(),
            nkeys: o.nkeys.clone(),
            no_auth_user: o.no_auth_user.clone(),
            verify_and_map: o.tls.as_ref().is_some_and(|t| t.settings.map),
            accounts: o.accounts.clone(),
            operator_mode: o.operator_mode(),
            global_mappings: o.mappings.clone(),
        }
    }

    /// True when clients must authenticate (INFO's `auth_required`).
    pub fn auth_required(&self) -> bool {
        self.operator_mode
            || self.username.is_some()
            || self.token.is_some()
            || !self.users.is_empty()
            || !self.nkeys.is_empty()
    }

    /// Whether INFO must carry a nonce (nats-server's `nonceRequired`: nkey users or trusted
    /// operators).
    pub fn nonce_required(&self) -> bool {
        !self.nkeys.is_empty() || self.operator_mode
    }

    /// The account a named user or nkey is bound to now: `Some(None)` for `$G`, `None` when
    /// no such user exists (nats-server's `clientHasMovedToDifferentAccount` lookup).
    pub fn bound_account(&self, nkey: &str, user: &str) -> Option<Option<&str>> {
        if !nkey.is_empty() {
            return self
                .nkeys
                .iter()
                .find(|n| n.nkey == nkey)
                .map(|n| n.account.as_deref());
        }
        self.users
            .iter()
            .find(|u| u.username == user)
            .map(|u| u.account.as_deref())
            .or_else(|| (self.username.as_deref() == Some(user)).then_some(None))
    }
}
