//! Authentication of a CONNECT against the configured token, user/password, users list, nkey
//! users and (with `verify_and_map`) the client certificate, in nats-server's order
//! (`processClientOrLeafAuthentication`): nkeys, then users (by certificate or by name), then
//! the single token or user.

pub(crate) mod certmap;
pub mod conn_type;
mod dn;
pub mod jwt;
pub(crate) mod nkey;
pub mod state;

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::client::connect::ConnectOptions;
use crate::options::User;
use crate::permissions::Permissions;

pub use nkey::new_nonce;
pub use state::AuthState;

/// Who a connection authenticated as.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub user: String,
    /// None = allow all.
    pub permissions: Option<Arc<Permissions>>,
    /// The account the user is bound to; `None` is the global account (`$G`).
    pub account: Option<String>,
}

/// What the connection itself proved before CONNECT: the nonce sent in INFO (to be signed by
/// nkey users) and the certificate a TLS client presented (for `verify_and_map`). Kept for the
/// life of the connection so a reload can re-check the credentials.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// The INFO nonce; empty when none was sent.
    pub nonce: String,
    /// The client's leaf certificate, when it sent one.
    pub peer_cert: Option<CertificateDer<'static>>,
    /// The TLS session's parameters, for `/connz`; `None` on a plaintext connection.
    pub tls: Option<crate::tls::TlsSession>,
}

/// Checks the CONNECT credentials. `None` means `Authorization Violation`.
pub fn authenticate(opts: &AuthState, c: &ConnectOptions, t: &Transport) -> Option<Identity> {
    if !opts.auth_required() {
        return Some(Identity::default());
    }
    let no_creds = c.user.is_empty() && c.pass.is_empty() && c.auth_token.is_empty();
    if !opts.nkeys.is_empty() {
        let mut wanted = c.nkey.as_str();
        if let Some(no_auth) = &opts.no_auth_user
            && no_creds
            && wanted.is_empty()
            && opts.nkeys.iter().any(|n| &n.nkey == no_auth)
        {
            wanted = no_auth;
        }
        if !wanted.is_empty() {
            let user = opts.nkeys.iter().find(|n| n.nkey == wanted)?;
            if !conn_type::client_allowed(&user.connection_types) {
                return None;
            }
            let is_no_auth = opts.no_auth_user.as_deref() == Some(wanted);
            if !is_no_auth && !nkey::signature_ok(wanted, t.nonce.as_bytes(), &c.sig) {
                return None;
            }
            return Some(Identity {
                user: user.nkey.clone(),
                permissions: user.permissions.clone(),
                account: user.account.clone(),
            });
        }
    }
    if !opts.users.is_empty() {
        if opts.verify_and_map {
            // Users whose connection types exclude this listener's are not candidates.
            let candidates: Vec<User> = opts
                .users
                .iter()
                .filter(|u| conn_type::client_allowed(&u.connection_types))
                .cloned()
                .collect();
            let user = certmap::map_user(t.peer_cert.as_ref()?, &candidates)?;
            if !c.user.is_empty() {
                tracing::warn!(
                    "User {:?} found in connect proto, but user required from cert",
                    c.user
                );
            }
            return password_matches(&user.password, &c.pass).then(|| Identity {
                user: user.username.clone(),
                permissions: user.permissions.clone(),
                account: user.account.clone(),
            });
        }
        let wanted = if no_creds {
            opts.no_auth_user.as_deref()
        } else {
            Some(c.user.as_str()).filter(|u| !u.is_empty())
        };
        if let Some(wanted) = wanted {
            let user = opts.users.iter().find(|u| u.username == wanted)?;
            if !conn_type::client_allowed(&user.connection_types) {
                return None;
            }
            let ok = wanted != c.user.as_str() || password_matches(&user.password, &c.pass);
            return ok.then(|| Identity {
                user: user.username.clone(),
                permissions: user.permissions.clone(),
                account: user.account.clone(),
            });
        }
    }
    if let Some(token) = &opts.token {
        return password_matches(token, &c.auth_token).then(Identity::default);
    }
    if let (Some(user), Some(pass)) = (&opts.username, &opts.password) {
        if no_creds && let Some(no_auth) = &opts.no_auth_user {
            return (no_auth == user).then(|| Identity {
                user: user.clone(),
                ..Default::default()
            });
        }
        return (c.user == *user && password_matches(pass, &c.pass)).then(|| Identity {
            user: user.clone(),
            ..Default::default()
        });
    }
    None
}

/// What nats-server appends to `authentication error` (`getAuthUser`): ` - Nkey "U..."`,
/// ` - User "name"`, ` - Token "[REDACTED]"`, or nothing without credentials.
pub fn log_suffix(c: &ConnectOptions) -> String {
    if !c.nkey.is_empty() {
        format!(" - Nkey {:?}", c.nkey)
    } else if !c.user.is_empty() {
        format!(" - User {:?}", c.user)
    } else if !c.auth_token.is_empty() {
        " - Token \"[REDACTED]\"".to_string()
    } else {
        String::new()
    }
}

