//! `rnats-server -t -c FILE` and flag errors compared with nats-server 2.15: same stderr text,
//! same config digest, same exit code, on real-world and broken configs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::{TempDir, reference_bin, rnats_bin};

/// The environment the fixtures expect (the Helm chart's pod env, the docs' variables).
const ENV: &[(&str, &str)] = &[
    ("POD_NAME", "nats-1"),
    ("SERVER_NAME", "nats-1"),
    ("APP_PASSWORD", "app-secret"),
    ("TOKEN", "s3cr3t"),
    ("ADMIN_PASS", "admin-pw"),
    ("CLIENT_PASS", "client-pw"),
    ("SERVICE_PASS", "service-pw"),
    ("OTHER_PASS", "other-pw"),
];

/// Broken or unusual configs: each must get the reference's exact verdict.
const INLINE: &[(&str, &str)] = &[
    (
        "valid-basic",
        "port: 4333\nmax_payload: 512KB\nping_interval: \"30s\"\n",
    ),
    ("unknown-field", "port: 4222\nnot_a_field: true\n"),
    ("bad-syntax", "port: [1,\n"),
    ("wrong-type", "port: \"abc\"\n"),
    ("undefined-var", "port: $NOPE\n"),
    ("missing-include", "include ./nope.conf\n"),
    (
        "user-and-token",
        "authorization { user: a, password: b, token: t }\n",
    ),
    (
        "duplicate-user",
        "authorization { users: [ {user: a, password: b}, {user: a, password: c} ] }\n",
    ),
    (
        "bad-permission",
        "authorization { users: [ {user: a, password: b, permissions: { publish: \"a b\" } } ] }\n",
    ),
    (
        "unknown-in-auth",
        "authorization { user: a, password: b, foo: 1 }\n",
    ),
    ("short-lame-duck", "lame_duck_duration: \"3s\"\n"),
    (
        "high-auth-timeout",
        "authorization { user: a, password: b, timeout: 120 }\n",
    ),
    (
        "cluster-block",
        "cluster { name: c1, listen: 127.0.0.1:6222, routes: [nats://127.0.0.1:6223] }\n",
    ),
    (
        "jetstream-block",
        "jetstream { store_dir: /tmp/js, max_mem: 1G }\n",
    ),
    (
        "sizes",
        "max_pending: 10MB\nmax_payload: 1MB\nmax_control_line: 2KB\n",
    ),
    (
        "variables",
        "PORT = 4555\nport: $PORT\nserver_name: \"srv-$PORT\"\n",
    ),
    (
        "accounts-exports-imports",
        "accounts {\n  A: { users: [{user: a, password: a}], exports: [{stream: \"x.>\"}, {service: \"svc.*\", accounts: [B], response_type: stream}] }\n  B: { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: \"x.>\"}, prefix: p}, {service: {account: A, subject: \"svc.a\"}, to: \"local.a\"}] }\n}\n",
    ),
    ("accounts-list", "accounts: [A, B, A]\n"),
    ("accounts-reserved", "accounts { \"$G\": {} }\n"),
    ("accounts-not-map", "accounts { A: 1 }\n"),
    // Within one account: across accounts nats-server walks them in Go map order and
    // reports either account's line from run to run.
    (
        "accounts-duplicate-user",
        "accounts {\n  A: { users: [{user: u, password: a}, {user: u, password: b}] }\n}\n",
    ),
    // Not compared: `authorization { user }` with account users. nats-server walks the top
    // level in Go map order, so it reports either "... and accounts" or "... and a users
    // array" from run to run.
    (
        "accounts-unknown-field",
        "accounts { A: { users: [], colour: blue } }\n",
    ),
    ("accounts-bad-nkey", "accounts { A: { nkey: \"Anope\" } }\n"),
    (
        "import-not-authorized",
        "accounts {\n  A: { exports: [{service: \"svc\", accounts: [C]}] }\n  B: { imports: [{service: {account: A, subject: \"svc\"}}] }\n  C: {}\n}\n",
    ),
    (
        "import-not-exported",
        "accounts {\n  A: {}\n  B: { imports: [{stream: {account: A, subject: \"x\"}}] }\n}\n",
    ),
    (
        "import-unknown-account",
        "accounts {\n  B: { imports: [{service: {account: Z, subject: \"svc\"}}] }\n}\n",
    ),
    (
        "export-unknown-account",
        "accounts {\n  A: { exports: [{stream: \"x\", accounts: [Z]}] }\n}\n",
    ),
    (
        "import-wildcard-prefix",
        "accounts {\n  A: { exports: [{stream: \"x.>\"}] }\n  B: { imports: [{stream: {account: A, subject: \"x.>\"}, prefix: \"p.*\"}] }\n}\n",
    ),
    (
        "import-duplicate-stream",
        "accounts {\n  A: { exports: [{stream: \"x.>\"}] }\n  B: { imports: [{stream: {account: A, subject: \"x.>\"}}, {stream: {account: A, subject: \"x.>\"}, prefix: q}] }\n}\n",
    ),
    (
        "import-duplicate-service",
        "accounts {\n  A: { exports: [{service: \"s.>\"}] }\n  B: { imports: [{service: {account: A, subject: \"s.1\"}, to: l}, {service: {account: A, subject: \"s.2\"}, to: l}] }\n}\n",
    ),
    (
        "export-bad-response-type",
        "accounts { A: { exports: [{service: \"s\", response_type: sometimes}] } }\n",
    ),
    ("export-not-map", "accounts { A: { exports: [\"s\"] } }\n"),
    (
        "exports-not-array",
        "accounts { A: { exports: {service: s} } }\n",
    ),
    (
        "import-missing-subject",
        "accounts { A: {}, B: { imports: [{service: {account: A}}] } }\n",
    ),
    (
        "export-response-on-stream",
        "accounts { A: { exports: [{stream: \"s\", response_type: chunked}] } }\n",
    ),
    (
        "export-token-position",
        "accounts {\n  A: { exports: [{stream: \"a.*.x\", account_token_position: 2}, {stream: \"b.x\", account_token_position: 2}] }\n}\n",
    ),
    (
        "allow-responses-errors",
        "authorization { users: [ {user: a, password: a, permissions: { allow_responses: 5 }}, {user: b, password: b, permissions: { allow_responses: { expires: 5 } }}, {user: c, password: c, permissions: { allow_responses: { expires: \"soon\" } }}, {user: d, password: d, permissions: { allow_responses: { colour: 1 } }} ] }\n",
    ),
    (
        "allow-responses-valid",
        "authorization { users: [ {user: a, password: a, permissions: { allow_responses: { max: -1, expires: \"-1s\" } }}, {user: b, password: b, permissions: { allow_responses: false }} ] }\n",
    ),
    (
        "import-stream-cycle",
        "accounts {\n  A: { exports: [{stream: \"x.>\"}], imports: [{stream: {account: B, subject: \"x.>\"}}] }\n  B: { exports: [{stream: \"x.>\"}], imports: [{stream: {account: A, subject: \"x.>\"}}] }\n}\n",
    ),
    (
        "import-service-cycle",
        "accounts {\n  A: { exports: [{service: \"s\"}], imports: [{service: {account: B, subject: \"s\"}}] }\n  B: { exports: [{service: \"s\"}], imports: [{service: {account: A, subject: \"s\"}}] }\n}\n",
    ),
    (
        "import-no-cycle-prefixed",
        "accounts {\n  A: { exports: [{stream: \"x.>\"}], imports: [{stream: {account: B, subject: \"y.>\"}, prefix: b}] }\n  B: { exports: [{stream: \"y.>\"}], imports: [{stream: {account: A, subject: \"x.>\"}, prefix: a}] }\n}\n",
    ),
    (
        "cluster-permissions-valid",
        "cluster { name: c1, listen: 127.0.0.1:6222, permissions: { import: { allow: [\"a.>\"], deny: \"a.b\" }, export: [\"e.>\"] } }\n",
    ),
    (
        "cluster-permissions-responses",
        "cluster { name: c1, listen: 127.0.0.1:6222, permissions: { import: \"a\", allow_responses: true } }\n",
    ),
    (
        "cluster-permissions-queue",
        "cluster { name: c1, listen: 127.0.0.1:6222, permissions: { export: { deny: \"e.x q\" } } }\n",
    ),
    (
        "cluster-authorization-permissions",
        "cluster { name: c1, listen: 127.0.0.1:6222, authorization: { user: r, password: p, permissions: { import: \"a\" } } }\n",
    ),
    (
        "authorization-permissions-default",
        "authorization { permissions: { publish: \"x\" }, users: [ {user: a, password: b} ] }\n",
    ),
    (
        "connection-types-invalid",
        "authorization { users: [ {user: a, password: b, allowed_connection_types: [\"STANDARD\", \"carrier\", \"X\"]} ] }\n",
    ),
    (
        "connection-types-valid",
        "authorization { users: [ {user: a, password: b, allowed_connection_types: \"standard\"}, {user: c, password: d, clients: [\"WEBSOCKET\", \"MQTT\"]} ] }\n",
    ),
    (
        "connection-types-wrong-type",
        "authorization { users: [ {user: a, password: b, connection_types: 5} ] }\n",
    ),
    (
        "mappings-valid",
        "mappings { \"foo\": \"bar\", \"l.*\": \"l.{{left(1,1)}}.{{right(1,1)}}\", \"a.*.>\": \"b.{{wildcard(1)}}.>\", \"w\": [ {destination: \"w1\", weight: 40%}, {destination: \"w2\", weight: \"60%\", cluster: \"c1\"} ] }\n",
    ),
    ("mappings-bad-source", "mappings { \"foo..bar\": \"x\" }\n"),
    (
        "mappings-index-out-of-range",
        "mappings { \"foo.*\": \"bar.$2\" }\n",
    ),
    (
        "mappings-unknown-function",
        "mappings { \"foo.*\": \"bar.{{lefty(1,1)}}\" }\n",
    ),
    (
        "mappings-bad-weight",
        "mappings { \"foo\": [ {destination: \"a\", weight: \"x%\"} ] }\n",
    ),
    (
        "mappings-weight-too-big",
        "mappings { \"foo\": [ {destination: \"a\", weight: 150} ] }\n",
    ),
    (
        "mappings-total-weight",
        "mappings { \"foo\": [ {destination: \"a\", weight: 60}, {destination: \"b\", weight: 60} ] }\n",
    ),
    (
        "mappings-missing-weight",
        "mappings { \"foo\": [ {destination: \"a\"} ] }\n",
    ),
    (
        "mappings-unknown-field",
        "mappings { \"foo\": [ {destination: \"a\", weight: 10, colour: red} ] }\n",
    ),
    ("mappings-not-an-entry", "mappings { \"foo\": [ \"a\" ] }\n"),
    (
        "mappings-wildcard-dest",
        "mappings { \"foo.*\": \"bar.*\" }\n",
    ),
    (
        "mappings-in-account",
        "accounts { A: { mappings: { \"x.*\": \"y.{{partition(2,3)}}\" } } }\n",
    ),
    (
        "server-tags-valid",
        "server_tags: \"one\"\nserver_metadata: { a: \"b\" }\n",
    ),
    ("server-tags-bad-element", "server_tags: [\"a\", 1]\n"),
    ("server-tags-bad-type", "server_tags: 5\n"),
    ("server-metadata-bad-type", "server_metadata: [1]\n"),
    ("empty", ""),
];

