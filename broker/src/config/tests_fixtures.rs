//! Real-world configs under `testdata/`: what the official nats Helm chart renders for a
//! 3-node cluster, and examples from the NATS documentation. Each also loads in
//! `nats-server -t -c` 2.15.1 with the same environment (see the report of the change).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, WarningKind, check_with_env, load_with_env};
use crate::options::{Options, User};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/config/testdata")
        .join(rel)
}

/// The environment the fixtures expect (the chart's pod env, the docs' exported variables).
fn env(k: &str) -> Option<String> {
    let v = match k {
        "POD_NAME" | "SERVER_NAME" => "nats-1",
        "APP_PASSWORD" => "app-secret",
        "TOKEN" => "hello",
        "ADMIN_PASS" => "admin-pw",
        "CLIENT_PASS" => "client-pw",
        "SERVICE_PASS" => "service-pw",
        "OTHER_PASS" => "other-pw",
        _ => return None,
    };
    Some(v.to_string())
}

fn load(rel: &str) -> (Options, Vec<(WarningKind, String)>) {
    let mut opts = Options::default();
    match load_with_env(&fixture(rel), &mut opts, &env) {
        Ok(w) => (opts, w.into_iter().map(|w| (w.kind, w.message)).collect()),
        Err(e) => panic!("{rel}: {e}"),
    }
}

fn unsupported(field: &str) -> (WarningKind, String) {
    (
        WarningKind::Unsupported,
        format!("field \"{field}\" is not supported yet, ignoring it"),
    )
}

#[test]
fn helm_chart_three_node_cluster() {
    // `helm template nats nats/nats --set config.cluster.enabled=true
    //  --set config.cluster.replicas=3` (chart 2.14.2): pretty JSON, `$SERVER_NAME` unquoted.
    let (o, w) = load("helm-cluster/nats.conf");
    assert_eq!(o.server_name.as_deref(), Some("nats-1"));
    assert_eq!(o.port, Some(4222));
    assert_eq!(o.http_port, Some(Some(8222)));
    assert_eq!(o.lame_duck_duration, Duration::from_secs(30));
    assert_eq!(o.lame_duck_grace_period, Duration::from_secs(10));
    assert_eq!(
        o.pid_file.as_deref(),
        Some(Path::new("/var/run/nats/nats.pid"))
    );
    assert!(w.is_empty(), "{w:?}");
    let c = &o.cluster;
    assert!(c.enabled());
    assert_eq!(
        (c.name.as_deref(), c.port, c.no_advertise),
        (Some("nats"), Some(6222), true)
    );
    let routes: Vec<String> = c.routes.iter().map(|r| r.addr()).collect();
    assert_eq!(
        routes,
        [
            "nats-0.nats-headless:6222",
            "nats-1.nats-headless:6222",
            "nats-2.nats-headless:6222"
        ]
    );
    assert!(check_with_env(&fixture("helm-cluster/nats.conf"), &env).is_ok());
}

#[test]
fn helm_chart_cluster_with_jetstream_auth_and_include() {
    // Same chart with JetStream, route credentials, `config.merge.$include: auth.conf` and
    // `max_payload: << 8MB >>`.
    let (o, w) = load("helm-cluster-js/nats.conf");
    assert_eq!(o.max_payload, 8 << 20);
    assert_eq!(
        o.users,
        [
            User {
                username: "app".into(),
                password: "app-secret".into(),
                permissions: None,
                account: None,
                connection_types: Vec::new(),
            },
            User {
                username: "admin".into(),
                password: "$2a$11$V1qrpBt8/SLfEBr4NJq4T.2mg8chx8.MTblUiTBOLV3MKDeAy.f7u".into(),
                permissions: None,
                account: None,
                connection_types: Vec::new(),
            },
        ]
    );
    assert_eq!(w, [unsupported("jetstream")]);
    assert!(o.cluster.enabled());
}

#[test]
fn helm_chart_without_its_environment_fails_as_nats_server() {
    let mut opts = Options::default();
    let e = load_with_env(&fixture("helm-cluster/nats.conf"), &mut opts, &|_| None)
        .expect_err("SERVER_NAME unset");
    assert_eq!(
        e.to_string(),
        "variable reference for 'SERVER_NAME' on line 17 can not be found"
    );
}