/// Compares a configured secret (plain text or a bcrypt hash) with what the client sent.
pub fn password_matches(configured: &str, given: &str) -> bool {
    if is_bcrypt(configured) {
        return bcrypt::verify(given, configured).unwrap_or(false);
    }
    constant_time_eq(configured.as_bytes(), given.as_bytes())
}

/// nats-server treats `$2a$`, `$2b$`, `$2x$`, `$2y$` followed by a cost as bcrypt.
fn is_bcrypt(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 7
        && b.starts_with(b"$2")
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use crate::options::User;

    fn auth(o: &Options, c: &ConnectOptions) -> Option<Identity> {
        authenticate(&AuthState::from_options(o), c, &Transport::default())
    }

    fn connect(user: &str, pass: &str, token: &str) -> ConnectOptions {
        ConnectOptions {
            user: user.into(),
            pass: pass.into(),
            auth_token: token.into(),
            ..Default::default()
        }
    }

    #[test]
    fn no_auth_configured_allows_everyone() {
        assert!(auth(&Options::default(), &connect("", "", "")).is_some());
    }

    #[test]
    fn token_plain_and_bcrypt() {
        let mut o = Options {
            authorization: Some("s3cr3t".into()),
            ..Default::default()
        };
        assert!(auth(&o, &connect("", "", "s3cr3t")).is_some());
        assert!(auth(&o, &connect("", "", "nope")).is_none());
        let hash = bcrypt::hash("s3cr3t", 4).expect("hash");
        o.authorization = Some(hash);
        assert!(auth(&o, &connect("", "", "s3cr3t")).is_some());
        assert!(auth(&o, &connect("", "", "s3cr3")).is_none());
    }

    #[test]
    fn single_user_and_users_list() {
        let o = Options {
            username: Some("a".into()),
            password: Some("b".into()),
            ..Default::default()
        };
        assert!(auth(&o, &connect("a", "b", "")).is_some());
        assert!(auth(&o, &connect("a", "c", "")).is_none());
        let o = Options {
            users: vec![
                User {
                    username: "x".into(),
                    password: "1".into(),
                    permissions: None,
                    account: None,
                    connection_types: Vec::new(),
                },
                User {
                    username: "y".into(),
                    password: bcrypt::hash("2", 4).expect("hash"),
                    permissions: None,
                    account: None,
                    connection_types: Vec::new(),
                },
            ],
            ..Default::default()
        };
        assert!(auth(&o, &connect("x", "1", "")).is_some());
        assert!(auth(&o, &connect("y", "2", "")).is_some());
        assert!(auth(&o, &connect("y", "1", "")).is_none());
        assert!(auth(&o, &connect("z", "1", "")).is_none());
        assert!(auth(&o, &connect("", "", "")).is_none());
    }

    #[test]
    fn no_auth_user_binds_anonymous_clients() {
        let o = Options {
            users: vec![User {
                username: "x".into(),
                password: "1".into(),
                permissions: None,
                account: None,
                connection_types: Vec::new(),
            }],
            no_auth_user: Some("x".into()),
            ..Default::default()
        };
        let id = auth(&o, &connect("", "", "")).expect("bound to x");
        assert_eq!(id.user, "x");
        assert!(auth(&o, &connect("x", "2", "")).is_none());
    }

    #[test]
    fn nkey_users_sign_the_nonce() {
        let kp = nkeys::KeyPair::new_user();
        let o = Options {
            nkeys: vec![crate::options::NkeyUser {
                nkey: kp.public_key(),
                permissions: None,
                account: None,
                connection_types: Vec::new(),
            }],
            ..Default::default()
        };
        assert!(AuthState::from_options(&o).nonce_required());
        let t = Transport {
            nonce: new_nonce(),
            ..Default::default()
        };
        let sig = kp.sign(t.nonce.as_bytes()).expect("sign");
        let mut c = ConnectOptions {
            nkey: kp.public_key(),
            sig: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &sig),
            ..Default::default()
        };
        let id = authenticate(&AuthState::from_options(&o), &c, &t).expect("signed nonce");
        assert_eq!(id.user, kp.public_key());
        let other = Transport {
            nonce: new_nonce(),
            ..Default::default()
        };
        assert!(authenticate(&AuthState::from_options(&o), &c, &other).is_none());
        c.nkey = nkeys::KeyPair::new_user().public_key();
        assert!(authenticate(&AuthState::from_options(&o), &c, &t).is_none());
        assert!(auth(&o, &connect("", "", "")).is_none());
        assert!(auth(&o, &connect("a", "b", "")).is_none());
    }

    #[test]
    fn nkey_no_auth_user_needs_no_signature() {
        let kp = nkeys::KeyPair::new_user();
        let o = Options {
            nkeys: vec![crate::options::NkeyUser {
                nkey: kp.public_key(),
                permissions: None,
                account: None,
                connection_types: Vec::new(),
            }],
            no_auth_user: Some(kp.public_key()),
            ..Default::default()
        };
        assert_eq!(
            auth(&o, &connect("", "", "")).map(|i| i.user),
            Some(kp.public_key())
        );
    }
}
