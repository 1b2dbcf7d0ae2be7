//! Authentication of a CONNECT against the configured token, user/password or users list.

use std::sync::Arc;

use crate::client::connect::ConnectOptions;
use crate::options::Options;
use crate::permissions::Permissions;

/// Who a connection authenticated as.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub user: String,
    /// None = allow all.
    pub permissions: Option<Arc<Permissions>>,
}

/// Checks the CONNECT credentials. `None` means `Authorization Violation`.
pub fn authenticate(opts: &Options, c: &ConnectOptions) -> Option<Identity> {
    if !opts.auth_required() {
        return Some(Identity::default());
    }
    if let Some(token) = &opts.authorization {
        return password_matches(token, &c.auth_token).then(Identity::default);
    }
    if let (Some(user), Some(pass)) = (&opts.username, &opts.password) {
        if c.user.is_empty()
            && c.pass.is_empty()
            && let Some(no_auth) = &opts.no_auth_user
        {
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
    let wanted = if c.user.is_empty() && c.pass.is_empty() && c.auth_token.is_empty() {
        opts.no_auth_user.as_deref()?
    } else {
        c.user.as_str()
    };
    let user = opts.users.iter().find(|u| u.username == wanted)?;
    let ok = wanted != c.user.as_str() || password_matches(&user.password, &c.pass);
    ok.then(|| Identity {
        user: user.username.clone(),
        permissions: user.permissions.clone(),
    })
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
    use crate::options::User;

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
        assert!(authenticate(&Options::default(), &connect("", "", "")).is_some());
    }

    #[test]
    fn token_plain_and_bcrypt() {
        let mut o = Options {
            authorization: Some("s3cr3t".into()),
            ..Default::default()
        };
        assert!(authenticate(&o, &connect("", "", "s3cr3t")).is_some());
        assert!(authenticate(&o, &connect("", "", "nope")).is_none());
        let hash = bcrypt::hash("s3cr3t", 4).expect("hash");
        o.authorization = Some(hash);
        assert!(authenticate(&o, &connect("", "", "s3cr3t")).is_some());
        assert!(authenticate(&o, &connect("", "", "s3cr3")).is_none());
    }

    #[test]
    fn single_user_and_users_list() {
        let o = Options {
            username: Some("a".into()),
            password: Some("b".into()),
            ..Default::default()
        };
        assert!(authenticate(&o, &connect("a", "b", "")).is_some());
        assert!(authenticate(&o, &connect("a", "c", "")).is_none());
        let o = Options {
            users: vec![
                User {
                    username: "x".into(),
                    password: "1".into(),
                    permissions: None,
                },
                User {
                    username: "y".into(),
                    password: bcrypt::hash("2", 4).expect("hash"),
                    permissions: None,
                },
            ],
            ..Default::default()
        };
        assert!(authenticate(&o, &connect("x", "1", "")).is_some());
        assert!(authenticate(&o, &connect("y", "2", "")).is_some());
        assert!(authenticate(&o, &connect("y", "1", "")).is_none());
        assert!(authenticate(&o, &connect("z", "1", "")).is_none());
        assert!(authenticate(&o, &connect("", "", "")).is_none());
    }

    #[test]
    fn no_auth_user_binds_anonymous_clients() {
        let o = Options {
            users: vec![User {
                username: "x".into(),
                password: "1".into(),
                permissions: None,
            }],
            no_auth_user: Some("x".into()),
            ..Default::default()
        };
        let id = authenticate(&o, &connect("", "", "")).expect("bound to x");
        assert_eq!(id.user, "x");
        assert!(authenticate(&o, &connect("x", "2", "")).is_none());
    }
}
