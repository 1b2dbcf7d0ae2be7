//! A reload in operator mode against the reference nats-server: both servers run the config
//! `nsc generate config --mem-resolver` writes, clients of every kind connect, then the
//! account JWTs change (a user revoked, bearer tokens disallowed, a connection and a payload
//! limit lowered, an account removed from the preloads) and both servers get SIGHUP. Each
//! client must be cut with the same bytes and the same `/connz` reason, or stay and keep
//! receiving messages.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::jwt_client::{Sig, http_json, raw_connect, read_some};
use common::nsc::{Nsc, read_creds};
use common::process::{ServerProcess, reference_bin, rnats_bin, spawn};

const OP: &str = "OP";

/// The clients of the scenario: name, account, user, how it signs.
const CLIENTS: [(&str, &str, &str, Sig); 6] = [
    ("keep", "A", "keep", Sig::Good),
    ("revoked", "A", "rev", Sig::Good),
    ("bearer", "A", "bearer", Sig::Missing),
    ("removed account", "B", "b1", Sig::Good),
    ("older of two", "L", "l1", Sig::Good),
    ("newer of two", "L", "l2", Sig::Good),
];

/// The store: account A (a bearer user, bearer tokens allowed for now), B (to be removed),
/// L (no connection limit for now); the config, and B's public key.
fn world() -> (Nsc, PathBuf, String) {
    let nsc = Nsc::new("opreload");
    nsc.run(&["add", "operator", "--sys", "--name", OP]);
    nsc.run(&["add", "account", "A"]);
    for u in ["keep", "rev", "sender"] {
        nsc.run(&["add", "user", "-a", "A", u]);
    }
    nsc.run(&["add", "user", "-a", "A", "bearer", "--bearer"]);
    let b = Nsc::key_after(
        &nsc.run(&["add", "account", "B"]),
        "generated and stored account key",
        'A',
    );
    nsc.run(&["add", "user", "-a", "B", "b1"]);
    nsc.run(&["add", "account", "L"]);
    for u in ["l1", "l2"] {
        nsc.run(&["add", "user", "-a", "L", u]);
    }
    let conf = nsc.server_config();
    // nsc rewrites a user's creds when it edits the user: the clients use these copies.
    for (_, account, user, _) in CLIENTS {
        std::fs::copy(nsc.creds(OP, account, user), creds(&nsc, user)).expect("copy creds");
    }
    (nsc, conf, b)
}

/// The copy of `user`'s creds made before the accounts change.
fn creds(nsc: &Nsc, user: &str) -> PathBuf {
    nsc.path().join(format!("{user}.creds"))
}

/// The new account JWTs, written into the config without account B.
fn change_accounts(nsc: &Nsc, b: &str) {
    nsc.run(&["revocations", "add-user", "-a", "A", "-n", "rev"]);
    // nsc refuses to disallow bearer tokens while a user is one; the connected client keeps
    // its bearer JWT.
    nsc.run(&["edit", "user", "-a", "A", "-n", "bearer", "--bearer=false"]);
    nsc.run(&["edit", "account", "A", "--disallow-bearer"]);
    nsc.run(&["edit", "account", "L", "--conns", "1", "--payload", "4"]);
    let conf = nsc.server_config();
    let text = std::fs::read_to_string(&conf).expect("config");
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains(b)).collect();
    std::fs::write(&conf, kept.join("\n")).expect("write config");
}

/// Reads until `done` holds for what arrived or the connection closes (5 s at most);
/// whether it closed.
fn read_until(s: &mut TcpStream, buf: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !done(buf) {
        if read_some(s, buf) {
            return true;
        }
    }
    false
}

fn has(buf: &[u8], needle: &[u8]) -> bool {
    buf.windows(needle.len()).any(|w| w == needle)
}

/// A client's protocol lines (INFO left out) and whether it was closed.
type Seen = (Vec<String>, bool);

fn lines(buf: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(buf)
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with("INFO "))
        .map(str::to_string)
        .collect()
}