#[test]
fn docs_include_directive() {
    // running-a-nats-service/configuration/README.md, "Include Directive".
    let (o, w) = load("docs/server.conf");
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", Some(4222)));
    assert_eq!(o.authorization.as_deref(), Some("f0oBar"));
    assert!(w.is_empty());
}

#[test]
fn docs_variables() {
    let (o, _) = load("docs/variables.conf");
    assert_eq!(o.authorization.as_deref(), Some("secret"));
    let (o, _) = load("docs/env-token.conf");
    assert_eq!(o.authorization.as_deref(), Some("hello"));
    // The documented failure: a variable that is never used is an unknown field.
    let mut opts = Options::default();
    let e = load_with_env(&fixture("docs/unused-variable.conf"), &mut opts, &env)
        .expect_err("unused variable");
    assert!(matches!(e, ConfigError::Invalid { .. }));
    assert!(
        e.to_string()
            .ends_with("unused-variable.conf:3:1: unknown field \"TOKEN\""),
        "{e}"
    );
}

#[test]
fn docs_authorization_examples() {
    // securing_nats/authorization.md: permissions through variables, default permissions.
    let (o, w) = load("docs/authorization-variables.conf");
    let names: Vec<(&str, &str)> = o
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.password.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("admin", "admin-pw"),
            ("client", "client-pw"),
            ("service", "service-pw"),
            ("other", "other-pw")
        ]
    );
    assert!(
        w.is_empty(),
        "permissions are applied, not warned about: {w:?}"
    );
    let perms = |i: usize| o.users[i].permissions.clone().expect("permissions");
    assert!(perms(0).can_publish(b"anything") && perms(0).can_subscribe(b"x.y", None));
    assert!(perms(1).can_publish(b"req.a") && !perms(1).can_publish(b"req.c"));
    assert!(perms(2).can_subscribe(b"req.b", None) && !perms(2).can_subscribe(b"x", None));
    // `other` has no permissions of its own: it gets default_permissions.
    assert!(perms(3).can_publish(b"SANDBOX.x") && !perms(3).can_publish(b"req.a"));
    assert!(perms(3).can_subscribe(b"PUBLIC.a.b", None) && !perms(3).can_subscribe(b"req.a", None));
    let (o, _) = load("docs/authorization-allow-deny.conf");
    assert_eq!(o.users.len(), 2);
    let (o, _) = load("docs/allow-responses.conf");
    assert_eq!(o.users.len(), 4);
    let (o, w) = load("docs/users-bcrypt.conf");
    assert_eq!(
        o.users[0].password,
        "$2a$11$V1qrpBt8/SLfEBr4NJq4T.2mg8chx8.MTblUiTBOLV3MKDeAy.f7u"
    );
    assert!(w.is_empty());
}

#[test]
fn docs_mappings_in_the_global_account_and_an_account() {
    let (o, w) = load("docs/mappings-accounts.conf");
    assert_eq!((o.host.as_str(), o.port), ("0.0.0.0", Some(4222)));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(o.accounts.len(), 1);
    assert_eq!(o.users.len(), 2);
    assert_eq!(o.users[0].account.as_deref(), Some("accountA"));
    let global = o.mappings.select(b"foo", String::new).expect("foo mapped");
    assert_eq!(global, b"bar".to_vec());
    let acc = &o.accounts[0].mappings;
    let mapped = acc.select(b"orders.acme.x", String::new).expect("mapped");
    assert_eq!(mapped, b"orders.x".to_vec());
    assert_eq!(acc.select(b"foo", String::new), None);
}

#[test]
fn docs_blocks_rnats_does_not_run_yet() {
    let (_, w) = load("docs/jetstream.conf");
    assert_eq!(w, [unsupported("jetstream")]);
    let (o, w) = load("docs/cluster.conf");
    assert!(w.is_empty(), "{w:?}");
    let c = &o.cluster;
    assert_eq!(
        (c.name.as_deref(), c.host.as_str(), c.port),
        (Some("example"), "localhost", Some(4244))
    );
    assert_eq!(
        (c.username.as_deref(), c.password.as_deref()),
        (Some("route_user"), Some("pwd"))
    );
    assert_eq!(c.auth_timeout, Duration::from_millis(500));
    assert_eq!(c.routes.len(), 2);
    assert_eq!(c.routes[1].addr(), "127.0.0.1:4246");
    assert_eq!(c.routes[1].user.as_deref(), Some("route_user"));
}