fn run(bin: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin)
        .args(args)
        .envs(ENV.iter().copied())
        .output()
        .expect("binary runs");
    let code = out.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d)
            .expect("testdata")
            .filter_map(|e| e.ok())
        {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "conf") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn check_config_matches_reference() {
    let dir = TempDir::new("check");
    let mut files = fixtures();
    for (name, text) in INLINE {
        let p = dir.path().join(format!("{name}.conf"));
        std::fs::write(&p, text).expect("write config");
        files.push(p);
    }
    let (ours, theirs) = (rnats_bin(), reference_bin());
    let mut mismatches = Vec::new();
    for f in &files {
        let path = f.display().to_string();
        let a = run(&ours, &["-t", "-c", &path]);
        let b = run(&theirs, &["-t", "-c", &path]);
        if a != b {
            mismatches.push(format!("{path}:\n  rnats:     {a:?}\n  reference: {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(files.len() >= 30, "a real set of configs ({})", files.len());
}

#[test]
fn flag_errors_match_reference() {
    let cases: &[&[&str]] = &[
        &["-x"],
        &["-p", "abc"],
        &["--port=abc"],
        &["-p"],
        &["stray"],
        &["-t"],
        &["-t", "-c", "/nonexistent/rnats.conf"],
        &["-c", "/nonexistent/rnats.conf"],
    ];
    let (ours, theirs) = (rnats_bin(), reference_bin());
    for args in cases {
        let (ca, ea) = run(&ours, args);
        let (cb, eb) = run(&theirs, args);
        let first = |s: &str| s.lines().next().unwrap_or_default().to_string();
        assert_eq!((ca, first(&ea)), (cb, first(&eb)), "args {args:?}");
    }
}