/// The scenario on one server: what each client saw after the reload, and the `/connz`
/// reasons of the closed ones by client name.
fn scenario(
    p: &ServerProcess,
    nsc: &Nsc,
    reload: &dyn Fn(),
) -> (BTreeMap<&'static str, Seen>, BTreeMap<String, String>) {
    let mut open = Vec::new();
    for (name, _, user, sig) in CLIENTS {
        let ops: &[u8] = if name == "keep" {
            b"SUB news 1\r\nPING\r\n"
        } else {
            b"PING\r\n"
        };
        let (mut s, mut buf) = raw_connect(p.client_port, Some(&creds(nsc, user)), sig, ops);
        let closed = read_until(&mut s, &mut buf, |b| has(b, b"PONG\r\n"));
        assert!(
            !closed && has(&buf, b"PONG\r\n"),
            "{name} before the reload: {:?}",
            lines(&buf)
        );
        open.push((name, s));
    }
    reload();
    let mut seen = BTreeMap::new();
    for (name, s) in &mut open {
        let name = *name;
        let mut buf = Vec::new();
        let cut = !matches!(name, "keep" | "older of two");
        let closed = if cut {
            read_until(s, &mut buf, |_| false)
        } else {
            s.write_all(b"PING\r\n").expect("ping");
            read_until(s, &mut buf, |b| has(b, b"PONG\r\n"))
        };
        seen.insert(name, (lines(&buf), closed));
    }
    // The untouched user still gets what another user of its account publishes.
    let (mut sender, mut buf) = raw_connect(
        p.client_port,
        Some(&nsc.creds(OP, "A", "sender")),
        Sig::Good,
        b"PUB news 5\r\nhello\r\nPING\r\n",
    );
    let closed = read_until(&mut sender, &mut buf, |b| has(b, b"PONG\r\n"));
    seen.insert("sender", (lines(&buf), closed));
    let s = &mut open[0].1; // "keep", first of CLIENTS
    let mut buf = Vec::new();
    let closed = read_until(s, &mut buf, |b| has(b, b"hello\r\n"));
    seen.insert("keep after publish", (lines(&buf), closed));
    // The client that stayed in L has its account's new payload limit.
    let s = &mut open[4].1; // "older of two"
    s.write_all(b"PUB x 5\r\nhello\r\n").expect("pub");
    let mut buf = Vec::new();
    let closed = read_until(s, &mut buf, |_| false);
    seen.insert("older of two publishes 5 bytes", (lines(&buf), closed));
    // Every client is still open here: only the cut ones are in the closed list.
    let reasons = closed_reasons(p, nsc);
    drop(open);
    (seen, reasons)
}

/// `/connz?state=closed&auth=1`: the close reason of each scenario client, by name.
fn closed_reasons(p: &ServerProcess, nsc: &Nsc) -> BTreeMap<String, String> {
    let names: BTreeMap<String, &str> = CLIENTS
        .iter()
        .map(|(name, _, user, _)| {
            let (_, seed) = read_creds(&creds(nsc, user));
            let key = nkeys::KeyPair::from_seed(&seed).expect("seed").public_key();
            (key, *name)
        })
        .collect();
    let port = p.http_port.expect("monitoring port");
    let connz = http_json(port, "/connz?state=closed&auth=1");
    connz["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            let name = names.get(c["authorized_user"].as_str()?)?;
            Some((name.to_string(), c["reason"].as_str()?.to_string()))
        })
        .collect()
}

#[test]
fn a_reload_rechecks_jwt_clients_as_the_reference_does() {
    let (nsc, conf, b) = world();
    let path = conf.display().to_string();
    let servers: Vec<(&str, ServerProcess)> = vec![
        ("rnats", spawn(&rnats_bin(), &["-c", &path])),
        ("nats-server", spawn(&reference_bin(), &["-c", &path])),
    ];
    // Both servers read the same config: it is changed once, before the first reload.
    let results: Vec<_> = {
        let mut out = Vec::new();
        let changed = std::cell::Cell::new(false);
        for (server, p) in &servers {
            let reload = || {
                if !changed.get() {
                    change_accounts(&nsc, &b);
                    changed.set(true);
                }
                p.signal("HUP");
                assert!(
                    p.wait_log("Reloaded server configuration", Duration::from_secs(10)),
                    "{server} did not reload:\n{}",
                    p.log()
                );
            };
            out.push((*server, scenario(p, &nsc, &reload)));
        }
        out
    };
    // Name, a line it must see, whether it is closed then, its `/connz` close reason.
    let expected: [(&str, &str, bool, Option<&str>); 9] = [
        ("keep", "PONG", false, None),
        (
            "revoked",
            "-ERR 'User Authentication Revoked'",
            true,
            Some("Credentials Revoked"),
        ),
        (
            "bearer",
            "-ERR 'Authorization Violation'",
            true,
            Some("Authentication Failure"),
        ),
        (
            "removed account",
            "-ERR 'Authorization Violation'",
            true,
            Some("Authentication Failure"),
        ),
        (
            "older of two",
            "PONG",
            false,
            Some("Maximum Message Payload Exceeded"),
        ),
        (
            "newer of two",
            "-ERR 'maximum account active connections exceeded'",
            true,
            Some("Maximum Account Connections Exceeded"),
        ),
        ("sender", "PONG", false, None),
        ("keep after publish", "hello", false, None),
        (
            "older of two publishes 5 bytes",
            "-ERR 'Maximum Payload Violation'",
            true,
            None,
        ),
    ];
    for (server, (seen, reasons)) in &results {
        for (name, line, cut, reason) in expected {
            let (got, closed) = &seen[name];
            assert!(
                got.iter().any(|l| l == line),
                "{server} {name}: expected {line:?} in {got:?}"
            );
            assert_eq!(*closed, cut, "{server} {name}: {got:?}");
            assert_eq!(
                reasons.get(name).map(String::as_str),
                reason,
                "{server} {name}: /connz reasons {reasons:?}"
            );
        }
    }
    assert_eq!(
        results[0].1, results[1].1,
        "rnats vs nats-server (what each client saw, /connz reasons)"
    );
}
